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
import { readFileSync, writeFileSync } from 'node:fs';
import Janode from 'janode';
import AudioBridgePlugin from 'janode/plugins/audiobridge';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader } from 'werift';

const [url, roomArg, pin, inPath, outPath, secondsArg] = process.argv.slice(2);
const room = Number(roomArg);
const seconds = Number(secondsArg || 10);
const report = o => process.stdout.write(JSON.stringify(o) + '\n');
const log = (...a) => process.stderr.write(a.join(' ') + '\n');
const timeout = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), ms));

function readPackets(path) {
  const buf = readFileSync(path);
  const out = [];
  for (let i = 0; i + 2 <= buf.length;) {
    const n = buf.readUInt16BE(i);
    out.push(buf.subarray(i + 2, i + 2 + n));
    i += 2 + n;
  }
  return out;
}

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

  const pc = new RTCPeerConnection({
    codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 })] },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
  });
  const track = new MediaStreamTrack({ kind: 'audio' });
  pc.addTransceiver(track, { direction: 'sendrecv' });
  const received = [];
  pc.onTrack.subscribe(remote => {
    remote.onReceiveRtp.subscribe(rtp => { received.push(Buffer.from(rtp.payload)); });
  });
  const connected = new Promise(resolve => pc.connectionStateChange.subscribe(s => { if (s === 'connected') resolve(); }));
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await Promise.race([new Promise(r => pc.iceGatheringStateChange.subscribe(s => { if (s === 'complete') r(); })), timeout(5000, 'ICE gathering')]);
  }
  const { jsep } = await handle.configure({ muted: false, jsep: pc.localDescription });
  await pc.setRemoteDescription(jsep);
  await Promise.race([connected, timeout(10000, 'ICE/DTLS')]);
  const pair = pc.iceTransports[0] && pc.iceTransports[0].connection.nominated;
  const remote = pair ? `${pair.remoteCandidate.host}:${pair.remoteCandidate.port}` : '';
  report({ step: 'up', remote });

  const ssrc = 0x2345bcde;
  let seq = 1, ts = 0, sent = 0;
  const start = Date.now();
  for (let i = 0; Date.now() - start < seconds * 1000 && !hungUp; i++) {
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc, marker: i === 0 });
    track.writeRtp(new RtpPacket(header, Buffer.from(packets[i % packets.length])));
    sent++; seq++; ts += 960;
    const next = start + (i + 1) * 20;
    await new Promise(r => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const parts = [];
  for (const p of received) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(p.length);
    parts.push(len, p);
  }
  writeFileSync(outPath, Buffer.concat(parts));
  report({ step: 'done', sent, received: received.length });
  await pc.close();
  await conn.close().catch(() => {});
}

main().then(() => process.exit(0)).catch(err => {
  log('FAILED:', err && err.stack || err);
  process.exit(1);
});
