package vp8

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the FuzzDecode seed corpus in testdata")

const fuzzW, fuzzH = 64, 48

// fuzzStream is the first frames of a small stream, encoded the same way
// every time.
func fuzzStream(tb testing.TB, n int) [][]byte {
	return encodeSequence(tb, EncoderConfig{Width: fuzzW, Height: fuzzH, Bitrate: 100_000}, n)
}

// FuzzDecode feeds arbitrary data to a fresh decoder and to one that has
// decoded a keyframe, so that inter-frame paths are reached too. Either must
// reject the data with ErrCorrupt or return a well-formed picture, and must
// decode a good keyframe afterwards.
func FuzzDecode(f *testing.F) {
	key := fuzzStream(f, 1)[0]
	f.Add(key)
	f.Add(key[:len(key)/2])
	pool := codec.NewFramePool(4)

	decodeKey := func(t *testing.T, d *Decoder, when string) {
		fr, err := d.Decode(key)
		if err != nil || fr == nil {
			t.Fatalf("good keyframe %s: Decode = %v, %v", when, fr, err)
		}
		if fr.Width != fuzzW || fr.Height != fuzzH {
			t.Fatalf("good keyframe %s: decoded %dx%d", when, fr.Width, fr.Height)
		}
		fr.Release()
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, primed := range []bool{false, true} {
			d, err := NewDecoder(pool)
			if err != nil {
				t.Fatal(err)
			}
			if primed {
				decodeKey(t, d, "before input")
			}
			fr, err := d.Decode(data)
			switch {
			case err != nil:
				if !errors.Is(err, codec.ErrCorrupt) {
					t.Fatalf("Decode error %v does not wrap ErrCorrupt", err)
				}
				if fr != nil {
					t.Fatal("Decode returned both a frame and an error")
				}
			case fr != nil:
				if fr.Width < 1 || fr.Height < 1 || fr.Width*fr.Height > MaxDecodePixels ||
					len(fr.Bytes()) != codec.I420Size(fr.Width, fr.Height) {
					t.Fatalf("malformed %dx%d picture of %d bytes", fr.Width, fr.Height, len(fr.Bytes()))
				}
				fr.Release()
			}
			decodeKey(t, d, "after input")
			d.Close()
		}
	})
}

// TestUpdateFuzzCorpus rewrites testdata/fuzz/FuzzDecode when run with
// -update-corpus: whole keyframes and delta frames of a 64x48 stream, and
// truncations that stop in the frame header and in each partition.
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite the seed corpus")
	}
	pkts := fuzzStream(t, 4)
	key, delta := pkts[0], pkts[1]
	seeds := map[string][]byte{
		"keyframe":        key,
		"delta1":          delta,
		"delta3":          pkts[3],
		"keyframe_tag":    key[:3],
		"keyframe_header": key[:10],
		"keyframe_part1":  key[:min(len(key), 10+firstPartitionSize(key)/2)],
		"keyframe_half":   key[:len(key)/2],
		"keyframe_short1": key[:len(key)-1],
		"delta_half":      delta[:len(delta)/2],
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// firstPartitionSize is the 19-bit size of the mode/motion-vector partition
// from a frame tag (RFC 6386 section 9.1).
func firstPartitionSize(b []byte) int {
	return int(b[0])>>5 | int(b[1])<<3 | int(b[2])<<11
}

// TestFuzzSeeds keeps the committed corpus honest: the whole frames in it
// must still decode.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	read := func(name string) []byte {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		const prefix = "go test fuzz v1\n[]byte("
		s := string(raw)
		if len(s) < len(prefix)+2 || s[:len(prefix)] != prefix || s[len(s)-2:] != ")\n" {
			t.Fatalf("%s: not a []byte corpus entry", name)
		}
		q, err := strconv.Unquote(s[len(prefix) : len(s)-2])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return []byte(q)
	}
	d := newDecoder(t, nil)
	for _, name := range []string{"keyframe", "delta1"} {
		f, err := d.Decode(read(name))
		if err != nil || f == nil {
			t.Fatalf("seed %s: Decode = %v, %v", name, f, err)
		}
		if f.Width != fuzzW || f.Height != fuzzH {
			t.Errorf("seed %s: %dx%d", name, f.Width, f.Height)
		}
		f.Release()
	}
}
