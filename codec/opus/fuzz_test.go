package opus

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
)

var writeCorpus = flag.Bool("write-corpus", false, "regenerate testdata/fuzz/FuzzDecode from the encoder")

// FuzzDecode feeds arbitrary bytes to fresh mono and stereo decoders as a
// packet, as the FEC source for a lost packet, and then conceals. Nothing
// may panic, and every error must be one of the documented kinds.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xf8, 0xff, 0xfe}) // CELT FB 20 ms, silence
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ch := range []int{1, 2} {
			d, err := NewDecoder(48000, ch)
			if err != nil {
				t.Fatal(err)
			}
			pcm := make([]int16, MaxFrameSamples*ch)
			if _, err := d.RecoverFEC(data, pcm, frame); err != nil && !errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("RecoverFEC: unexpected error %v", err)
			}
			n, err := d.Decode(data, pcm)
			switch {
			case err != nil && !errors.Is(err, codec.ErrCorrupt):
				t.Fatalf("Decode: unexpected error %v", err)
			case err == nil && (n <= 0 || n > MaxFrameSamples || n%120 != 0):
				t.Fatalf("Decode returned %d samples", n)
			}
			if _, err := d.Conceal(pcm, d.LastSamples()); err != nil {
				t.Fatalf("Conceal after fuzzed input: %v", err)
			}
		}
	})
}

// packetMode names the coding mode in an Opus TOC byte (RFC 6716, 3.1).
func packetMode(toc byte) string {
	switch cfg := toc >> 3; {
	case cfg < 12:
		return "silk"
	case cfg < 16:
		return "hybrid"
	}
	return "celt"
}

// TestWriteFuzzCorpus regenerates the committed seed corpus:
//
//	go test -tags nolibopusfile -run WriteFuzzCorpus -write-corpus ./codec/opus
func TestWriteFuzzCorpus(t *testing.T) {
	if !*writeCorpus {
		t.Skip("pass -write-corpus to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Speech-like input: a 180 Hz buzz with formant-ish harmonics and a
	// little noise, at two channels so stereo encoders see a difference.
	rng := rand.New(rand.NewPCG(3, 3))
	input := func(ch int) []int16 {
		pcm := make([]int16, rate/2*ch)
		for i := 0; i < rate/2; i++ {
			tm := float64(i) / rate
			v := 0.25*math.Sin(2*math.Pi*180*tm) + 0.12*math.Sin(2*math.Pi*720*tm) + 0.06*math.Sin(2*math.Pi*2500*tm)
			for c := 0; c < ch; c++ {
				pcm[i*ch+c] = int16((v*(1-0.3*float64(c)) + 0.01*rng.NormFloat64()) * 32767)
			}
		}
		return pcm
	}
	write := func(name string, p []byte) {
		body := "go test fuzz v1\n[]byte(" + quoteBytes(p) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct {
		name string
		cfg  EncoderConfig
	}{
		{"silk-nb-8k", EncoderConfig{SampleRate: 8000, Bitrate: 12000}},
		{"silk-wb-fec", EncoderConfig{SampleRate: 16000, Bitrate: 20000, InbandFEC: true, PacketLossPercent: 20}},
		{"silk-wb-60ms", EncoderConfig{SampleRate: 16000, Bitrate: 16000, FrameDuration: 60 * time.Millisecond}},
		{"hybrid-fb-fec", EncoderConfig{Bitrate: 28000, InbandFEC: true, PacketLossPercent: 10}},
		{"hybrid-stereo", EncoderConfig{Channels: 2, Bitrate: 24000}},
		{"celt-fb", EncoderConfig{Application: LowDelay, Bitrate: 48000}},
		{"celt-stereo-10ms", EncoderConfig{Application: LowDelay, Channels: 2, Bitrate: 64000, FrameDuration: 10 * time.Millisecond}},
		{"celt-60ms", EncoderConfig{Application: LowDelay, Bitrate: 24000, FrameDuration: 60 * time.Millisecond}},
	} {
		e := mustEncoder(t, s.cfg)
		in := input(s.cfg.Channels + boolInt(s.cfg.Channels == 0))
		if s.cfg.SampleRate != 0 && s.cfg.SampleRate != rate {
			in = in[:len(in)*s.cfg.SampleRate/rate]
		}
		pkts := encodeAll(t, e, in)
		p := pkts[len(pkts)-1]
		mode := packetMode(p[0])
		t.Logf("%s: %d bytes, TOC %#02x (%s, code %d)", s.name, len(p), p[0], mode, p[0]&3)
		write(s.name, p)
		if s.name == "hybrid-fb-fec" || s.name == "celt-fb" {
			write(s.name+"-trunc-half", p[:len(p)/2])
			write(s.name+"-trunc-2", p[:2])
		}
	}
	// DTX: one byte of TOC and nothing else.
	e := mustEncoder(t, EncoderConfig{DTX: true})
	var dtx []byte
	for _, p := range encodeAll(t, e, make([]int16, rate/2)) {
		if len(p) <= 2 {
			dtx = p
		}
	}
	if dtx == nil {
		t.Fatal("no DTX packet in 500 ms of silence")
	}
	t.Logf("dtx: % x", dtx)
	write("dtx", dtx)
	// Framing edge cases (RFC 6716, 3.2): code 3 with padding, code 2 with
	// a two-byte length.
	write("code3-padding", []byte{0xfb, 0x41, 0x02, 0xff, 0xfe, 0x00, 0x00})
	write("code2-long-length", []byte{0x7a, 0xfc, 0x01, 0x00})
	fmt.Fprintln(os.Stderr, "wrote", dir)
}

// quoteBytes is a Go string literal of p that escapes every byte outside
// printable ASCII as \xNN, so the corpus files stay plain ASCII.
func quoteBytes(p []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range p {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
