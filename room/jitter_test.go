package room

import (
	"testing"
)

// pkt makes a 20 ms packet n of a stream (payload a CELT 20 ms TOC).
func pkt(ssrc uint32, n int) audioPacket {
	return audioPacket{seq: uint16(1000 + n), ts: uint32(5000 + 960*n), ssrc: ssrc, payload: []byte{0xf8, 0xff, 0xfe, 0x01}}
}

func kinds(b *jitterBuffer, n int) []playKind {
	var out []playKind
	for range n {
		k, _ := b.pop()
		out = append(out, k)
	}
	return out
}

func eq(a, b []playKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const (
	N = playNone
	P = playPacket
	F = playFEC
	C = playConceal
	D = playDTX
)

func TestJitterPlaysInOrderAfterTarget(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	if k, _ := b.pop(); k != N {
		t.Fatalf("played before target depth: %v", k)
	}
	b.insert(pkt(1, 1))
	for i := 2; i < 6; i++ {
		k, p := b.pop()
		if k != P || p.seq != uint16(1000+i-2) {
			t.Fatalf("slot %d: %v %+v", i, k, p)
		}
		b.insert(pkt(1, i))
	}
}

func TestJitterReordersAndDropsDuplicatesAndLate(t *testing.T) {
	var b jitterBuffer
	for _, n := range []int{1, 0, 3, 2, 2} {
		b.insert(pkt(1, n))
	}
	if b.stats.duplicate != 1 {
		t.Fatalf("duplicates = %d", b.stats.duplicate)
	}
	for want := 0; want < 4; want++ {
		k, p := b.pop()
		if k != P || p.seq != uint16(1000+want) {
			t.Fatalf("want packet %d, got %v %+v", want, k, p)
		}
	}
	b.insert(pkt(1, 1)) // long gone
	if b.stats.late != 1 {
		t.Fatalf("late = %d", b.stats.late)
	}
}

func TestJitterSingleLossUsesFEC(t *testing.T) {
	var b jitterBuffer
	for _, n := range []int{0, 1, 3, 4} { // 2 lost
		b.insert(pkt(1, n))
	}
	got := kinds(&b, 5)
	if want := []playKind{P, P, F, P, P}; !eq(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if b.stats.lost != 1 || b.stats.fec != 1 {
		t.Fatalf("stats %+v", b.stats)
	}
}

func TestJitterBurstLossConcealsThenFEC(t *testing.T) {
	var b jitterBuffer
	for _, n := range []int{0, 1, 5, 6} { // 2, 3, 4 lost
		b.insert(pkt(1, n))
	}
	got := kinds(&b, 7)
	if want := []playKind{P, P, C, C, F, P, P}; !eq(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// A packet lost while the buffer had run dry (its slot concealed before
// the next packet came) still counts as lost; a packet that was only late
// does not.
func TestJitterLossWhileEmptyCounts(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	b.insert(pkt(1, 1))
	if got := kinds(&b, 2); !eq(got, []playKind{P, P}) {
		t.Fatalf("%v", got)
	}
	// Packet 2 never comes; its slot falls due with the buffer empty.
	if got := kinds(&b, 1); !eq(got, []playKind{C}) {
		t.Fatalf("%v", got)
	}
	b.insert(pkt(1, 3))
	if got := kinds(&b, 1); !eq(got, []playKind{P}) {
		t.Fatalf("%v", got)
	}
	if b.stats.lost != 1 || b.stats.concealed != 1 {
		t.Fatalf("lost %d concealed %d, want 1 and 1", b.stats.lost, b.stats.concealed)
	}
	// Packet 4 only late: its slot concealed, then it plays; not lost.
	if got := kinds(&b, 1); !eq(got, []playKind{C}) {
		t.Fatalf("%v", got)
	}
	b.insert(pkt(1, 4))
	b.insert(pkt(1, 5))
	kinds(&b, 2)
	if b.stats.lost != 1 {
		t.Fatalf("a late packet counted as lost: lost %d", b.stats.lost)
	}
}

func TestJitterDTXGapIsNotLoss(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	b.insert(pkt(1, 1))
	// The sender goes quiet: its next packet has the next sequence number
	// but a timestamp 10 frames later.
	p := pkt(1, 11)
	p.seq = 1002
	b.insert(p)
	got := kinds(&b, 13)
	want := []playKind{P, P, D, D, D, D, D, D, D, D, D, P, C}
	if !eq(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if b.stats.lost != 0 {
		t.Fatalf("DTX counted as loss: %+v", b.stats)
	}
}

func TestJitterDTXFrameKeepsComfortNoiseWhenEmpty(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	d := pkt(1, 1)
	d.payload = []byte{0xf8} // TOC only: DTX
	b.insert(d)
	got := kinds(&b, 10)
	want := []playKind{P, P, D, D, D, D, D, D, D, D}
	if !eq(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestJitterStreamStopConcealsThenGoesQuiet(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	b.insert(pkt(1, 1))
	got := kinds(&b, 2+maxConceal+2)
	want := []playKind{P, P, C, C, C, C, C, N, N}
	if !eq(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// The stream comes back: it re-buffers and plays.
	b.insert(pkt(1, 20))
	b.insert(pkt(1, 21))
	if k, p := b.pop(); k != P || p.seq != 1020 {
		t.Fatalf("after restart: %v %+v", k, p)
	}
}

func TestJitterSSRCChangeRestarts(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	b.insert(pkt(1, 1))
	b.pop()
	b.reset = false
	b.insert(pkt(2, 500))
	if !b.reset || b.buffered() != 1 || b.stats.resyncs != 1 {
		t.Fatalf("reset=%v buffered=%d stats=%+v", b.reset, b.buffered(), b.stats)
	}
	b.insert(pkt(2, 501))
	if k, p := b.pop(); k != P || p.ssrc != 2 {
		t.Fatalf("new stream: %v %+v", k, p)
	}
}

func TestJitterTimestampJumpResyncs(t *testing.T) {
	var b jitterBuffer
	b.insert(pkt(1, 0))
	b.insert(pkt(1, 1))
	b.pop()
	b.pop()
	far := pkt(1, 2)
	far.ts += 48000 * 60 // a minute ahead
	b.insert(far)
	if b.stats.resyncs != 1 {
		t.Fatalf("resyncs = %d", b.stats.resyncs)
	}
	back := pkt(1, 3)
	back.ts = far.ts + 960
	b.insert(back)
	if k, p := b.pop(); k != P || p.ts != far.ts {
		t.Fatalf("after jump: %v %+v", k, p)
	}
}

func TestJitterBoundsDepthAndLatency(t *testing.T) {
	var b jitterBuffer
	for n := range 40 {
		b.insert(pkt(1, n))
	}
	if b.buffered() != jitterMax || b.stats.overflow != 40-jitterMax {
		t.Fatalf("buffered %d overflow %d", b.buffered(), b.stats.overflow)
	}
	b.pop()
	if b.buffered() > jitterHigh || b.stats.skipped == 0 {
		// pop drops one frame per call while above the high-water mark
		for b.buffered() > jitterHigh {
			b.pop()
		}
	}
	if b.stats.skipped == 0 {
		t.Fatal("no latency skipping above the high-water mark")
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tc := range []struct {
		pkt  []byte
		want int
	}{
		{[]byte{0x08}, 960},        // SILK NB 20 ms, 1 frame
		{[]byte{0x0b << 3}, 2880},  // SILK 60 ms
		{[]byte{0x78 | 1}, 1920},   // hybrid 20 ms, 2 frames
		{[]byte{0xfb, 0x03}, 2880}, // CELT 20 ms, code 3 with 3 frames
		{[]byte{0xe0}, 120},        // CELT 2.5 ms
		{[]byte{0xfb}, 960},        // truncated code 3
		{nil, 960},
		{[]byte{0xfb, 0x3f}, 960}, // 63 x 20 ms is illegal
	} {
		if got := opusSamples(tc.pkt); got != tc.want {
			t.Errorf("%x: %d, want %d", tc.pkt, got, tc.want)
		}
	}
}

func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 3, 2, 2, 9, 200, 4})
	f.Add([]byte{5, 5, 5, 0, 255, 128})
	// Table-of-contents bytes (RFC 6716, 3.1) of every duration: CELT 2.5,
	// 5, 10, 20 ms; SILK 40, 60 ms; code 3 with 4, 5 and 6 frames of 20 ms
	// (80, 100, 120 ms); DTX (one byte).
	tocs := [][]byte{{0xe0, 0xff}, {0xe8, 0xff}, {0xf0, 0xff}, {0xf8, 0xff}, {0x10, 0xff}, {0x18, 0xff},
		{0xfb, 0x04}, {0xfb, 0x05}, {0xfb, 0x06}, {0xf8}}
	f.Add([]byte{0x10, 0x12, 0x14, 1, 1, 1, 0x16, 1, 1, 1, 1, 1, 1, 0x18, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var b jitterBuffer
		for i, op := range ops {
			if op&1 == 0 {
				p := pkt(uint32(op>>7), int(op>>1))
				p.payload = tocs[(i+int(op>>4))%len(tocs)]
				b.insert(p)
			} else {
				k, p := b.pop()
				if (k == playPacket || k == playFEC) && p.payload == nil {
					t.Fatalf("%v without a packet", k)
				}
			}
			if b.buffered() > maxPackets || b.depth() > jitterMax+6 {
				t.Fatalf("buffered %d packets, %d frames", b.buffered(), b.depth())
			}
		}
	})
}

func TestJitterShrinksAfterABurst(t *testing.T) {
	var b jitterBuffer
	n := 0
	for range 6 { // a burst: six packets at once
		b.insert(pkt(1, n))
		n++
	}
	// Then one packet per tick: the depth would stay at five forever.
	for range 4 * shrinkAfter {
		b.pop()
		b.insert(pkt(1, n))
		n++
	}
	if b.buffered() > jitterTarget+1 {
		t.Fatalf("still %d packets deep after %d ticks", b.buffered(), 4*shrinkAfter)
	}
	if b.stats.skipped == 0 {
		t.Fatal("nothing skipped")
	}
}

// Depths are media time, not packet counts: 10 ms packets start playing
// once 40 ms are in, like 20 ms ones, and a buffer of 60 ms packets is
// not mistaken for a deep one.
func TestJitterDepthIsMediaTime(t *testing.T) {
	pktOf := func(n, samples int, toc byte) audioPacket {
		return audioPacket{seq: uint16(n), ts: uint32(n * samples), ssrc: 1, payload: []byte{toc, 0xff, 0xfe}}
	}
	var short jitterBuffer // CELT 10 ms: config 30 (TOC 0xf0)
	for i := range 3 {
		short.insert(pktOf(i, 480, 0xf0))
	}
	if k, _ := short.pop(); k != N {
		t.Fatalf("started playing with 30 ms of 10 ms packets: %v", k)
	}
	short.insert(pktOf(3, 480, 0xf0))
	if k, _ := short.pop(); k != P {
		t.Fatalf("40 ms of 10 ms packets did not start playing: %v", k)
	}
	var long jitterBuffer // SILK 60 ms: config 3 (TOC 0x18)
	for i := range 5 {
		long.insert(pktOf(i, 2880, 0x18))
	}
	if long.depth() != 15 {
		t.Fatalf("five 60 ms packets hold %d frames, want 15", long.depth())
	}
	if k, _ := long.pop(); k != P || long.stats.skipped == 0 {
		t.Fatalf("300 ms buffered (above the 160 ms high mark): %v, skipped %d; want a drop to win latency back", k, long.stats.skipped)
	}
}

// Asked to hold more (its voice must wait for late pictures), a playing
// buffer grows by concealing a frame in place now and then, never losing
// a packet; asked to hold less again, it shrinks back.
func TestJitterGrowsToATarget(t *testing.T) {
	var b jitterBuffer
	next := 0
	feed := func() { b.insert(pkt(1, next)); next++ }
	feed()
	feed()
	for range 50 { // steady: one in, one out
		feed()
		if k, _ := b.pop(); k != P {
			t.Fatalf("steady state played %v", k)
		}
	}
	b.target = 8
	played := 0
	for range 200 {
		feed()
		if k, _ := b.pop(); k == P {
			played++
		}
	}
	if d := b.depth(); d < 7 || d > 9 {
		t.Fatalf("depth %d frames after growing to a target of 8", d)
	}
	if b.stats.stretched == 0 || b.stats.lost+b.stats.skipped != 0 {
		t.Fatalf("stats %+v: want stretches and nothing lost", b.stats)
	}
	t.Logf("grew to %d frames with %d concealed frames", b.depth(), b.stats.stretched)
	b.target = 0
	for range 400 {
		feed()
		b.pop()
	}
	if d := b.depth(); d > jitterTarget+1 {
		t.Fatalf("depth %d frames after the target went back", d)
	}
}
