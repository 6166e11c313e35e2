// Plays a room through WHEP in headless Chromium with scripts/e2e/whep.html
// (fetch + RTCPeerConnection only) and reports what getStats shows, as
// JSON lines on stdout: {"event":"playing",...} once frames and audio
// arrive, then, after a line "stop" on stdin, {"event":"stopped",...}
// once the session is deleted.
//
//   node whep-chromium.mjs PAGE_URL WHEP_URL TOKEN
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const [pageURL, whepURL, token] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--allow-loopback-in-peer-connection', '--no-sandbox', '--disable-gpu',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
let code = 0;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${pageURL}?url=${encodeURIComponent(whepURL)}&token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => window.whep && window.whep.state !== 'starting', null, { timeout: 20000 });
  const whep = await page.evaluate(() => window.whep);
  if (whep.state !== 'playing') {
    say({ event: 'refused', whep, errors });
    code = 1;
  } else {
    // Frames decoding and audio arriving (polled from here: getStats is
    // asynchronous, and a predicate's promise is not a value to wait
    // for), then two seconds more.
    let first;
    for (const deadline = Date.now() + 20000; Date.now() < deadline;) {
      first = await page.evaluate(() => window.whepStats());
      if (first.framesDecoded > 5 && first.audioPackets > 10) break;
      await page.waitForTimeout(200);
    }
    await page.waitForTimeout(2000);
    const second = await page.evaluate(() => window.whepStats());
    say({ event: 'playing', whep, first, second, errors });
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) {
      if (line.trim() === 'stop') break;
    }
    const status = await page.evaluate(() => window.whepStop());
    say({ event: 'stopped', status, errors });
  }
} finally {
  await browser.close();
}
process.exit(code);
