package sip

import (
	"math"
	"sync"
	"time"
)

// The prompt's tones. Tessera has no recorded speech: a caller who must
// key in a room's PIN hears tone patterns instead.
//
//   - prompt, while Tessera waits for the PIN: two short 1 kHz beeps
//     (150 ms each, 100 ms apart), repeated every 3 s;
//   - accepted, the PIN is right: three short rising tones (600, 900,
//     1200 Hz, 120 ms each) before the caller joins the room;
//   - wrong, the PIN is wrong: one low 300 Hz tone of 600 ms, then the
//     prompt again;
//   - failed, too many wrong PINs or none in time: three long descending
//     tones (900, 600, 400 Hz, 300 ms each) before Tessera hangs up.

// Tone sample format: 48 kHz mono PCM in 20 ms frames.
const (
	toneRate    = 48000
	frameLen    = toneRate / 50 // samples in 20 ms
	toneLevel   = 8000          // about -12 dBFS
	toneFadeLen = toneRate / 200
)

// tone is one step of a pattern: freq Hz (0: silence) for dur.
type tone struct {
	freq float64
	dur  time.Duration
}

var (
	promptTones = []tone{{1000, 150 * time.Millisecond}, {0, 100 * time.Millisecond},
		{1000, 150 * time.Millisecond}, {0, 2600 * time.Millisecond}}
	acceptedTones = []tone{{600, 120 * time.Millisecond}, {900, 120 * time.Millisecond},
		{1200, 120 * time.Millisecond}, {0, 100 * time.Millisecond}}
	wrongTones  = []tone{{300, 600 * time.Millisecond}, {0, 400 * time.Millisecond}}
	failedTones = []tone{{900, 300 * time.Millisecond}, {600, 300 * time.Millisecond},
		{400, 300 * time.Millisecond}, {0, 200 * time.Millisecond}}
)

// synth renders a pattern as 48 kHz PCM, padded with silence to whole
// 20 ms frames. Each tone fades in and out over 5 ms so that it does
// not click.
func synth(pattern []tone) []int16 {
	var pcm []int16
	for _, t := range pattern {
		n := int(t.dur * toneRate / time.Second)
		for i := range n {
			var v float64
			if t.freq > 0 {
				v = toneLevel * math.Sin(2*math.Pi*t.freq*float64(i)/toneRate)
				if f := min(i, n-1-i); f < toneFadeLen {
					v *= float64(f) / toneFadeLen
				}
			}
			pcm = append(pcm, int16(v))
		}
	}
	if r := len(pcm) % frameLen; r != 0 {
		pcm = append(pcm, make([]int16, frameLen-r)...)
	}
	return pcm
}

// tonePlayer plays tone patterns into a call at 20 ms pace, on its own
// goroutine, until stop.
type tonePlayer struct {
	w    PCMWriter
	cmds chan toneCmd
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// failed counts the frames the writer refused (read it after stop).
	failed int
}

// toneCmd asks for once, then loop over and over (nil: silence);
// played, if not nil, is closed when once has been sent (or replaced by
// the next command, or the player stopped).
type toneCmd struct {
	once, loop []int16
	played     chan struct{}
}

// startTones starts a player writing to w; it sends silence until told
// to play.
func startTones(w PCMWriter) *tonePlayer {
	p := &tonePlayer{w: w, cmds: make(chan toneCmd), quit: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// play replaces what the player plays; the returned channel is closed
// once the once part has been sent.
func (p *tonePlayer) play(once, loop []int16) <-chan struct{} {
	played := make(chan struct{})
	select {
	case p.cmds <- toneCmd{once: once, loop: loop, played: played}:
	case <-p.done:
		close(played)
	}
	return played
}

// stop ends the player's goroutine, waits for it and closes the
// writer; it is safe to call more than once.
func (p *tonePlayer) stop() {
	p.once.Do(func() {
		close(p.quit)
		<-p.done
		_ = p.w.Close()
	})
}

func (p *tonePlayer) run() {
	defer close(p.done)
	var cur toneCmd
	pos := 0
	silence := make([]int16, frameLen)
	finish := func() {
		if cur.played != nil {
			close(cur.played)
			cur.played = nil
		}
	}
	defer finish()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			return
		case c := <-p.cmds:
			finish()
			cur, pos = c, 0
			continue
		case <-tick.C:
		}
		frame := silence
		switch {
		case pos < len(cur.once):
			frame = cur.once[pos : pos+frameLen]
			pos += frameLen
			if pos >= len(cur.once) {
				finish()
			}
		case len(cur.loop) > 0:
			i := (pos - len(cur.once)) % len(cur.loop)
			frame = cur.loop[i : i+frameLen]
			pos += frameLen
		default:
			finish()
		}
		if err := p.w.WritePCM(frame); err != nil {
			p.failed++
		}
	}
}
