// Package frames assembles video frames from RTP packets with no added
// delay: a frame is released as soon as its packets, from the one that
// starts it to the one carrying the marker bit, are all present with
// consecutive sequence numbers. (A builder that waits for the next frame's
// first packet to know a frame has ended adds one frame interval of
// latency at every hop.) Reordered packets are put back in order;
// duplicates and late packets are dropped; a frame with a missing packet
// is given up after a bounded wait and the next frame reports the loss, so
// the caller can ask for a keyframe.
package frames

import (
	"time"

	"github.com/pion/rtp"
)

// Depacketizer is the codec half the assembler needs (pion's
// codecs.VP8Packet and codecs.H264Packet satisfy it).
type Depacketizer interface {
	Unmarshal(payload []byte) ([]byte, error)
	IsPartitionHead(payload []byte) bool
}

// ringSize bounds the packets held (about half a second of 1080p).
const ringSize = 1024

// restartRun: this many late packets in a row, each following the one
// before and newer than the frames released (or far behind them), are no
// retransmissions but a sender whose sequence numbers started again
// further back.
const restartRun = 4

type slot struct {
	pkt *rtp.Packet
	at  time.Time
}

// Assembler turns one stream's RTP packets into frames. It is not safe for
// concurrent use.
type Assembler struct {
	newDep  func() Depacketizer
	maxWait time.Duration

	ring    [ringSize]slot
	started bool
	// anchored is true once next is a known frame boundary (a frame was
	// released or skipped). Before that, a packet earlier than next (a
	// reordered start) moves next back.
	anchored bool
	next     uint16 // first sequence number not yet released or skipped
	newest   uint16
	lost     bool      // packets were skipped since the last frame released
	ssrc     uint32    // the stream's source
	lateRun  int       // late packets in a row, each following the one before
	lastLate uint16    // the last late packet
	ts       uint32    // RTP timestamp of the last frame released
	arrived  time.Time // when its first packet arrived

	// Counters.
	Frames, Dropped, Late, Duplicates, Restarts uint64
}

// New returns an assembler. newDep makes a fresh depacketizer per frame;
// maxWait is how long a frame with a missing packet is waited for (for
// retransmission) before it is given up.
func New(newDep func() Depacketizer, maxWait time.Duration) *Assembler {
	return &Assembler{newDep: newDep, maxWait: maxWait}
}

// before reports whether sequence number a comes before b (RFC 3550
// wrap-around arithmetic).
func before(a, b uint16) bool { return int16(a-b) < 0 }

// Push adds a packet (the assembler keeps it; do not reuse it).
func (a *Assembler) Push(p *rtp.Packet, now time.Time) {
	seq := p.SequenceNumber
	switch {
	case !a.started:
		a.started, a.next, a.newest, a.ssrc = true, seq, seq, p.SSRC
	case p.SSRC != a.ssrc || int16(a.next-seq) > ringSize || a.lateRun >= restartRun && seq == a.lastLate+1:
		// A new source, a sequence that went back further than any
		// retransmission could, or late packets that follow each other
		// like a live stream: the sender restarted. Start over, or the
		// stream would count as late until it caught up again.
		a.clear()
		a.next, a.newest, a.ssrc = seq, seq, p.SSRC
		a.anchored, a.lost, a.lateRun = false, true, 0
		a.Restarts++
	}
	if before(seq, a.next) {
		if a.anchored || uint16(a.newest-seq) >= ringSize {
			a.Late++
			// Retransmissions of a frame given up are late too, and come
			// in runs; they carry timestamps no newer than the frames
			// released, and stay close behind. A run of newer pictures,
			// or one far behind, is a restarted sender.
			restarted := int32(p.Timestamp-a.ts) > 0 || int16(a.next-seq) > ringSize/4
			if restarted && a.lateRun > 0 && seq == a.lastLate+1 {
				a.lateRun++
			} else if restarted {
				a.lateRun = 1
			} else {
				a.lateRun = 0
			}
			a.lastLate = seq
			return
		}
		a.next = seq
	}
	a.lateRun = 0
	if uint16(seq-a.next) >= ringSize {
		// Far ahead of everything held: the stream jumped. Start over.
		a.clear()
		a.next, a.lost = seq, true
		a.Restarts++
	}
	s := &a.ring[seq%ringSize]
	if s.pkt != nil && s.pkt.SequenceNumber == seq {
		a.Duplicates++
		return
	}
	s.pkt, s.at = p, now
	if before(a.newest, seq) {
		a.newest = seq
	}
}

func (a *Assembler) clear() {
	for i := range a.ring {
		a.ring[i] = slot{}
	}
}

func (a *Assembler) at(seq uint16) *rtp.Packet {
	s := a.ring[seq%ringSize]
	if s.pkt != nil && s.pkt.SequenceNumber == seq {
		return s.pkt
	}
	return nil
}

func (a *Assembler) release(seq uint16) { a.ring[seq%ringSize] = slot{} }

// skipTo drops every packet before seq.
func (a *Assembler) skipTo(seq uint16) {
	for a.next != seq {
		if a.at(a.next) != nil {
			a.Dropped++
		}
		a.release(a.next)
		a.next++
	}
	a.lost, a.anchored = true, true
}

// Pop returns the next complete frame, if there is one. lostBefore is true
// when packets before it were given up (the decoder needs a keyframe unless
// this frame is one).
func (a *Assembler) Pop(now time.Time) (frame []byte, lostBefore, ok bool) {
	for a.started && !before(a.newest, a.next) {
		head := a.at(a.next)
		if head == nil {
			// The next packet is missing. Wait for it, unless the oldest
			// packet held behind the hole has waited long enough.
			if !a.expired(now) {
				return nil, false, false
			}
			a.skipPast()
			continue
		}
		dep := a.newDep()
		if !dep.IsPartitionHead(head.Payload) {
			// The frame's first packet is missing. Right after a released
			// frame it was lost; at the start of the stream it may still
			// arrive out of order.
			if !a.anchored && !a.expired(now) {
				return nil, false, false
			}
			a.skipPast()
			continue
		}
		// Walk to the marker.
		end, complete := a.next, false
		for {
			p := a.at(end)
			if p == nil {
				break
			}
			if p.Marker {
				complete = true
				break
			}
			if end == a.newest {
				break
			}
			end++
		}
		if !complete {
			if a.at(end) == nil && a.expired(now) {
				a.skipPast()
				continue
			}
			return nil, false, false
		}
		var out []byte
		bad := false
		a.ts, a.arrived = head.Timestamp, a.ring[a.next%ringSize].at
		for s := a.next; ; s++ {
			if at := a.ring[s%ringSize].at; at.Before(a.arrived) {
				a.arrived = at // a retransmitted packet came later than its frame
			}
			part, err := dep.Unmarshal(a.at(s).Payload)
			if err != nil {
				bad = true
			}
			out = append(out, part...)
			a.release(s)
			if s == end {
				break
			}
		}
		a.next, a.anchored = end+1, true
		if bad || len(out) == 0 {
			a.lost = true
			a.Dropped++
			continue
		}
		lostBefore, a.lost = a.lost, false
		a.Frames++
		return out, lostBefore, true
	}
	return nil, false, false
}

// Timestamp is the RTP timestamp of the frame Pop last returned.
func (a *Assembler) Timestamp() uint32 { return a.ts }

// Arrived is when the earliest packet of the frame Pop last returned
// arrived.
func (a *Assembler) Arrived() time.Time { return a.arrived }

// expired reports whether the oldest packet held past the hole at next has
// waited maxWait.
func (a *Assembler) expired(now time.Time) bool {
	for s := a.next; !before(a.newest, s); s++ {
		if sl := a.ring[s%ringSize]; sl.pkt != nil && sl.pkt.SequenceNumber == s {
			return now.Sub(sl.at) >= a.maxWait
		}
	}
	return false
}

// skipPast drops the frame at next (complete or not, present or lost) up
// to the next packet that starts a different frame.
func (a *Assembler) skipPast() {
	var ts uint32
	hasTS := false
	if p := a.at(a.next); p != nil {
		ts, hasTS = p.Timestamp, true
	}
	s := a.next + 1
	for ; !before(a.newest, s); s++ {
		p := a.at(s)
		if p == nil {
			continue
		}
		if a.newDep().IsPartitionHead(p.Payload) && (!hasTS || p.Timestamp != ts) {
			break
		}
		if !hasTS {
			ts, hasTS = p.Timestamp, true
		}
	}
	a.skipTo(s)
}
