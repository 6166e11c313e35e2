// Connection statistics from RTCPeerConnection.getStats(), sampled once a
// second. Rates are deltas between two samples; the raw counters are kept
// too, so callers (and tests) can tell whether media is flowing at all.

/** Reads one snapshot of the counters that matter to us. */
export async function readCounters(pc) {
  const report = await pc.getStats();
  const c = {
    at: performance.now(),
    bytesSent: 0,
    bytesReceived: 0,
    packetsSent: 0,
    packetsReceived: 0,
    packetsLost: 0,
    audioPacketsReceived: 0,
    audioPacketsSent: 0,
    videoPacketsSent: 0,
    videoFramesSent: 0,
    framesDecoded: 0,
    frameWidth: 0,
    frameHeight: 0,
    framesPerSecond: null,
    rtt: null,
  };
  let selectedPair = null;
  const pairs = [];
  let remoteRtt = null;
  report.forEach(s => {
    switch (s.type) {
      case 'outbound-rtp':
        c.bytesSent += s.bytesSent ?? 0;
        c.packetsSent += s.packetsSent ?? 0;
        if (s.kind === 'audio') c.audioPacketsSent += s.packetsSent ?? 0;
        if (s.kind === 'video') {
          c.videoPacketsSent += s.packetsSent ?? 0;
          c.videoFramesSent += s.framesSent ?? 0;
        }
        break;
      case 'inbound-rtp':
        c.bytesReceived += s.bytesReceived ?? 0;
        c.packetsReceived += s.packetsReceived ?? 0;
        c.packetsLost += Math.max(0, s.packetsLost ?? 0);
        if (s.kind === 'audio') c.audioPacketsReceived += s.packetsReceived ?? 0;
        if (s.kind === 'video') {
          c.framesDecoded += s.framesDecoded ?? 0;
          c.frameWidth = s.frameWidth ?? c.frameWidth;
          c.frameHeight = s.frameHeight ?? c.frameHeight;
          if (typeof s.framesPerSecond === 'number') c.framesPerSecond = s.framesPerSecond;
        }
        break;
      case 'transport':
        if (s.selectedCandidatePairId) selectedPair = report.get(s.selectedCandidatePairId);
        break;
      case 'candidate-pair':
        pairs.push(s);
        break;
      case 'remote-inbound-rtp':
        if (typeof s.roundTripTime === 'number') remoteRtt = s.roundTripTime;
        break;
    }
  });
  // Firefox and Safari do not name the selected pair on the transport;
  // the nominated, succeeded pair is the same thing.
  selectedPair ??= pairs.find(p => p.selected) ?? pairs.find(p => p.nominated && p.state === 'succeeded');
  const rtt = selectedPair?.currentRoundTripTime ?? remoteRtt;
  c.rtt = typeof rtt === 'number' ? rtt : null;
  return c;
}

/** The derived figures shown in the connection panel. */
export function derive(prev, cur) {
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (a, b) => (dt > 0 ? Math.max(0, ((b - a) * 8) / dt / 1000) : 0);
  const out = {
    sendKbps: prev ? Math.round(rate(prev.bytesSent, cur.bytesSent)) : 0,
    recvKbps: prev ? Math.round(rate(prev.bytesReceived, cur.bytesReceived)) : 0,
    lossPercent: 0,
    rttMs: cur.rtt === null ? null : Math.round(cur.rtt * 1000),
    frameWidth: cur.frameWidth,
    frameHeight: cur.frameHeight,
    fps: cur.framesPerSecond,
    // Raw counters, for anyone checking that media flows.
    framesDecoded: cur.framesDecoded,
    audioPacketsReceived: cur.audioPacketsReceived,
    packetsSent: cur.packetsSent,
    audioPacketsSent: cur.audioPacketsSent,
    videoPacketsSent: cur.videoPacketsSent,
    // Pictures, not packets: a browser may keep sending padding packets
    // (bandwidth probes) on a video sender that has no track.
    videoFramesSent: cur.videoFramesSent,
  };
  if (prev) {
    const received = cur.packetsReceived - prev.packetsReceived;
    const lost = cur.packetsLost - prev.packetsLost;
    if (received + lost > 0) out.lossPercent = Math.round((1000 * Math.max(0, lost)) / (received + lost)) / 10;
    if (out.fps === null && dt > 0) out.fps = Math.round((cur.framesDecoded - prev.framesDecoded) / dt);
  }
  if (out.fps !== null) out.fps = Math.round(out.fps);
  return out;
}

/** Samples pc every intervalMs and calls onSample(derived) until stopped. */
export function sampleStats(pc, onSample, intervalMs = 1000) {
  let prev = null;
  let stopped = false;
  let timer = 0;
  const tick = async () => {
    if (stopped) return;
    try {
      const cur = await readCounters(pc);
      if (stopped) return;
      onSample(derive(prev, cur));
      prev = cur;
    } catch (err) {
      // A closed connection throws; the caller stops us shortly after.
      console.debug('getStats failed', err);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
