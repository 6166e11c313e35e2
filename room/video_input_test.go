package room

import (
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
)

// The composite takes each camera's picture from as long ago as the
// participant's voice waits (lip sync), the newest picture when there is
// no wait, and keeps only the pictures such a wait can ask for.
func TestPictureDelay(t *testing.T) {
	pool := codec.NewFramePool(4)
	in := &videoInput{codec: CodecVP8, log: testLogger(t)}
	t0 := time.Now()
	// Pictures decoded 33 ms apart, stamped by hand.
	add := func(k int) *codec.Frame {
		f := pool.Get(16, 16)
		in.recent = append(in.recent, decoded{f: f, at: t0.Add(time.Duration(k) * 33 * time.Millisecond)})
		return f
	}
	var pics []*codec.Frame
	for k := range 8 {
		pics = append(pics, add(k))
	}
	now := t0.Add(7 * 33 * time.Millisecond)
	pick := func(delay time.Duration) *codec.Frame {
		in.delay.Store(int64(delay))
		f, _, newest := in.snapshot(now)
		if !newest.Equal(now) {
			t.Fatalf("newest picture at %v, want %v", newest.Sub(t0), now.Sub(t0))
		}
		f.Release()
		return f
	}
	if pick(0) != pics[7] {
		t.Error("no wait: not the newest picture")
	}
	if pick(50*time.Millisecond) != pics[5] {
		t.Error("50 ms wait: not the picture from 66 ms before the newest")
	}
	if pick(time.Second) != pics[0] {
		t.Error("a wait beyond what is kept: not the oldest picture")
	}

	// Decoding prunes what the delay (plus 100 ms) cannot ask for.
	in.delay.Store(int64(20 * time.Millisecond))
	in.recent = nil
	for range 10 {
		in.decodeDone(pool.Get(16, 16))
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(in.recent); n > 8 {
		t.Errorf("%d pictures kept for a 20 ms delay at 50 fps, want about 6", n)
	}
	in.close()
	if len(in.recent) != 0 {
		t.Error("close kept pictures")
	}
}

// The later of a participant's voice and pictures sets the pace: pictures
// wait for a voice that waits longer in its jitter buffer; a voice's
// buffer runs deeper for pictures that wait longer (for retransmissions on
// a lossy link).
func TestSyncPicturesFollowsTheLaterMedium(t *testing.T) {
	r, err := newRoom(Config{ID: 1}, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.video.close()
	in, err := newAudioInput(opusMic())
	if err != nil {
		t.Fatal(err)
	}
	defer in.close()
	p := &participant{id: 1, in: in, vin: &videoInput{codec: CodecVP8}}
	pic := codec.NewFrame(16, 16)
	p.vin.recent = []decoded{{f: pic, at: time.Now()}} // a camera that is sending
	half := r.video.period() / 2

	// Voices wait 120 ms, pictures 10 ms: pictures are shown ~93 ms late.
	in.playing, in.wait = true, 120*time.Millisecond
	p.vin.wait.Store(int64(10 * time.Millisecond))
	for range 200 {
		r.syncPictures(p)
	}
	want := 120*time.Millisecond - 10*time.Millisecond - half
	if d := time.Duration(p.vin.delay.Load()); (d - want).Abs() > 2*time.Millisecond {
		t.Errorf("picture delay %v, want about %v", d, want)
	}
	if in.jb.want() != jitterTarget {
		t.Errorf("the voice's buffer asked for %d frames while pictures are early", in.jb.want())
	}

	// Pictures wait 150 ms, voices 40 ms: no picture delay, and the voice's
	// buffer is asked to hold about as much as pictures wait.
	in.wait = 40 * time.Millisecond
	p.vin.wait.Store(int64(150 * time.Millisecond))
	for range 200 {
		r.syncPictures(p)
	}
	if d := p.vin.delay.Load(); d != 0 {
		t.Errorf("picture delay %v with late pictures, want 0", time.Duration(d))
	}
	if got, want := in.jb.want(), 8; got != want { // (150 + 16.7 - 10) ms in 20 ms frames, rounded up
		t.Errorf("the voice's buffer asked for %d frames, want %d", got, want)
	}

	// The camera stalls: it sets no pace any more, and the voice's buffer
	// comes back down a frame a second (never all at once, which would
	// clip speech).
	p.vin.recent[0].at = time.Now().Add(-time.Minute)
	for range 3 * shrinkAfter {
		r.syncPictures(p)
	}
	if got := in.jb.want(); got != 5 {
		t.Errorf("three seconds after the camera stalled the voice's buffer asks for %d frames, want 5", got)
	}
	for range 10 * shrinkAfter {
		r.syncPictures(p)
	}
	if got := in.jb.want(); got != jitterTarget {
		t.Errorf("long after the camera stalled the voice's buffer asks for %d frames, want %d", got, jitterTarget)
	}
}
