// Package testpeer is a WebRTC test client and the test tooling around it;
// it is used by tests and load scripts, never by the server.
//
// A Peer is a real pion PeerConnection over loopback. It makes the offer
// and takes the answer, which the caller carries over whatever signalling
// it tests (the room API in room tests, the Janus API in signalling
// tests). It sends a synthetic Opus tone (optionally with RFC 6464 levels,
// packet loss or garbage) and a synthetic VP8 or H.264 picture (flat
// colours, noise, a frame counter, a lip-sync flash and beep), and it
// decodes and records what it receives, so that a test can check who hears
// whom, what the composite shows and how late. Alongside it:
//
//   - Relay, a userspace UDP relay that impairs the link between one peer
//     and the server (loss, delay, jitter, outages), in place of netem;
//   - DrawCounter and ReadCounter, a frame number drawn as a pixel pattern
//     that survives scaling and lossy encodes, for latency measurements;
//   - StallProbe, which tells the machine's own stalls (steal time on a
//     shared host) from the server's, for tests that time it.
package testpeer
