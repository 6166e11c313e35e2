package room

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
)

// feedTone encodes a 440 Hz tone in packets of d and returns them with
// their RTP timestamps.
func feedTone(t *testing.T, d time.Duration, seconds int) []audioPacket {
	t.Helper()
	enc, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: 48000, Channels: 1, FrameDuration: d})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	n := enc.FrameSamples()
	pcm := make([]int16, n)
	buf := make([]byte, opus.MaxPacketBytes)
	var out []audioPacket
	for i, pos := 0, 0; pos < seconds*48000; i++ {
		pos = codectest.Tone(pcm, 1, 48000, 440, 0.25, pos)
		k, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, audioPacket{seq: uint16(i), ts: uint32(7000 + i*n), ssrc: 1,
			payload: append([]byte(nil), buf[:k]...)})
	}
	return out
}

// opusDurations are the packet durations RFC 6716 allows.
var opusDurations = []time.Duration{2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, 80 * time.Millisecond,
	100 * time.Millisecond, 120 * time.Millisecond}

// An input plays packets of any Opus duration at 20 ms a tick: 2.5 to
// 10 ms packets several to a tick, 40 to 120 ms ones spread over two to six
// ticks.
// Its timeline advances 20 ms a tick whether it is mixed or skipped, so its
// buffer neither drains nor fills up, and what is mixed is the tone at its
// level.
func TestAudioInputPacketDurations(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, d := range opusDurations {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			pkts := feedTone(t, d, 4)
			in, err := newAudioInput(opusMic())
			if err != nil {
				t.Fatal(err)
			}
			defer in.close()
			per := int(d.Seconds() * 48000) // samples per packet
			if per == 0 || mixer.FrameSamples%per != 0 && per%mixer.FrameSamples != 0 {
				t.Fatalf("packet of %d samples", per)
			}
			var mixed []int16
			next, silent, maxDepth := 0, 0, 0
			for tick := range 190 { // 3.8 s: the packets last 4 s
				// Packets arrive in real time: those that start before the
				// end of this tick.
				for next < len(pkts) && next*per < (tick+1)*mixer.FrameSamples {
					in.queue <- pkts[next]
					next++
				}
				in.prepare(log)
				// Mixed for 1 s, skipped for 1 s, mixed again.
				if talker := tick < 50 || tick >= 100; talker {
					frame := in.audio(log)
					if tick >= 10 && tick < 50 || tick >= 110 {
						mixed = append(mixed, frame...)
					}
				} else {
					in.skip()
				}
				if tick >= 10 && !in.playing {
					silent++
				}
				maxDepth = max(maxDepth, in.jb.buffered())
			}
			if silent > 0 {
				t.Errorf("%d ticks without the input's audio after the start", silent)
			}
			if limit := jitterTarget + 2 + int(60*time.Millisecond/d); maxDepth > limit {
				t.Errorf("buffer grew to %d packets (want <= %d): the timeline falls behind", maxDepth, limit)
			}
			if lvl := codectest.MedianLevel(mixed, 48000, 440, 4800); lvl < 0.2 || lvl > 0.3 {
				t.Errorf("mixed tone at %.3f, want about 0.25", lvl)
			}
			st := in.jb.stats
			if st.lost+st.skipped+st.late+st.overflow > 0 {
				t.Errorf("jitter buffer stats %+v: packets at their pace must all play", st)
			}
		})
	}
}
