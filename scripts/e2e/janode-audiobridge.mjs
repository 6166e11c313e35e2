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
import { readFileSync, writeFileSync } from 'node:fs';
import Janode from 'janode';
import AudioBridgePlugin from 'janode/plugins/audiobridge';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader } from 'werift';

const [url, roomArg, inPath, outPath, secondsArg] = process.argv.slice(2);
const room = Number(roomArg);
const seconds = Number(secondsArg || 4);
const log = (...a) => process.stderr.write(a.join(' ') + '\n');

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

const timeout = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), ms));

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
  step('configured');
  await pc.setRemoteDescription(jsep);
  await Promise.race([connected, timeout(10000, 'ICE/DTLS')]);
  step('ice-dtls-up');

  // Send the packets in real time.
  const ssrc = 0x1234abcd;
  let seq = 1000, ts = 48000;
  const start = Date.now();
  for (let i = 0; Date.now() - start < seconds * 1000; i++) {
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc, marker: i === 0 });
    track.writeRtp(new RtpPacket(header, Buffer.from(packets[i % packets.length])));
    summary.sent++;
    seq++; ts += 960;
    const next = start + (i + 1) * 20;
    await new Promise(r => setTimeout(r, Math.max(0, next - Date.now())));
  }
  summary.received = received.length;
  summary.webrtcup = webrtcup;
  const parts = [];
  for (const p of received) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(p.length);
    parts.push(len, p);
  }
  writeFileSync(outPath, Buffer.concat(parts));

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
