// Drives the unmodified janus.js in headless Chromium (fake camera and
// microphone) through an AudioBridge session, once over WebSocket and once
// over HTTP long-poll, and prints one JSON line per transport.
//
//   node janusjs-chromium.mjs PAGE_URL WS_URL HTTP_URL [SECONDS]
//
// JANUS_APISECRET and JANUS_TOKEN, when set, are given to janus.js (the
// apisecret and token options of new Janus).
import { chromium } from 'playwright-core';

const [pageURL, wsURL, httpURL, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 4);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--no-sandbox', '--disable-gpu',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
let failed = false;
try {
  for (const server of [wsURL, httpURL]) {
    const page = await browser.newPage();
    page.on('pageerror', e => process.stderr.write(`page error: ${e}\n`));
    const creds = ['apisecret', 'token']
      .filter(k => process.env[`JANUS_${k.toUpperCase()}`])
      .map(k => `&${k}=${encodeURIComponent(process.env[`JANUS_${k.toUpperCase()}`])}`).join('');
    await page.goto(`${pageURL}?server=${encodeURIComponent(server)}&room=1234${creds}`);
    await page.waitForFunction(() => window.result && (window.result.errors.length > 0 || window.result.steps.includes('webrtcup')), null, { timeout: 20000 });
    await page.waitForTimeout(seconds * 1000);
    const summary = await page.evaluate(async () => ({
      transport: window.result.transport,
      steps: window.result.steps,
      errors: window.result.errors,
      id: window.result.id,
      peak: window.result.peak || 0,
      stats: await window.rtpStats(),
    }));
    summary.left = await page.evaluate(() => window.leave());
    process.stdout.write(JSON.stringify(summary) + '\n');
    if (summary.errors.length) failed = true;
    await page.close();
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
