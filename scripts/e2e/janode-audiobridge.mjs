// A full AudioBridge session driven by the unmodified janode client, with
// werift as the WebRTC peer: connect, create, attach, join, configure with
// an offer, ICE/DTLS up, send Opus packets and record what comes back,
// leave, detach, destroy.
//
//   node janode-audiobridge.mjs WS_URL ROOM PACKETS_IN PAYLOADS_OUT SECONDS
//
// PACKETS_IN and PAYLOADS_OUT hold Opus payloads, each prefixed by its
// length as a 16-bit big-endian number. The summary is one JSON line on
// stdout. JANUS_APISECRET and JANUS_TOKEN, when set, are given to janode
// as the connection's apisecret and token.
import Janode from 'janode';
import AudioBridgePlugin from 'janode/plugins/audiobridge';
import { log, readPackets, writePackets, connect, send } from './werift-audio.mjs';

const [url, roomArg, inPath, outPath, secondsArg] = process.argv.slice(2);
const room = Number(roomArg);
const seconds = Number(secondsArg || 4);

async function main() {
  const packets = readPackets(inPath);
  const summary = { steps: [], sent: 0, received: 0, events: [] };
  const step = s => { summary.steps.push(s); log('step:', s); };

  const address = { url };
  if (process.env.JANUS_APISECRET) address.apisecret = process.env.JANUS_APISECRET;
  if (process.env.JANUS_TOKEN) address.token = process.env.JANUS_TOKEN;
  const conn = await Janode.connect({ address, retry_time_secs: 1, max_retries: 1 });
  step('connected');
  const session = await conn.create();
  step('created');
  const handle = await session.attach(AudioBridgePlugin);
  step('attached');
  for (const ev of ['AUDIOBRIDGE_PEER_JOINED', 'AUDIOBRIDGE_PEER_LEAVING', 'AUDIOBRIDGE_PEER_CONFIGURED', 'AUDIOBRIDGE_TALKING']) {
    const name = AudioBridgePlugin.EVENT[ev];
    if (name) handle.on(name, () => summary.events.push(ev));
  }
  let webrtcup = false;
  handle.on(Janode.EVENT.HANDLE_WEBRTCUP, () => { webrtcup = true; summary.events.push('webrtcup'); });
  handle.on(Janode.EVENT.HANDLE_MEDIA, d => summary.events.push(`media:${d.type}:${d.receiving}`));

  const joined = await handle.join({ room, display: 'janode' });
  step('joined');
  summary.feed = joined.feed;
  summary.participants = (joined.participants || []).length;

  const { pc, track, received } = await connect(handle, () => step('configured'));
  step('ice-dtls-up');

  summary.sent = await send(track, packets, seconds, { ssrc: 0x1234abcd, seq: 1000, ts: 48000 });
  summary.received = received.length;
  summary.webrtcup = webrtcup;
  writePackets(outPath, received);

  await handle.leave();
  step('left');
  await handle.detach();
  step('detached');
  await session.destroy();
  step('destroyed');
  await pc.close();
  await conn.close();
  step('closed');
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().then(() => process.exit(0)).catch(err => {
  log('FAILED:', err && err.stack || err);
  process.exit(1);
});
