// Plays an HLS stream in headless Chromium with hls.js (scripts/e2e/hls.html)
// and prints one JSON report of what the player did. It does not judge:
// the Go test (stream/hls/players_test.go) does.
//
//   node hls-play.mjs PAGE_URL SECONDS
//
// PAGE_URL is hls.html?src=PLAYLIST, served by the test. After the video
// starts playing the script watches it for SECONDS.
import { chromium } from 'playwright-core';

const [pageURL, seconds = '10'] = process.argv.slice(2);
if (!pageURL) {
  console.error('usage: node hls-play.mjs PAGE_URL SECONDS');
  process.exit(2);
}
const sleep = ms => new Promise(r => setTimeout(r, ms));
const out = { pageErrors: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', e => out.pageErrors.push(e.message));
  page.on('console', m => { if (m.type() === 'error') process.stderr.write(`console: ${m.text()}\n`); });
  await page.goto(pageURL);
  const state = () => page.evaluate(() => {
    const v = document.getElementById('video');
    const q = v.getVideoPlaybackQuality();
    return {
      ...window.report, currentTime: v.currentTime, width: v.videoWidth, height: v.videoHeight,
      framesDecoded: q.totalVideoFrames, framesDropped: q.droppedVideoFrames,
      audioBytes: v.webkitAudioDecodedByteCount, latency: window.hls.latency, lowLatency: window.hls.lowLatencyMode,
    };
  });
  const until = Date.now() + 20000;
  let s = await state();
  while (!s.playing && s.fatal.length === 0 && Date.now() < until) {
    await sleep(200);
    s = await state();
  }
  out.atStart = s;
  if (s.playing) {
    await sleep(Number(seconds) * 1000);
    out.atEnd = await state();
  }
} catch (e) {
  out.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
