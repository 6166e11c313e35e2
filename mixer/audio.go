package mixer

import (
	"fmt"
	"slices"
)

// SourceID names one audio source (one participant's microphone) inside a
// mixer. Zero is reserved: it names the full mix.
type SourceID uint64

// MixID names one distinct mix a tick produces: FullMix, the sum of every
// talker, or a talker's SourceID for the sum of every talker but that one.
type MixID uint64

// FullMix is the mix everyone who is not a talker hears.
const FullMix MixID = 0

// Audio format of the mixer: 48 kHz mono, 20 ms ticks.
const (
	SampleRate   = 48000
	FrameSamples = SampleRate / 50
)

// AudioConfig tunes talker selection. Zero fields take the defaults.
type AudioConfig struct {
	// MaxTalkers is K: at most this many sources are summed. Default 3.
	MaxTalkers int
	// ActiveLevel is the RFC 6464 level (dBov below overload) at or above
	// which, after smoothing, a source counts as speaking. Default 50.
	ActiveLevel Level
	// HangoverFrames is how many 20 ms frames a source stays talking after it
	// falls below ActiveLevel, so pauses between words do not cut it out.
	// Default 20 (400 ms).
	HangoverFrames int
	// SwitchMarginDB is how much louder (smoothed dB) a challenger must be
	// than the quietest current talker to take its place. Default 6.
	SwitchMarginDB float32
}

func (c *AudioConfig) setDefaults() error {
	if c.MaxTalkers == 0 {
		c.MaxTalkers = 3
	}
	if c.ActiveLevel == 0 {
		c.ActiveLevel = 50
	}
	if c.HangoverFrames == 0 {
		c.HangoverFrames = 20
	}
	if c.SwitchMarginDB == 0 {
		c.SwitchMarginDB = 6
	}
	switch {
	case c.MaxTalkers < 1 || c.MaxTalkers > 16:
		return fmt.Errorf("%w: max talkers %d (1..16)", ErrInvalidConfig, c.MaxTalkers)
	case c.ActiveLevel > Silent:
		return fmt.Errorf("%w: active level %d (0..127)", ErrInvalidConfig, c.ActiveLevel)
	case c.HangoverFrames < 0:
		return fmt.Errorf("%w: hangover %d frames", ErrInvalidConfig, c.HangoverFrames)
	}
	return nil
}

// Observation is what the mixer learns of a source each tick before any
// audio is decoded: its level (from the RFC 6464 header extension, or
// measured with LevelOfPCM where the sender has none) and whether it is
// muted. A source not observed in a tick is taken as silent.
type Observation struct {
	ID    SourceID
	Level Level
	Muted bool
}

// Selection is the outcome of Select.
type Selection struct {
	// Talkers are the sources to decode and sum this tick, loudest first.
	Talkers []SourceID
	// Started and Stopped list the sources whose talking state changed this
	// tick (voice activity with hangover; independent of the top-K cut).
	Started, Stopped []SourceID
}

// Frame is one decoded 20 ms frame of a talker.
type Frame struct {
	ID   SourceID
	PCM  []int16
	Gain float32 // 1 is unity; 0 is taken as 1
}

type source struct {
	id       SourceID
	smoothed float32 // loudness, 127 - level, smoothed
	quiet    int     // frames since last active
	talking  bool
	talker   bool
	muted    bool
	seen     bool
}

type mix struct {
	acc []int32
	out []int16
	lim *Limiter
}

// Audio is a room's audio bus: talker selection with hysteresis, the sum of
// the top-K talkers, the mix-minus for each talker and a limiter on every
// output. It is not safe for concurrent use; the room's owner calls it once
// per tick: Select, then decode the talkers, then Mix.
type Audio struct {
	cfg     AudioConfig
	sources []*source
	index   map[SourceID]*source
	talkers []SourceID
	sel     Selection
	scratch []*source

	full  mix
	minus map[SourceID]*mix
	spare []*mix
	out   Mixes
}

// NewAudio returns an empty bus.
func NewAudio(cfg AudioConfig) (*Audio, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Audio{
		cfg:   cfg,
		index: make(map[SourceID]*source),
		full:  newMix(),
		minus: make(map[SourceID]*mix),
		out:   Mixes{minus: make(map[SourceID][]int16)},
	}, nil
}

func newMix() mix {
	return mix{acc: make([]int32, FrameSamples), out: make([]int16, FrameSamples), lim: NewLimiter()}
}

// Config is the configuration in force, defaults filled in.
func (a *Audio) Config() AudioConfig { return a.cfg }

// Remove forgets a source (it left the room).
func (a *Audio) Remove(id SourceID) {
	s, ok := a.index[id]
	if !ok {
		return
	}
	delete(a.index, id)
	a.sources = slices.DeleteFunc(a.sources, func(x *source) bool { return x == s })
	a.talkers = slices.DeleteFunc(a.talkers, func(x SourceID) bool { return x == id })
	a.dropMinus(id)
}

// Talking reports whether a source is currently speaking.
func (a *Audio) Talking(id SourceID) bool {
	s, ok := a.index[id]
	return ok && s.talking
}

// Select updates every source's level and talking state and chooses this
// tick's talkers. The returned slices are reused by the next call.
func (a *Audio) Select(obs []Observation) Selection {
	a.sel.Started, a.sel.Stopped = a.sel.Started[:0], a.sel.Stopped[:0]
	for _, s := range a.sources {
		s.seen = false
	}
	for _, o := range obs {
		s, ok := a.index[o.ID]
		if !ok {
			// A new source has no history: start from its first level.
			s = &source{id: o.ID, smoothed: float32(Silent - min(o.Level, Silent))}
			a.index[o.ID] = s
			a.sources = append(a.sources, s)
		}
		s.seen = true
		s.muted = o.Muted
		a.observe(s, o.Level)
	}
	for _, s := range a.sources {
		if !s.seen {
			a.observe(s, Silent)
		}
	}

	// Candidates: sources talking and not muted. Current talkers get the
	// switch margin, so a challenger must be clearly louder to displace one.
	cands := a.scratch[:0]
	for _, s := range a.sources {
		if s.talking && !s.muted {
			cands = append(cands, s)
		}
	}
	score := func(s *source) float32 {
		if s.talker {
			return s.smoothed + a.cfg.SwitchMarginDB
		}
		return s.smoothed
	}
	slices.SortFunc(cands, func(x, y *source) int {
		switch sx, sy := score(x), score(y); {
		case sx > sy:
			return -1
		case sx < sy:
			return 1
		case x.id < y.id:
			return -1
		case x.id > y.id:
			return 1
		}
		return 0
	})
	if len(cands) > a.cfg.MaxTalkers {
		cands = cands[:a.cfg.MaxTalkers]
	}
	for _, s := range a.sources {
		s.talker = false
	}
	a.talkers = a.talkers[:0]
	for _, s := range cands {
		s.talker = true
		a.talkers = append(a.talkers, s.id)
	}
	a.scratch = cands[:0]
	for id := range a.minus {
		if s := a.index[id]; s == nil || !s.talker {
			a.dropMinus(id)
		}
	}
	a.sel.Talkers = a.talkers
	return a.sel
}

func (a *Audio) observe(s *source, lvl Level) {
	if s.muted {
		lvl = Silent
	}
	loud := float32(Silent - min(lvl, Silent))
	if loud > s.smoothed {
		s.smoothed += (loud - s.smoothed) * 0.5 // fast attack
	} else {
		s.smoothed += (loud - s.smoothed) * 0.15 // slower decay
	}
	active := !s.muted && s.smoothed >= float32(Silent-a.cfg.ActiveLevel)
	switch {
	case active:
		s.quiet = 0
		if !s.talking {
			s.talking = true
			a.sel.Started = append(a.sel.Started, s.id)
		}
	case s.talking:
		s.quiet++
		if s.muted || s.quiet > a.cfg.HangoverFrames {
			s.talking = false
			a.sel.Stopped = append(a.sel.Stopped, s.id)
		}
	}
}

func (a *Audio) dropMinus(id SourceID) {
	if m, ok := a.minus[id]; ok {
		delete(a.minus, id)
		delete(a.out.minus, id)
		a.spare = append(a.spare, m)
	}
}

// Mixes is one tick's output. Its buffers are reused by the next Mix.
type Mixes struct {
	full  []int16
	minus map[SourceID][]int16
	ids   []MixID
}

// For returns the mix a listener hears and its ID: the mix without its own
// voice if it is a talker, the full mix otherwise.
func (m *Mixes) For(listener SourceID) (MixID, []int16) {
	if pcm, ok := m.minus[listener]; ok {
		return MixID(listener), pcm
	}
	return FullMix, m.full
}

// IDs lists every distinct mix of the tick, FullMix first.
func (m *Mixes) IDs() []MixID { return m.ids }

// PCM returns the samples of one mix, or nil if the tick has no such mix.
func (m *Mixes) PCM(id MixID) []int16 {
	if id == FullMix {
		return m.full
	}
	return m.minus[SourceID(id)]
}

// Mix sums this tick's talker frames and produces the full mix and one mix
// per talker without that talker's voice, each through its own limiter.
// Frames of sources that are not talkers are ignored; a talker without a
// frame (lost or silent packet) contributes nothing.
func (a *Audio) Mix(frames []Frame) (*Mixes, error) {
	bus := a.full.acc
	clear(bus)
	for _, f := range frames {
		if len(f.PCM) != FrameSamples {
			return nil, fmt.Errorf("%w: source %d sent %d samples, want %d", ErrFrameSize, f.ID, len(f.PCM), FrameSamples)
		}
	}
	for _, f := range frames {
		s := a.index[f.ID]
		if s == nil || !s.talker {
			continue
		}
		addScaled(bus, f.PCM, f.Gain)
	}
	a.full.lim.Process(bus, a.full.out)
	a.out.full = a.full.out
	a.out.ids = append(a.out.ids[:0], FullMix)

	for _, id := range a.talkers {
		m := a.minus[id]
		if m == nil {
			m = a.takeSpare()
			// The talker was hearing the full mix until now: start its
			// limiter where the full mix's is, so the level does not jump.
			m.lim.gain = a.full.lim.gain
			a.minus[id] = m
		}
		copy(m.acc, bus)
		for _, f := range frames {
			if f.ID == id {
				subScaled(m.acc, f.PCM, f.Gain)
			}
		}
		m.lim.Process(m.acc, m.out)
		a.out.minus[id] = m.out
		a.out.ids = append(a.out.ids, MixID(id))
	}
	return &a.out, nil
}

func (a *Audio) takeSpare() *mix {
	if n := len(a.spare); n > 0 {
		m := a.spare[n-1]
		a.spare = a.spare[:n-1]
		m.lim.Reset()
		return m
	}
	m := newMix()
	return &m
}

// gainQ is the fixed-point scale of per-source gains (Q12).
const gainQ = 1 << 12

func q12(g float32) int32 {
	if g == 0 || g == 1 {
		return gainQ
	}
	return int32(g*gainQ + 0.5)
}

func addScaled(acc []int32, pcm []int16, gain float32) {
	g := q12(gain)
	if g == gainQ {
		for i, v := range pcm {
			acc[i] += int32(v)
		}
		return
	}
	for i, v := range pcm {
		acc[i] += int32(v) * g >> 12
	}
}

func subScaled(acc []int32, pcm []int16, gain float32) {
	g := q12(gain)
	if g == gainQ {
		for i, v := range pcm {
			acc[i] -= int32(v)
		}
		return
	}
	for i, v := range pcm {
		acc[i] -= int32(v) * g >> 12
	}
}
