package room

import (
	"time"

	"github.com/tessera-mcu/tessera/mixer"
)

// epoch and since give monotonic instants as plain numbers (a wall-clock
// step cannot distort a wait measured with them).
var epoch = time.Now()

func since() time.Duration { return time.Since(epoch) }

// audioPacket is one received Opus packet on its way to the mixer.
type audioPacket struct {
	seq      uint16
	ts       uint32
	ssrc     uint32
	level    mixer.Level
	hasLevel bool
	payload  []byte
	dur      int           // samples (from the TOC byte; set on insert)
	arrived  time.Duration // monotonic (see since)
}

// playKind says what an input contributes to one 20 ms tick.
type playKind uint8

const (
	// playNone: nothing buffered yet (not started, or re-buffering after a
	// stall). The input is silent and nothing is decoded.
	playNone playKind = iota
	// playPacket: decode the packet.
	playPacket
	// playFEC: the packet for this slot was lost; the packet given is the
	// next one, whose in-band FEC rebuilds it. It stays in the buffer.
	playFEC
	// playConceal: lost with no FEC at hand; the decoder conceals.
	playConceal
	// playDTX: the sender is in discontinuous transmission (silence with
	// sparse comfort-noise updates); the decoder fills in comfort noise.
	playDTX
)

// Jitter buffer tuning, in 20 ms frames of media time (whatever the
// sender's packet duration).
const (
	// jitterTarget is how much must be buffered before playout starts.
	jitterTarget = 2
	// jitterHigh is the depth above which playout skips a frame to win the
	// latency back (sender clock faster than ours, or a burst after a
	// stall).
	jitterHigh = 8
	// jitterMax bounds the buffer; the oldest packet is dropped beyond it.
	jitterMax = 25
	// shrinkAfter: when more than jitterTarget+1 packets have waited at
	// every tick for this many ticks (1 s), one is dropped. A burst of
	// arrivals would otherwise add its latency for good.
	shrinkAfter = 50
	// maxConceal is how many frames are concealed after the stream stops
	// before the input goes silent and re-buffers.
	maxConceal = 5
	// resyncSamples: a timestamp jump larger than this (1 s) is a new
	// timeline, not loss.
	resyncSamples = 48000
	// maxVoiceDelayFrames bounds how much deeper than jitterTarget the
	// buffer may be asked to run (to wait for late pictures): 200 ms.
	maxVoiceDelayFrames = 10
	// stretchEvery: a buffer asked to run deeper than it is grows by one
	// concealed frame at most every this many slots.
	stretchEvery = 10
)

// jitterStats counts what the buffer did; owned by the room goroutine.
type jitterStats struct {
	late, duplicate, overflow, skipped uint64
	lost, fec, concealed, resyncs      uint64
	stretched                          uint64
}

// jitterBuffer reorders one input's packets by RTP timestamp and decides,
// one 20 ms tick at a time, what the input plays: a packet, an FEC
// recovery, concealment, comfort noise, or nothing. It handles reordering,
// duplicates, late packets, loss, DTX, SSRC changes and timestamp jumps.
// It is not safe for concurrent use.
type jitterBuffer struct {
	// duration is a packet's duration at 48 kHz (nil: an Opus packet's).
	duration func(payload []byte) int
	pkts     []audioPacket // sorted by timestamp, oldest first
	started  bool
	ssrc     uint32
	hasSSRC  bool
	nextTS   uint32 // timestamp of the slot to play next
	lastSeq  uint16 // sequence number of the last packet played
	missing  int    // consecutive slots with nothing to play
	// lateInGap counts the packets dropped as too late since the last
	// one played: they are late, not lost.
	lateInGap int
	deep      int  // samples played in a row with more than jitterTarget+1 frames waiting
	dtx       bool // the last packet played was a DTX frame
	// step is the duration of the last packet played, in samples: a slot
	// with nothing to play (loss, DTX) lasts as long as the packets
	// around it (0: one 20 ms frame).
	step uint32
	// reset is set when the stream restarted (new SSRC or timeline); the
	// decoder must be reset before the next packet.
	reset   bool
	samples int // media time of the buffered packets
	// target raises the depth to hold, in frames, above jitterTarget (0:
	// jitterTarget), so that a voice waits for its late pictures. The
	// buffer grows to it by concealing a frame in place now and then.
	target       int
	sinceStretch int
	stats        jitterStats
}

// dtxMaxBytes: an Opus packet this small carries no audio (DTX / comfort
// noise update).
const dtxMaxBytes = 2

func (b *jitterBuffer) restart() {
	b.pkts = b.pkts[:0]
	b.samples = 0
	b.started = false
	b.missing, b.lateInGap = 0, 0
	b.dtx = false
	b.reset = true
}

// insert adds a packet.
func (b *jitterBuffer) insert(p audioPacket) {
	if b.hasSSRC && p.ssrc != b.ssrc {
		b.restart()
		b.stats.resyncs++
	}
	b.ssrc, b.hasSSRC = p.ssrc, true
	if b.started {
		d := int32(p.ts - b.nextTS)
		switch {
		case d < -resyncSamples || d > 5*resyncSamples:
			// The sender's timeline jumped (restart, clock reset).
			b.restart()
			b.stats.resyncs++
		case d < 0:
			b.stats.late++
			b.lateInGap++
			return
		}
	}
	// Insert in timestamp order, searching from the newest end: packets
	// mostly arrive in order.
	ref := p.ts
	if len(b.pkts) > 0 {
		ref = b.pkts[0].ts
	}
	i := len(b.pkts)
	for i > 0 {
		q := b.pkts[i-1]
		if q.ts == p.ts {
			b.stats.duplicate++
			return
		}
		if int32(q.ts-ref) < int32(p.ts-ref) {
			break
		}
		i--
	}
	if b.duration != nil {
		p.dur = b.duration(p.payload)
	} else {
		p.dur = opusSamples(p.payload)
	}
	b.samples += p.dur
	b.pkts = append(b.pkts, audioPacket{})
	copy(b.pkts[i+1:], b.pkts[i:])
	b.pkts[i] = p
	// A long packet may push the buffer past its bound by more than the
	// oldest packet holds: drop as many as it takes.
	dropped := false
	for (b.depth() > jitterMax || len(b.pkts) > maxPackets) && len(b.pkts) > 1 {
		b.dropHead()
		b.stats.overflow++
		dropped = true
	}
	if dropped && b.started {
		b.nextTS = b.pkts[0].ts
	}
}

// pop decides the next 20 ms slot and returns the packet that goes with it
// (the zero packet for the kinds that have none). For playPacket the packet
// leaves the buffer; for playFEC it stays (it plays in the following slot).
func (b *jitterBuffer) pop() (playKind, audioPacket) {
	if !b.started {
		if b.depth() < b.want() {
			return playNone, audioPacket{}
		}
		b.started = true
		b.missing, b.lateInGap = 0, 0
		b.nextTS = b.pkts[0].ts
		b.lastSeq = b.pkts[0].seq - 1
	}
	want := b.want()
	if want > jitterTarget && len(b.pkts) > 0 && !b.dtx && int32(b.pkts[0].ts-b.nextTS) <= 0 &&
		b.depth()+int(b.slot())/mixer.FrameSamples <= want+1 && b.depth() < want {
		// Asked to hold more than it does: one concealed slot in place
		// (the packet due still plays next) lets it grow by a slot. Never
		// in a pause (DTX), where the packet waiting is not yet due, and
		// never past what the shrinking below would take back.
		if b.sinceStretch++; b.sinceStretch >= stretchEvery {
			b.sinceStretch = 0
			b.stats.stretched++
			return playConceal, audioPacket{}
		}
	}
	// A buffer of long packets (up to 120 ms) holds a whole packet
	// between arrivals: the marks allow one packet above them, so that
	// only what is really surplus counts as latency.
	extra := b.packetFrames() - 1
	if b.depth() > want+1+extra {
		b.deep += int(b.slot())
	} else {
		b.deep = 0
	}
	if (b.depth() > jitterHigh+want-jitterTarget+extra || b.deep > shrinkAfter*mixer.FrameSamples) && b.canDrop(want) {
		// Too much latency has built up: drop the oldest packet.
		b.dropHead()
		b.stats.skipped++
		b.deep = 0
		b.nextTS = b.pkts[0].ts
		b.lastSeq = b.pkts[0].seq - 1
	}
	if len(b.pkts) == 0 {
		b.missing++
		b.nextTS += b.slot()
		if b.dtx {
			return playDTX, audioPacket{}
		}
		if b.missing*int(b.slot()) > maxConceal*mixer.FrameSamples {
			b.started = false // stream stopped: go quiet, re-buffer
			return playNone, audioPacket{}
		}
		b.stats.concealed++
		return playConceal, audioPacket{}
	}
	head := &b.pkts[0]
	ahead := int32(head.ts - b.nextTS)
	if ahead <= 0 {
		p := *head
		b.dropHead()
		if gap := int(p.seq-b.lastSeq-1) - b.lateInGap; b.missing > 0 && gap > 0 && gap <= b.missing {
			// The buffer ran dry where packets are missing from the
			// sequence: they were concealed as they fell due, and those
			// that never came (not the late ones) are lost all the same.
			b.stats.lost += uint64(gap)
		}
		b.lastSeq = p.seq
		b.missing, b.lateInGap = 0, 0
		b.dtx = len(p.payload) <= dtxMaxBytes
		b.step = uint32(p.dur)
		b.nextTS = p.ts + b.step
		return playPacket, p
	}
	if ahead > resyncSamples {
		// A pause longer than a second: start again at the next packet.
		b.nextTS = head.ts
		return b.pop()
	}
	step := b.slot()
	b.nextTS += step
	if head.seq == b.lastSeq+1 {
		// No sequence gap: the sender simply sent nothing for this slot
		// (DTX, or a paused track).
		return playDTX, audioPacket{}
	}
	b.stats.lost++
	if ahead <= int32(step) {
		// The next packet is the one right after the lost one: its in-band
		// FEC carries a copy of this slot.
		b.stats.fec++
		return playFEC, *head
	}
	b.stats.concealed++
	return playConceal, audioPacket{}
}

// want is the depth the buffer holds, in frames.
func (b *jitterBuffer) want() int {
	return max(jitterTarget, min(b.target, jitterTarget+maxVoiceDelayFrames))
}

// slot is the duration of a slot with no packet to play, in samples.
func (b *jitterBuffer) slot() uint32 {
	if b.step == 0 {
		return mixer.FrameSamples
	}
	return b.step
}

// dropHead removes the oldest packet, keeping the slice's start (and so
// its capacity) in place: the buffer never reallocates in steady state.
func (b *jitterBuffer) dropHead() {
	b.samples -= b.pkts[0].dur
	n := copy(b.pkts, b.pkts[1:])
	b.pkts[n] = audioPacket{}
	b.pkts = b.pkts[:n]
}

// packetFrames is the duration of the oldest packet waiting, in 20 ms
// frames rounded up (at least one).
func (b *jitterBuffer) packetFrames() int {
	if len(b.pkts) == 0 {
		return 1
	}
	return max(1, (b.pkts[0].dur+mixer.FrameSamples-1)/mixer.FrameSamples)
}

// canDrop says whether dropping the oldest packet to win latency back
// still leaves a packet and at least want frames to play.
func (b *jitterBuffer) canDrop(want int) bool {
	return len(b.pkts) > 1 && b.samples-b.pkts[0].dur >= want*mixer.FrameSamples
}

// buffered is the number of packets waiting.
func (b *jitterBuffer) buffered() int { return len(b.pkts) }

// maxPackets bounds the packets held, whatever their duration (jitterMax
// frames of Opus's shortest, 2.5 ms, packets).
const maxPackets = jitterMax * 8

// depth is the media time the buffered packets hold, in whole 20 ms
// frames (a pause of DTX between them holds none).
func (b *jitterBuffer) depth() int { return b.samples / mixer.FrameSamples }
