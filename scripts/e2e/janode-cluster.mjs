// An AudioBridge participant for the cluster tests, driven by the
// unmodified janode client with werift as the WebRTC peer: it joins ROOM
// (with PIN when not "-") through the node at WS_URL, sends the Opus
// packets of PACKETS_IN in a loop and records what it receives, until
// SECONDS have passed or its handle is hung up. It reports as it goes,
// one JSON object a line on stdout:
//
//   {"step": "joined", "feed": ID}
//   {"step": "up", "remote": "IP:PORT"}      the selected ICE pair's remote end
//   {"event": NAME, ...}                      hangup, leaving, destroyed, kicked
//   {"step": "done", "sent": N, "received": M}
//
// and writes the received payloads to PAYLOADS_OUT (each prefixed by its
// length as a 16-bit big-endian number).
//
//   node janode-cluster.mjs WS_URL ROOM PIN PACKETS_IN PAYLOADS_OUT SECONDS
import Janode from 'janode';
import AudioBridgePlugin from 'janode/plugins/audiobridge';
import { log, readPackets, writePackets, connect, send } from './werift-audio.mjs';

const [url, roomArg, pin, inPath, outPath, secondsArg] = process.argv.slice(2);
const room = Number(roomArg);
const seconds = Number(secondsArg || 10);
const report = o => process.stdout.write(JSON.stringify(o) + '\n');

async function main() {
  const packets = readPackets(inPath);
  const conn = await Janode.connect({ address: { url }, retry_time_secs: 1, max_retries: 1 });
  const session = await conn.create();
  const handle = await session.attach(AudioBridgePlugin);
  let hungUp = false;
  handle.on(Janode.EVENT.HANDLE_HANGUP, d => { hungUp = true; report({ event: 'hangup', reason: d && d.reason }); });
  const events = { AUDIOBRIDGE_PEER_LEAVING: 'leaving', AUDIOBRIDGE_DESTROYED: 'destroyed', AUDIOBRIDGE_KICKED: 'kicked' };
  for (const [ev, name] of Object.entries(events)) {
    const e = AudioBridgePlugin.EVENT[ev];
    if (e) handle.on(e, d => report({ event: name, feed: d && d.feed, room: d && d.room }));
  }

  const join = { room, display: 'janode' };
  if (pin !== '-') join.pin = pin;
  const joined = await handle.join(join);
  report({ step: 'joined', feed: joined.feed });

  const { pc, track, received, remote } = await connect(handle);
  report({ step: 'up', remote });

  const sent = await send(track, packets, seconds, { ssrc: 0x2345bcde, seq: 1, ts: 0 }, () => hungUp);
  writePackets(outPath, received);
  report({ step: 'done', sent, received: received.length });
  await pc.close();
  await conn.close().catch(() => {});
}

main().then(() => process.exit(0)).catch(err => {
  log('FAILED:', err && err.stack || err);
  process.exit(1);
});
