package mixer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
)

// toneSource generates consecutive 20 ms frames of one tone.
type toneSource struct {
	freq, amp float64
	n         int
	buf       []int16
}

func (t *toneSource) next() []int16 {
	if t.buf == nil {
		t.buf = make([]int16, FrameSamples)
	}
	t.n = codectest.Tone(t.buf, 1, SampleRate, t.freq, t.amp, t.n)
	return t.buf
}

func mustAudio(t testing.TB, cfg AudioConfig) *Audio {
	t.Helper()
	a, err := NewAudio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLevelOfPCM(t *testing.T) {
	pcm := make([]int16, FrameSamples)
	if l := LevelOfPCM(pcm); l != Silent {
		t.Fatalf("silence = %d", l)
	}
	codectest.Tone(pcm, 1, SampleRate, 1000, 1, 0)
	if l := LevelOfPCM(pcm); l != 4 { // full-scale sine RMS is -3.01 dBov
		t.Fatalf("full-scale sine = %d, want 4", l)
	}
	codectest.Tone(pcm, 1, SampleRate, 1000, 0.1, 0)
	if l := LevelOfPCM(pcm); l != 24 {
		t.Fatalf("-20 dBFS sine = %d, want 24", l)
	}
}

func TestMixMinusRemovesOwnVoice(t *testing.T) {
	a := mustAudio(t, AudioConfig{})
	tones := map[SourceID]*toneSource{1: {freq: 400, amp: 0.25}, 2: {freq: 600, amp: 0.25}, 3: {freq: 1000, amp: 0.25}}
	obs := []Observation{{ID: 1, Level: 15}, {ID: 2, Level: 15}, {ID: 3, Level: 15}, {ID: 4, Level: Silent}}
	var last *Mixes
	for range 10 {
		sel := a.Select(obs)
		var frames []Frame
		for _, id := range sel.Talkers {
			frames = append(frames, Frame{ID: id, PCM: tones[id].next()})
		}
		m, err := a.Mix(frames)
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	if got := len(last.IDs()); got != 4 {
		t.Fatalf("distinct mixes = %d, want 4 (full + 3 minus)", got)
	}
	freqs := map[SourceID]float64{1: 400, 2: 600, 3: 1000} // whole cycles in 20 ms
	for listener := SourceID(1); listener <= 4; listener++ {
		id, pcm := last.For(listener)
		if listener == 4 && id != FullMix {
			t.Fatalf("non-talker gets mix %d", id)
		}
		for src, f := range freqs {
			amp := codectest.Goertzel(pcm, SampleRate, f)
			if src == listener {
				if amp > 0.001 {
					t.Errorf("listener %d hears own %v Hz at %.4f", listener, f, amp)
				}
			} else if math.Abs(amp-0.25) > 0.01 {
				t.Errorf("listener %d hears %v Hz at %.3f, want 0.25", listener, f, amp)
			}
		}
	}
}

func TestTopKWithHysteresis(t *testing.T) {
	a := mustAudio(t, AudioConfig{MaxTalkers: 2})
	run := func(levels map[SourceID]Level, ticks int) Selection {
		var sel Selection
		for range ticks {
			var obs []Observation
			for id, l := range levels {
				obs = append(obs, Observation{ID: id, Level: l})
			}
			sel = a.Select(obs)
		}
		return sel
	}
	sel := run(map[SourceID]Level{1: 20, 2: 25, 3: 30, 4: 90}, 20)
	if !slices.Equal(sel.Talkers, []SourceID{1, 2}) {
		t.Fatalf("talkers = %v, want [1 2]", sel.Talkers)
	}
	// 3 becomes a little louder than 2: not enough to take its place.
	sel = run(map[SourceID]Level{1: 20, 2: 25, 3: 22, 4: 90}, 20)
	if !slices.Equal(sel.Talkers, []SourceID{1, 2}) {
		t.Fatalf("talkers flapped to %v", sel.Talkers)
	}
	// 3 becomes much louder: it takes the quieter talker's place.
	sel = run(map[SourceID]Level{1: 20, 2: 25, 3: 10, 4: 90}, 20)
	if !slices.Contains(sel.Talkers, 3) || !slices.Contains(sel.Talkers, 1) {
		t.Fatalf("talkers = %v, want 3 and 1", sel.Talkers)
	}
	if a.Talking(4) {
		t.Fatal("source at level 90 counted as talking")
	}
}

func TestHangoverAndEvents(t *testing.T) {
	a := mustAudio(t, AudioConfig{HangoverFrames: 10})
	sel := a.Select([]Observation{{ID: 7, Level: 20}})
	if !slices.Equal(sel.Started, []SourceID{7}) || !slices.Equal(sel.Talkers, []SourceID{7}) {
		t.Fatalf("start: %+v", sel)
	}
	stoppedAt := -1
	for i := range 40 {
		sel = a.Select(nil) // 7 sends nothing: silent
		if slices.Contains(sel.Stopped, 7) {
			stoppedAt = i
			break
		}
		if !slices.Contains(sel.Talkers, 7) {
			t.Fatalf("talker dropped at tick %d, before its stop event", i)
		}
	}
	// The smoothed level takes a few ticks to fall below the threshold, then
	// the 10-frame hangover runs.
	if stoppedAt < 10 || stoppedAt > 25 {
		t.Fatalf("stopped after %d silent ticks, want 10..25", stoppedAt)
	}
}

func TestMuteTakesEffectAtOnce(t *testing.T) {
	a := mustAudio(t, AudioConfig{})
	for range 5 {
		a.Select([]Observation{{ID: 1, Level: 10}, {ID: 2, Level: 10}})
	}
	sel := a.Select([]Observation{{ID: 1, Level: 10, Muted: true}, {ID: 2, Level: 10}})
	if slices.Contains(sel.Talkers, 1) || !slices.Contains(sel.Stopped, 1) {
		t.Fatalf("muted source still selected: %+v", sel)
	}
}

func TestNonTalkerFramesIgnoredAndGainApplied(t *testing.T) {
	a := mustAudio(t, AudioConfig{MaxTalkers: 1})
	loud, quiet := &toneSource{freq: 500, amp: 0.2}, &toneSource{freq: 800, amp: 0.2}
	var m *Mixes
	for range 5 {
		sel := a.Select([]Observation{{ID: 1, Level: 10}, {ID: 2, Level: 40}})
		if !slices.Equal(sel.Talkers, []SourceID{1}) {
			t.Fatalf("talkers = %v", sel.Talkers)
		}
		var err error
		m, err = a.Mix([]Frame{{ID: 1, PCM: loud.next(), Gain: 0.5}, {ID: 2, PCM: quiet.next()}})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, full := m.For(3)
	if amp := codectest.Goertzel(full, SampleRate, 500); math.Abs(amp-0.1) > 0.01 {
		t.Fatalf("talker at gain 0.5: %.3f, want 0.1", amp)
	}
	if amp := codectest.Goertzel(full, SampleRate, 800); amp > 0.001 {
		t.Fatalf("non-talker summed: %.3f", amp)
	}
}

func TestMixRejectsShortFrame(t *testing.T) {
	a := mustAudio(t, AudioConfig{})
	a.Select([]Observation{{ID: 1, Level: 10}})
	if _, err := a.Mix([]Frame{{ID: 1, PCM: make([]int16, 100)}}); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []AudioConfig{{MaxTalkers: -1}, {MaxTalkers: 40}, {ActiveLevel: 200}, {HangoverFrames: -3}} {
		if _, err := NewAudio(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
}

func TestRemoveForgetsTalker(t *testing.T) {
	a := mustAudio(t, AudioConfig{})
	a.Select([]Observation{{ID: 1, Level: 10}, {ID: 2, Level: 10}})
	a.Remove(1)
	m, _ := a.Mix(nil)
	if got := len(m.IDs()); got != 2 {
		t.Fatalf("mixes after remove = %d, want 2", got)
	}
	if sel := a.Select(nil); slices.Contains(sel.Talkers, 1) {
		t.Fatal("removed source selected")
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	a := mustAudio(t, AudioConfig{})
	obs, frames := benchRoom(50)
	tick := func() {
		sel := a.Select(obs)
		if len(sel.Talkers) != 3 {
			t.Fatalf("talkers = %v", sel.Talkers)
		}
		if _, err := a.Mix(frames); err != nil {
			t.Fatal(err)
		}
	}
	tick()
	if n := testing.AllocsPerRun(50, tick); n != 0 {
		t.Fatalf("%.1f allocations per tick", n)
	}
}

// benchRoom is n sources of which three talk.
func benchRoom(n int) ([]Observation, []Frame) {
	obs := make([]Observation, n)
	for i := range obs {
		obs[i] = Observation{ID: SourceID(i + 1), Level: 90}
	}
	var frames []Frame
	for i, f := range []float64{440, 660, 990} {
		obs[i*n/3].Level = Level(15 + i)
		pcm := make([]int16, FrameSamples)
		codectest.Tone(pcm, 1, SampleRate, f, 0.5, 0)
		frames = append(frames, Frame{ID: obs[i*n/3].ID, PCM: pcm, Gain: 1})
	}
	return obs, frames
}

func BenchmarkTick(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("N=%d/K=3", n), func(b *testing.B) {
			a := mustAudio(b, AudioConfig{})
			obs, frames := benchRoom(n)
			b.ReportAllocs()
			for b.Loop() {
				a.Select(obs)
				if _, err := a.Mix(frames); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
