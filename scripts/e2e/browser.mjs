// Drives Tessera's own page (web/static) in headless Chromium with fake
// cameras and microphones, next to the unmodified janus.js, and prints one
// JSON report of what it observed. It does not judge: the Go test
// (cmd/tessera/browser_e2e_test.go) does.
//
//   node browser.mjs BASE_URL AUX_URL ARTIFACTS_DIR
//
// BASE_URL is the Tessera server. AUX_URL is the test's helper server: it
// serves janusjs.html with janus.js and adapter.js under /e2e/ (Tessera does
// not serve npm files), proxies everything else to Tessera, and cuts its
// proxied WebSockets on GET /test/cut-websockets. Screenshots go to
// ARTIFACTS_DIR.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [base, aux, artifacts] = process.argv.slice(2);
if (!base || !aux || !artifacts) {
  console.error('usage: node browser.mjs BASE_URL AUX_URL ARTIFACTS_DIR');
  process.exit(2);
}
const wsURL = base.replace(/^http/, 'ws') + '/janus';
const httpURL = base + '/janus';
const started = Date.now();
const report = { timings: {}, pageErrors: [] };
const sleep = ms => new Promise(r => setTimeout(r, ms));
const log = msg => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const mark = name => { report.timings[name] = Date.now() - started; log(name); };

// A Janus request over HTTP from node, for room set-up and final checks.
async function janus(body, path = '') {
  const res = await fetch(`${httpURL}${path}`, {
    method: 'POST',
    body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }),
  });
  return res.json();
}

async function withPluginHandle(fn) {
  const sid = (await janus({ janus: 'create' })).data.id;
  const hid = (await janus({ janus: 'attach', plugin: 'janus.plugin.mcu' }, `/${sid}`)).data.id;
  try {
    return await fn(body => janus({ janus: 'message', body }, `/${sid}/${hid}`).then(r => r.plugindata?.data));
  } finally {
    await janus({ janus: 'destroy' }, `/${sid}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--no-sandbox', '--disable-gpu',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});

async function open(name, url, viewport = { width: 1280, height: 800 }, prepare = null) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  if (prepare) await prepare(page);
  page.on('pageerror', e => report.pageErrors.push(`${name}: ${e.message}`));
  page.on('console', m => { if (m.type() === 'error') log(`${name} console: ${m.text()}`); });
  await page.goto(url);
  page.label = name;
  return page;
}

const MODE_LABEL = { camera: 'Camera and microphone', audio: 'Microphone only', viewer: 'Watch only' };

// Fills the form as a person would and presses Join; resolves when the page
// is in the room or has shown an error.
async function join(page, { name, room = 1234, pin = '', mode = 'camera' }) {
  const errorsBefore = await page.evaluate(() => window.tessera.errors.length);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Room number').fill(String(room));
  await page.getByLabel('PIN').fill(pin);
  await page.getByLabel(MODE_LABEL[mode]).check();
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.waitForFunction(
    n => window.tessera.state === 'joined' || window.tessera.errors.length > n,
    errorsBefore, { timeout: 20000 },
  );
  return page.evaluate(() => window.tessera.state);
}

// until waits for fn(arg) to hold in the page; false on timeout.
async function until(page, fn, arg, timeout = 10000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
    return true;
  } catch {
    return false;
  }
}

const state = page => page.evaluate(() => ({
  state: window.tessera.state,
  id: window.tessera.id,
  transport: window.tessera.transport,
  layout: window.tessera.layout,
  pinned: window.tessera.pinned,
  participants: window.tessera.participants,
  errors: window.tessera.errors,
  stats: window.tessera.stats,
  alert: document.getElementById('alert').hidden ? '' : document.getElementById('alert-text').textContent,
  formVisible: !document.getElementById('join-view').hidden,
}));

const counters = page => page.evaluate(() => {
  const s = window.tessera.stats || {};
  return {
    frames: s.framesDecoded ?? 0, width: s.frameWidth ?? 0, height: s.frameHeight ?? 0,
    audio: s.audioPacketsReceived ?? 0, sent: s.packetsSent ?? 0, tier: window.tessera.tier,
  };
});

// flow samples counters twice, ms apart, once frames are arriving; then
// the decoded size against the tier the server says it sends (a tier move
// takes a keyframe and a stats sample to show, so it waits for them).
async function flow(page, ms = 3000) {
  await until(page, () => (window.tessera.stats?.framesDecoded ?? 0) > 0, null, 15000);
  const a = await counters(page);
  await sleep(ms);
  const b = await counters(page);
  await until(page, () => {
    const s = window.tessera.stats, t = window.tessera.tier;
    return t && s && s.frameWidth === t.width && s.frameHeight === t.height;
  }, null, 10000);
  const c = await counters(page);
  return { name: page.label, frames: [a.frames, b.frames], audio: [a.audio, b.audio], width: c.width, height: c.height, sent: b.sent, tier: c.tier };
}

const tileCount = page => page.evaluate(async () => (await window.tessera.tiles()).tiles.length);
const names = list => list.map(p => p.display).sort();

let failed = null;
const pages = {};
try {
  // Errors first, each explained on the page: a room that does not exist,
  // a wrong PIN, a refused camera, no server.
  await withPluginHandle(send => send({ request: 'create', room: 4321, pin: '2468', description: 'PIN room' }));
  const alice = pages.alice = await open('alice', base + '/');
  await join(alice, { name: 'Alice', room: 9999 });
  report.roomNotFound = await state(alice);
  await join(alice, { name: 'Alice', room: 4321, pin: '1111' });
  report.wrongPin = await state(alice);
  // Camera and microphone refused by the user.
  await alice.evaluate(() => {
    const md = navigator.mediaDevices;
    window.realGetUserMedia = md.getUserMedia;
    md.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await join(alice, { name: 'Alice' });
  report.permissionDenied = await state(alice);
  await alice.evaluate(() => { navigator.mediaDevices.getUserMedia = window.realGetUserMedia; });
  // No server: the WebSocket is dropped and HTTP refused.
  const erin = await open('erin', base + '/', undefined, async page => {
    await page.routeWebSocket(/\/janus$/, ws => ws.close());
    await page.route(/\/janus(\/|\?|$)/, route => route.abort('connectionrefused'));
  });
  await join(erin, { name: 'Erin' });
  report.unreachable = await state(erin);
  await erin.context().close();
  mark('errors shown');

  // 1. Three cameras in room 1234.
  // Bob's page comes through the helper's proxy, so the test can cut his
  // WebSocket.
  const [bob, carol] = await Promise.all([open('bob', aux + '/'), open('carol', base + '/')]);
  Object.assign(pages, { bob, carol });
  await Promise.all([
    join(alice, { name: 'Alice' }), join(bob, { name: 'Bob' }), join(carol, { name: 'Carol' }),
  ]);
  const three = [alice, bob, carol];
  await Promise.all(three.map(p => until(p, () => window.tessera.participants.length === 3)));
  report.three = await Promise.all(three.map(async p => ({ ...(await flow(p)), ...(await state(p)) })));
  report.tilesThree = await tileCount(alice);
  // Voice activity from the fake microphones' beeps shows in the list.
  report.talkingSeen = await until(alice, () => window.tessera.participants.some(p => !p.self && p.talking), null, 6000);
  mark('three joined');

  // 6. The page as people see it.
  await until(alice, () => document.getElementById('composite').readyState >= 2, null, 5000);
  await sleep(500);
  report.screenshot = path.join(artifacts, 'browser-composite.png');
  await alice.screenshot({ path: report.screenshot });

  // Recording needs the room's secret: the page asks for it, a wrong one
  // is refused, the right one starts it; REC for everyone, then stopped.
  await alice.getByRole('button', { name: 'Start recording' }).click();
  report.recordingAsked = await until(alice, () => !document.getElementById('record-form').hidden, null, 5000);
  await alice.getByLabel('Room secret').fill('not-it');
  await alice.getByRole('button', { name: 'Go' }).click();
  await until(alice, () => window.tessera.errors.some(e => /Wrong room secret/.test(e.message)), null, 5000);
  report.recordingWrongSecret = (await state(alice)).alert;
  await alice.getByLabel('Room secret').fill('adminpwd');
  await alice.getByRole('button', { name: 'Go' }).click();
  await until(alice, () => window.tessera.recording, null, 5000);
  report.recording = {
    recording: await alice.evaluate(() => window.tessera.recording),
    otherSeesRec: await until(bob, () => window.tessera.recording && !document.getElementById('rec').hidden, null, 3000),
    recIndicator: await alice.locator('#rec').isVisible(),
    alert: (await state(alice)).alert,
    buttonEnabled: await alice.locator('#record').isEnabled(),
  };
  if (report.recording.recording) {
    await alice.getByRole('button', { name: 'Stop recording' }).click();
    report.recording.stopped = await until(bob, () => !window.tessera.recording, null, 5000);
  }
  if (await alice.locator('#alert').isVisible()) await alice.getByRole('button', { name: 'Dismiss message' }).click();
  mark('recording');

  // 3. Bob mutes; everyone sees it.
  const bobId = await bob.evaluate(() => window.tessera.id);
  await bob.getByRole('button', { name: 'Mute', exact: true }).click();
  const seesBobMuted = id => window.tessera.participants.some(p => p.id === id && p.muted);
  await Promise.all([alice, carol, bob].map(p => until(p, seesBobMuted, bobId, 5000)));
  report.mute = await Promise.all([alice, carol, bob].map(async p => ({
    name: p.label,
    bobMuted: (await state(p)).participants.find(x => x.id === bobId)?.muted ?? null,
    badgeVisible: await p.locator(`li[data-id="${bobId}"] .muted-badge`).isVisible(),
  })));
  report.muteButton = await bob.locator('#mic').textContent();
  mark('muted');

  // Bob's camera off stops his pictures; on again restarts them. (Packets
  // are reported too: Chrome may keep sending padding on a sender with
  // no track, to probe the bandwidth.)
  const videoSent = () => bob.evaluate(() => [window.tessera.stats?.videoFramesSent ?? 0, window.tessera.stats?.videoPacketsSent ?? 0]);
  await bob.getByRole('button', { name: 'Stop camera' }).click();
  await until(bob, () => !window.tessera.cameraOn, null, 5000);
  await sleep(1200); // one stats sample after the switch
  const off0 = await videoSent();
  await sleep(1500);
  const off1 = await videoSent();
  await bob.getByRole('button', { name: 'Start camera' }).click();
  const onAgain = await until(bob, n => window.tessera.cameraOn && (window.tessera.stats?.videoFramesSent ?? 0) > n + 10, off1[0], 6000);
  report.camera = { offFrames: off1[0] - off0[0], offPackets: off1[1] - off0[1], onAgain, button: await bob.locator('#cam').textContent() };
  mark('camera toggled');

  // Layout switcher: Alice picks "speaker"; Bob's page follows the event.
  await alice.getByLabel('Layout').selectOption('speaker');
  report.layoutSpeakerOnBob = await until(bob, () => window.tessera.layout === 'speaker', null, 5000);
  await alice.getByLabel('Layout').selectOption('grid');
  report.layoutGridOnBob = await until(bob, () => window.tessera.layout === 'grid', null, 5000);
  // Presentation from the participant list: Alice shows Bob large, then
  // presses the same toggle to go back to the grid.
  const pinnedOn = id => window.tessera.layout === 'presentation' && window.tessera.pinned === id;
  await alice.getByRole('button', { name: 'Show large: Bob' }).click();
  report.pinnedBobOnCarol = await until(carol, pinnedOn, bobId, 5000);
  await until(alice, pinnedOn, bobId, 5000);
  await alice.getByRole('button', { name: 'Show large: Bob' }).click();
  report.unpinnedOnCarol = await until(carol, () => window.tessera.layout === 'grid', null, 5000);

  // Screen sharing: Carol's screen replaces her camera and is pinned large.
  const carolId = await carol.evaluate(() => window.tessera.id);
  await carol.getByRole('button', { name: 'Share screen' }).click();
  report.share = { started: await until(alice, pinnedOn, carolId, 8000) };
  report.share.tiles = await alice.evaluate(async () => (await window.tessera.tiles()).tiles);
  report.share.carolId = carolId;
  await carol.getByRole('button', { name: 'Stop sharing' }).click();
  report.share.backToGrid = await until(alice, () => window.tessera.layout === 'grid', null, 5000);
  report.share.carolSharing = await carol.evaluate(() => window.tessera.sharing);
  mark('layout and share');

  // 2. Carol leaves: the others' lists and the composite drop to two.
  report.tilesBeforeLeave = await tileCount(alice);
  await carol.getByRole('button', { name: 'Leave' }).click();
  await until(carol, () => window.tessera.state === 'idle', null, 10000);
  await Promise.all([alice, bob].map(p => until(p, () => window.tessera.participants.length === 2)));
  let tiles = 0;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(200)) {
    if ((tiles = await tileCount(alice)) === 2) break;
  }
  report.leave = {
    carol: await state(carol),
    remaining: await Promise.all([alice, bob].map(async p => ({ name: p.label, participants: (await state(p)).participants }))),
    tilesAfter: tiles,
  };
  mark('carol left');

  // 4. A viewer on a phone-sized screen: it receives the composite and the
  // mix and sends nothing. Its WebSocket is dropped (as by a strict proxy),
  // so it falls back to HTTP long-poll.
  const dave = pages.dave = await open('dave', base + '/', { width: 390, height: 844 },
    page => page.routeWebSocket(/\/janus$/, ws => ws.close()));
  report.viewer = { joined: await join(dave, { name: 'Dave', mode: 'viewer' }) };
  Object.assign(report.viewer, await flow(dave), await state(dave));
  report.viewer.aliceSeesDave = await until(alice, () => window.tessera.participants.some(p => p.display === 'Dave'), null, 5000);
  report.viewer.overflowX = await dave.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  report.viewer.screenshot = path.join(artifacts, 'browser-phone.png');
  await dave.screenshot({ path: report.viewer.screenshot, fullPage: true });
  mark('viewer');

  // 5. Unmodified janus.js (AudioBridge, audio only) joins the same room
  // over WebSocket and over HTTP long-poll.
  const jj = await Promise.all([wsURL, httpURL].map(async (server, i) => {
    const p = await open(`janus.js ${i ? 'http' : 'ws'}`, `${aux}/e2e/janusjs.html?server=${encodeURIComponent(server)}&room=1234`);
    await until(p, () => window.result && (window.result.errors.length > 0 || window.result.steps.includes('webrtcup')), null, 20000);
    return p;
  }));
  const janusNames = ['janus.js websocket', 'janus.js http'];
  const seesBoth = want => want.every(n => window.tessera.participants.some(p => p.display === n));
  await until(alice, seesBoth, janusNames, 10000);
  report.janusjs = {
    clients: await Promise.all(jj.map(p => p.evaluate(() => ({
      transport: window.result.transport, steps: window.result.steps, errors: window.result.errors, id: window.result.id,
    })))),
    aliceSees: names((await state(alice)).participants),
    daveSees: names((await state(dave)).participants),
  };
  report.janusjs.left = await Promise.all(jj.map(p => p.evaluate(() => window.leave())));
  report.janusjs.goneOnAlice = await until(alice, want => !want.some(n => window.tessera.participants.some(p => p.display === n)), janusNames, 10000);
  mark('janus.js');

  // Bob loses his connection: his page says so, the others see him go.
  report.cut = await fetch(`${aux}/test/cut-websockets`).then(r => r.text()).then(Number);
  await until(bob, () => window.tessera.state === 'idle', null, 10000);
  report.connectionLost = await state(bob);
  report.connectionLost.goneOnAlice = await until(alice, () => !window.tessera.participants.some(p => p.display === 'Bob'), null, 10000);
  mark('connection lost');

  // The others leave; the room ends empty.
  for (const p of [alice, dave]) await p.getByRole('button', { name: 'Leave' }).click();
  await Promise.all([alice, dave].map(p => until(p, () => window.tessera.state === 'idle', null, 10000)));
  report.final = await Promise.all([alice, dave].map(async p => ({ name: p.label, ...(await state(p)) })));
  await sleep(300);
  report.serverParticipants = await withPluginHandle(send => send({ request: 'listparticipants', room: 1234 }))
    .then(d => d?.participants ?? null);
  mark('left');
} catch (err) {
  failed = err;
  report.failure = String(err.stack || err);
  // What each page looked like when it went wrong.
  report.atFailure = {};
  for (const [name, p] of Object.entries(pages)) report.atFailure[name] = await state(p).catch(e => String(e));
} finally {
  await browser.close();
}
report.seconds = (Date.now() - started) / 1000;
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(failed ? 1 : 0);
