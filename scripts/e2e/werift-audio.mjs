// The werift side of the janode scripts: files of Opus payloads, an
// audio-only peer negotiated through an AudioBridge handle, and a sender
// that plays payloads out in real time.
//
// A payload file holds Opus payloads, each prefixed by its length as a
// 16-bit big-endian number.
import { readFileSync, writeFileSync } from 'node:fs';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpPacket, RtpHeader } from 'werift';

export const log = (...a) => process.stderr.write(a.join(' ') + '\n');

export const timeout = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), ms));

export function readPackets(path) {
  const buf = readFileSync(path);
  const out = [];
  for (let i = 0; i + 2 <= buf.length;) {
    const n = buf.readUInt16BE(i);
    out.push(buf.subarray(i + 2, i + 2 + n));
    i += 2 + n;
  }
  return out;
}

export function writePackets(path, payloads) {
  const parts = [];
  for (const p of payloads) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(p.length);
    parts.push(len, p);
  }
  writeFileSync(path, Buffer.concat(parts));
}

// connect offers audio (Opus, sendrecv) to the AudioBridge handle with a
// configure request, applies its answer and waits for ICE and DTLS.
// onConfigured, when given, is called once the answer came. The result:
// the peer, its outgoing track, the payloads received (growing), and the
// remote end of the selected ICE pair ("IP:PORT", or "").
export async function connect(handle, onConfigured) {
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
  if (onConfigured) onConfigured();
  await pc.setRemoteDescription(jsep);
  await Promise.race([connected, timeout(10000, 'ICE/DTLS')]);
  const pair = pc.iceTransports[0] && pc.iceTransports[0].connection.nominated;
  const remote = pair ? `${pair.remoteCandidate.host}:${pair.remoteCandidate.port}` : '';
  return { pc, track, received, remote };
}

// send plays packets out on track, in a loop, one every 20 ms of real
// time, for seconds or until stopped() says so; it returns how many it
// sent. ssrc, seq and ts start the RTP stream.
export async function send(track, packets, seconds, { ssrc, seq, ts }, stopped = () => false) {
  let sent = 0;
  const start = Date.now();
  for (let i = 0; Date.now() - start < seconds * 1000 && !stopped(); i++) {
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc, marker: i === 0 });
    track.writeRtp(new RtpPacket(header, Buffer.from(packets[i % packets.length])));
    sent++; seq++; ts += 960;
    const next = start + (i + 1) * 20;
    await new Promise(r => setTimeout(r, Math.max(0, next - Date.now())));
  }
  return sent;
}
