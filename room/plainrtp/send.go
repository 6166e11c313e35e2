package plainrtp

import (
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// sender packetizes the participant's mix as RTP: its own SSRC, sequence
// and timestamp at the codec's clock. G.711 and G.722 frames are joined
// into packets of the negotiated ptime; Opus packets are sent one per
// frame.
type sender struct {
	s  *Session
	mu sync.Mutex
	// seq is the next packet's sequence number, ts the RTP time of the
	// next frame.
	seq uint16
	ts  uint32
	// pending holds the joined frames not sent yet, from pendingTS on.
	pending       []byte
	pendingFrames int
	pendingTS     uint32
	pendingPT     uint8
	buf           []byte
	sealed        []byte // SRTP output
	// For sender reports: the RTP time and wall clock of the last packet
	// sent, and what was sent.
	lastTS      uint32
	lastAt      time.Time
	sentPackets uint32
	sentOctets  uint32
	// nextEventTS is the earliest RTP time of the next telephone-event
	// Tessera sends (eventsSent: one was sent).
	nextEventTS uint32
	eventsSent  bool
}

func (w *sender) init(s *Session) {
	w.s = s
	w.seq = uint16(s.ssrc >> 7)
	w.ts = s.ssrc * 2654435761 // any start will do (RFC 3550 asks a random one)
	w.buf = make([]byte, 0, maxDatagram)
}

// WriteFrame sends one 20 ms frame of the participant's mix. Skipped
// frames advance the RTP time; while the call is on hold (the remote
// party sendonly or inactive) nothing is sent but the time runs on, and
// so it does for a frame in another codec than the session's (encoded
// before a new offer changed it).
func (s *Session) WriteFrame(f endpoint.Frame) error {
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	w := &s.send
	s.mu.Lock()
	r, to := s.r, s.sendTo
	s.mu.Unlock()
	ticks := r.codec.frameTicks()
	if f.Duration > 0 {
		ticks = uint32(f.Duration * time.Duration(r.codec.Clock) / time.Second)
	}
	framesPerPacket := 1
	if r.codec.Name != endpoint.CodecOpus {
		framesPerPacket = int(r.ptime / framePtime)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pendingFrames > 0 && w.pendingPT != r.codec.PT {
		w.flush(to) // joined in the codec the session just left
	}
	if f.Skipped > 0 {
		w.flush(to)
		w.ts += uint32(f.Skipped) * ticks
	}
	if !r.dir.receives() || !to.IsValid() || (f.Codec != "" && f.Codec != r.codec.Name) {
		w.pending, w.pendingFrames = w.pending[:0], 0
		w.ts += ticks
		s.stats.held.Add(1)
		return nil
	}
	if w.pendingFrames == 0 {
		w.pendingTS, w.pendingPT = w.ts, r.codec.PT
	}
	w.pending = append(w.pending, f.Data...)
	w.pendingFrames++
	w.ts += ticks
	if w.pendingFrames >= framesPerPacket {
		w.flush(to)
	}
	return nil
}

// flush sends the pending frames as one packet.
func (w *sender) flush(to netip.AddrPort) {
	if w.pendingFrames == 0 {
		return
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: w.pendingPT, SequenceNumber: w.seq,
		Timestamp: w.pendingTS, SSRC: w.s.ssrc}, Payload: w.pending}
	w.pending, w.pendingFrames = w.pending[:0], 0
	if w.write(p.Header, p.Payload, to) {
		w.lastTS, w.lastAt = p.Timestamp, time.Now()
	}
}

// write sends one RTP packet on the audio stream (w.mu held): the next
// sequence number is h's, and it counts. It reports whether the packet
// went out.
func (w *sender) write(h rtp.Header, payload []byte, to netip.AddrPort) bool {
	s := w.s
	n := len(payload)
	b, err := h.MarshalTo(w.buf[:cap(w.buf)])
	if err != nil || b+n > cap(w.buf) {
		s.stats.sendErrors.Add(1)
		return false
	}
	out := append(w.buf[:b], payload...)
	if s.sec != nil {
		if out, err = s.sec.encryptRTP(w.sealed[:0], out); err != nil {
			s.stats.sendErrors.Add(1)
			s.sendLog.Warn(s.log, "SRTP encryption failed", "err", err)
			return false
		}
		w.sealed = out[:0]
	}
	w.seq++
	if _, err := s.rtp.WriteToUDPAddrPort(out, to); err != nil {
		s.stats.sendErrors.Add(1)
		s.sendLog.Warn(s.log, "plain RTP send failed", "to", to, "err", err)
		return false
	}
	s.stats.packetsOut.Add(1)
	s.stats.bytesOut.Add(uint64(n))
	w.sentPackets++
	w.sentOctets += uint32(n)
	return true
}

// report is what a sender report states: the RTP time now (at clock),
// and the packets and octets sent; ok is false before the first packet.
func (w *sender) report(now time.Time, clock uint32) (ts, packets, octets uint32, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastAt.IsZero() {
		return 0, 0, 0, false
	}
	ts = w.lastTS + uint32(now.Sub(w.lastAt)*time.Duration(clock)/time.Second)
	return ts, w.sentPackets, w.sentOctets, true
}
