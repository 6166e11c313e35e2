package sip

import (
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Each pattern is whole 20 ms frames and carries its tones; the accepted
// tones rise and the failure ones fall.
func TestTonePatterns(t *testing.T) {
	at := func(pcm []int16, ms int, freq float64) float64 {
		i := ms * toneRate / 1000
		return codectest.Goertzel(pcm[i:i+2400], toneRate, freq) // 50 ms
	}
	for name, pattern := range map[string][]tone{"prompt": promptTones, "accepted": acceptedTones,
		"wrong": wrongTones, "failed": failedTones} {
		if pcm := synth(pattern); len(pcm) == 0 || len(pcm)%frameLen != 0 {
			t.Fatalf("%s: %d samples, want whole frames", name, len(pcm))
		}
	}
	checks := []struct {
		name    string
		pcm     []int16
		ms      int
		freq    float64
		present bool
	}{
		{"prompt beep 1", synth(promptTones), 50, 1000, true},
		{"prompt gap", synth(promptTones), 175, 1000, false},
		{"prompt beep 2", synth(promptTones), 300, 1000, true},
		{"prompt silence", synth(promptTones), 1000, 1000, false},
		{"accepted low", synth(acceptedTones), 30, 600, true},
		{"accepted high", synth(acceptedTones), 270, 1200, true},
		{"wrong", synth(wrongTones), 200, 300, true},
		{"failed high", synth(failedTones), 100, 900, true},
		{"failed low", synth(failedTones), 700, 400, true},
	}
	for _, c := range checks {
		a := at(c.pcm, c.ms, c.freq)
		if c.present != (a > 0.1) {
			t.Errorf("%s: %.0f Hz at %.3f at %d ms", c.name, c.freq, a, c.ms)
		}
	}
}

// The prompt encodes in each codec a plain-RTP call may have.
func TestPromptEncoders(t *testing.T) {
	pcm := synth(promptTones)[:frameLen]
	for _, name := range []string{endpoint.CodecPCMU, endpoint.CodecPCMA, endpoint.CodecG722, endpoint.CodecOpus} {
		enc, err := newFrameEncoder(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		buf := make([]byte, 1500)
		n, err := enc.Encode(pcm, buf)
		if err != nil || n == 0 {
			t.Fatalf("%s: encoded %d bytes, %v", name, n, err)
		}
		_ = enc.Close()
	}
	if _, err := newFrameEncoder("g729"); err == nil {
		t.Fatal("an encoder for a codec plain RTP does not speak")
	}
}
