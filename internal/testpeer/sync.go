package testpeer

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

// syncState finds a Flash sender's flashes and beeps in what a peer
// receives and places them on the sender's wall clock through the RTCP
// sender reports of each stream, as a browser does to play audio and video
// in sync.
type syncState struct {
	mu      sync.Mutex
	sr      map[webrtc.RTPCodecType]rtcp.SenderReport
	flashes []time.Time // first white composite of each flash
	beeps   []time.Time // first beep sample of each beep
	white   bool
	loud    bool
	// Events are stamped once a report of their stream has arrived.
	pendingFlash []uint32
	pendingBeep  []uint32
}

// readReports keeps the latest sender report of a received stream.
func (p *Peer) readReports(kind webrtc.RTPCodecType, recv *webrtc.RTPReceiver) {
	for {
		pkts, _, err := recv.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			if sr, ok := pk.(*rtcp.SenderReport); ok {
				s := &p.sync
				s.mu.Lock()
				if s.sr == nil {
					s.sr = make(map[webrtc.RTPCodecType]rtcp.SenderReport)
				}
				s.sr[kind] = *sr
				s.mu.Unlock()
			}
		}
	}
}

// ntpTime converts a 64-bit NTP timestamp (RFC 3550) to a time.
func ntpTime(ntp uint64) time.Time {
	const unixToNTP = 2208988800
	secs := int64(ntp>>32) - unixToNTP
	frac := int64(ntp & 0xffffffff)
	return time.Unix(secs, frac*1e9>>32)
}

// wall places an RTP timestamp of a stream on the sender's clock, or
// reports false before the stream's first sender report.
func (s *syncState) wall(kind webrtc.RTPCodecType, ts uint32, rate float64) (time.Time, bool) {
	sr, ok := s.sr[kind]
	if !ok {
		return time.Time{}, false
	}
	d := float64(int32(ts-sr.RTPTime)) / rate
	return ntpTime(sr.NTPTime).Add(time.Duration(d * float64(time.Second))), true
}

// videoFrame notes a decoded composite with RTP timestamp ts: a flash
// starts where the picture's middle turns white.
func (p *Peer) videoFrame(f *codec.Frame, ts uint32) {
	if !p.opts.WatchSync {
		return
	}
	white := f.Mean(codec.R(f.Width/4, f.Height/4, f.Width/2, f.Height/2)).Y > 180
	s := &p.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	if white && !s.white {
		s.pendingFlash = append(s.pendingFlash, ts)
	}
	s.white = white
	s.resolve()
}

// audioPacket notes a decoded audio packet with RTP timestamp ts: a beep
// starts at its first loud sample.
func (p *Peer) audioPacket(pcm []int16, ts uint32) {
	if !p.opts.WatchSync {
		return
	}
	loud := codectest.Goertzel(pcm, 48000, 1000) > 0.05
	s := &p.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	if loud && !s.loud {
		first := 0
		for i, v := range pcm {
			if v > 3000 || v < -3000 {
				first = i
				break
			}
		}
		s.pendingBeep = append(s.pendingBeep, ts+uint32(first))
	}
	s.loud = loud
	s.resolve()
}

// resolve stamps the events waiting for a sender report.
func (s *syncState) resolve() {
	s.flashes, s.pendingFlash = s.stamp(s.flashes, s.pendingFlash, webrtc.RTPCodecTypeVideo, 90000)
	s.beeps, s.pendingBeep = s.stamp(s.beeps, s.pendingBeep, webrtc.RTPCodecTypeAudio, 48000)
}

// stamp moves the pending RTP timestamps of one stream onto the sender's
// clock, as far as its sender reports allow.
func (s *syncState) stamp(done []time.Time, pending []uint32, kind webrtc.RTPCodecType, rate float64) ([]time.Time, []uint32) {
	for len(pending) > 0 {
		at, ok := s.wall(kind, pending[0], rate)
		if !ok {
			break
		}
		done, pending = append(done, at), pending[1:]
	}
	return done, pending
}

// SyncPair is one flash and the beep nearest it.
type SyncPair struct {
	// Flash is when the flash was meant to be seen, on the sender's clock.
	Flash time.Time
	// Offset is how much later the beep is meant to play (negative:
	// earlier).
	Offset time.Duration
}

// LipSync pairs every flash seen with the nearest beep heard, by the
// sender reports.
func (p *Peer) LipSync() []SyncPair {
	s := &p.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SyncPair
	for _, f := range s.flashes {
		best, found := time.Duration(0), false
		for _, b := range s.beeps {
			if d := b.Sub(f); !found || d.Abs() < best.Abs() {
				best, found = d, true
			}
		}
		if found && best.Abs() < 500*time.Millisecond {
			out = append(out, SyncPair{Flash: f, Offset: best})
		}
	}
	return out
}
