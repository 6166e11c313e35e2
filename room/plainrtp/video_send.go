package plainrtp

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec/h264/nal"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// videoMTU is the largest RTP packet of video Tessera sends (header and
// payload, before SRTP's tag): small enough for any path a room system
// sits behind.
const videoMTU = 1200

// rtpHeaderLen is the length of the RTP header Tessera writes (no CSRC,
// no extensions).
const rtpHeaderLen = 12

// videoSender packetizes the composite as RTP: H.264 in packetization
// mode 1 (RFC 6184: single NAL units, STAP-A for parameter sets, FU-A for
// NAL units over the MTU) or mode 0 (single NAL units only, see
// singleNALPayloader), or VP8 (RFC 7741), its own SSRC, sequence and
// timestamp at 90 kHz, the marker bit on each picture's last packet.
type videoSender struct {
	v         *videoStream
	mu        sync.Mutex
	payloader rtp.Payloader
	seq       uint16
	ts        uint32
	// rem is the time not yet counted in ts (below one tick).
	rem    time.Duration
	buf    []byte
	sealed []byte
	// For sender reports (see sender).
	lastTS      uint32
	lastAt      time.Time
	sentPackets uint32
	sentOctets  uint32
}

func (w *videoSender) init(v *videoStream) {
	w.v = v
	switch {
	case v.codec.Name == endpoint.CodecH264 && v.codec.Mode == 0:
		w.payloader = &singleNALPayloader{v: v}
	case v.codec.Name == endpoint.CodecH264:
		w.payloader = &codecs.H264Payloader{}
	default:
		w.payloader = &codecs.VP8Payloader{EnablePictureID: true}
	}
	w.seq = uint16(rand32(v.ssrc) >> 9)
	w.ts = rand32(v.ssrc ^ 0x5bd1e995)
	w.buf = make([]byte, 0, maxDatagram)
}

// rand32 mixes x into a start value (RFC 3550 asks random ones; the SSRC
// already is).
func rand32(x uint32) uint32 { return x * 2654435761 }

// WriteFrame sends one picture of the composite (an H.264 access unit in
// Annex B, or a VP8 frame). Frames the room skipped leave a gap in the
// sequence and advance the RTP time; while the party holds the call (or a
// later offer refused video) nothing is sent but the time runs on.
func (v *videoStream) WriteFrame(f endpoint.Frame) error {
	s := v.s
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	s.mu.Lock()
	send, to := v.active && v.r.dir.receives(), v.sendTo
	s.mu.Unlock()
	d := f.Duration
	if d <= 0 {
		d = time.Second / 30
	}
	w := &v.send
	w.mu.Lock()
	defer w.mu.Unlock()
	if f.Skipped > 0 {
		// Skipped pictures: a sequence gap, and their time (each as long
		// as this one).
		w.seq += f.Skipped
		w.ts += w.ticks(time.Duration(f.Skipped) * d)
	}
	ts := w.ts
	w.ts += w.ticks(d)
	if !send || !to.IsValid() {
		v.stats.held.Add(1)
		return nil
	}
	payloads := w.payloader.Payload(videoMTU-rtpHeaderLen, f.Data)
	for i, pl := range payloads {
		w.packet(rtp.Header{Version: 2, PayloadType: v.codec.PT, SequenceNumber: w.seq, Timestamp: ts,
			SSRC: v.ssrc, Marker: i == len(payloads)-1}, pl, to)
	}
	if len(payloads) > 0 {
		v.stats.pictures.Add(1)
	}
	return nil
}

// ticks is d in RTP clock ticks, carrying what falls below one tick to
// the next call (no drift from rounding).
func (w *videoSender) ticks(d time.Duration) uint32 {
	d += w.rem
	n := d * videoClock / time.Second
	w.rem = d - n*time.Second/videoClock
	return uint32(n)
}

// packet sends one RTP packet of video.
func (w *videoSender) packet(h rtp.Header, payload []byte, to netip.AddrPort) {
	v, s := w.v, w.v.s
	w.seq++
	n, err := h.MarshalTo(w.buf[:cap(w.buf)])
	if err != nil || n+len(payload) > cap(w.buf) {
		v.stats.sendErrors.Add(1)
		return
	}
	out := append(w.buf[:n], payload...)
	if v.sec != nil {
		if out, err = v.sec.encryptRTP(w.sealed[:0], out); err != nil {
			v.stats.sendErrors.Add(1)
			s.sendLog.Warn(s.log, "SRTP encryption of video failed", "err", err)
			return
		}
		w.sealed = out[:0]
	}
	if _, err := v.rtp.WriteToUDPAddrPort(out, to); err != nil {
		v.stats.sendErrors.Add(1)
		s.sendLog.Warn(s.log, "plain RTP: video send failed", "to", to, "err", err)
		return
	}
	v.stats.packetsOut.Add(1)
	v.stats.bytesOut.Add(uint64(len(payload)))
	w.lastTS, w.lastAt = h.Timestamp, time.Now()
	w.sentPackets++
	w.sentOctets += uint32(len(payload))
}

// report is what the video's sender report states (see sender.report).
func (w *videoSender) report(now time.Time) (ts, packets, octets uint32, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastAt.IsZero() {
		return 0, 0, 0, false
	}
	ts = w.lastTS + uint32(now.Sub(w.lastAt)*videoClock/time.Second)
	return ts, w.sentPackets, w.sentOctets, true
}

// singleNALPayloader is H.264 in single NAL unit mode (RFC 6184
// packetization-mode 0): each NAL unit of an access unit is one RTP
// packet's payload. The room's H.264 encoders cut pictures into slices
// that fit; a NAL unit that still does not is never fragmented (a mode-0
// party cannot take FU-A): it is dropped and counted, and the room is
// asked for a keyframe, since the party's picture is broken until then.
type singleNALPayloader struct {
	v *videoStream
}

func (p *singleNALPayloader) Payload(mtu uint16, au []byte) [][]byte {
	var out [][]byte
	it := nal.NewIter(au)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		switch nal.Type(u) {
		case nal.AUD, 12: // access unit delimiters and filler data carry nothing
			continue
		}
		if len(u) > int(mtu) {
			p.tooLarge(len(u), int(mtu))
			continue
		}
		out = append(out, u)
	}
	return out
}

// tooLarge counts a NAL unit dropped for its size and asks for a
// keyframe.
func (p *singleNALPayloader) tooLarge(size, mtu int) {
	v, s := p.v, p.v.s
	v.stats.tooLarge.Add(1)
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	v.tooLargeLog.Log(s.log, slog.LevelWarn, "plain RTP: dropped an H.264 NAL unit larger than a packet (single NAL unit mode); keyframe requested",
		"bytes", size, "max", mtu)
	if link != nil {
		link.RequestKeyframe()
	}
}
