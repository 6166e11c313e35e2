package record

import (
	"encoding/hex"
	"testing"

	"github.com/tessera-mcu/tessera/codec/opus"
)

func TestOpusHead(t *testing.T) {
	cases := []struct {
		a    AudioTrack
		want string
	}{
		// magic, version 1, channels, pre-skip 312 (LE), 48000 Hz (LE),
		// gain 0, mapping family 0.
		{AudioTrack{SampleRate: 48000, Channels: 1, PreSkip: 312}, "4f7075734865616401" + "01" + "3801" + "80bb0000" + "0000" + "00"},
		{AudioTrack{SampleRate: 16000, Channels: 2, PreSkip: 120}, "4f7075734865616401" + "02" + "7800" + "803e0000" + "0000" + "00"},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(opusHead(&c.a)); got != c.want {
			t.Errorf("OpusHead(%+v) = %s, want %s", c.a, got, c.want)
		}
	}
	// Defaults from validate.
	o, err := Options{Audio: &AudioTrack{}}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(opusHead(o.Audio)); got != cases[0].want {
		t.Errorf("default OpusHead %s", got)
	}
	if got := hex.EncodeToString(opusTags("Tessera")); got != "4f707573546167730700000054657373657261"+"00000000" {
		t.Errorf("OpusTags %s", got)
	}
}

func TestOpusSamples(t *testing.T) {
	cases := []struct {
		p    []byte
		want int
	}{
		{nil, 0},
		{[]byte{0x00}, 480},        // SILK NB 10 ms
		{[]byte{0x08}, 960},        // SILK NB 20 ms
		{[]byte{0x18}, 2880},       // SILK NB 60 ms
		{[]byte{0x60}, 480},        // hybrid SWB 10 ms
		{[]byte{0x78}, 960},        // hybrid FB 20 ms
		{[]byte{0x80}, 120},        // CELT NB 2.5 ms
		{[]byte{0xf8}, 960},        // CELT FB 20 ms
		{[]byte{0xf9, 1}, 1920},    // two frames
		{[]byte{0xfa, 1}, 1920},    // two frames, different sizes
		{[]byte{0xe3, 0x03}, 360},  // three 2.5 ms frames
		{[]byte{0x1b, 0x02}, 5760}, // two 60 ms frames: the 120 ms limit
		{[]byte{0x1b, 0x03}, 0},    // 180 ms: invalid
		{[]byte{0xfb}, 0},          // code 3 without its count
	}
	for _, c := range cases {
		if got := opusSamples(c.p); got != c.want {
			t.Errorf("opusSamples(% x) = %d, want %d", c.p, got, c.want)
		}
	}
	for i, s := range encoded(t, "opus")[:50] {
		if n := opusSamples(s.data); n != 960 {
			t.Fatalf("encoder packet %d: %d samples, want 960", i, n)
		}
	}
}

// TestSilence decodes the gap filler: 20 ms of digital silence.
func TestSilence(t *testing.T) {
	for _, ch := range []int{1, 2} {
		dec, err := opus.NewDecoder(48000, ch)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, 5760*ch)
		n, err := dec.Decode(silence(ch), pcm)
		if err != nil {
			t.Fatal(err)
		}
		if n != silentSamples || opusSamples(silence(ch)) != silentSamples {
			t.Errorf("%d channels: %d samples, want %d", ch, n, silentSamples)
		}
		for i, v := range pcm[:n*ch] {
			if v != 0 {
				t.Fatalf("%d channels: sample %d is %d, want silence", ch, i, v)
			}
		}
		dec.Close()
	}
}
