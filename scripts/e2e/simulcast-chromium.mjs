// Publishes headless Chromium's fake camera as three simulcast layers
// (rid q, h, f) to the video MCU with the unmodified janus.js, and stays
// in the room until its standard input closes.
//
//   node simulcast-chromium.mjs PAGE_URL WS_URL
//
// It prints one JSON line once the media is up ({"id", "offerSimulcast",
// "answerSimulcast"}), then one line a second with the layers the browser
// sends ({"layers"}), and a last one with {"done": true}.
import { chromium } from 'playwright-core';

const [pageURL, wsURL] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
let stdinClosed = false;
process.stdin.on('end', () => { stdinClosed = true; });
process.stdin.on('close', () => { stdinClosed = true; });
process.stdin.resume();
let code = 0;
try {
  const page = await browser.newPage();
  page.on('pageerror', e => process.stderr.write(`page error: ${e}\n`));
  await page.goto(`${pageURL}?server=${encodeURIComponent(wsURL)}&room=1234`);
  await page.waitForFunction(() => window.result && (window.result.errors.length > 0 || window.result.steps.includes('webrtcup')),
    null, { timeout: 30000 });
  const up = await page.evaluate(() => ({ id: window.result.id, steps: window.result.steps, errors: window.result.errors,
    offerSimulcast: window.result.offerSimulcast, answerSimulcast: window.result.answerSimulcast }));
  process.stdout.write(JSON.stringify(up) + '\n');
  if (up.errors.length) code = 1;
  for (let i = 0; i < 120 && !stdinClosed && code === 0; i++) {
    await page.waitForTimeout(1000);
    process.stdout.write(JSON.stringify({ layers: await page.evaluate(() => window.layers()) }) + '\n');
  }
  process.stdout.write(JSON.stringify({ done: true }) + '\n');
  await page.close();
} finally {
  await browser.close();
}
process.exit(code);
