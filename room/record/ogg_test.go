package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

func TestOggCRC(t *testing.T) {
	// CRC-32 with polynomial 0x04c11db7, MSB first, initial value 0 and
	// no final inversion: the standard check value of "123456789".
	if got := oggCRC([]byte("123456789")); got != 0x89a1897f {
		t.Errorf("crc = %08x, want 89a1897f", got)
	}
	if got := oggCRC(nil); got != 0 {
		t.Errorf("crc of nothing = %08x", got)
	}
}

type oggPage struct {
	flags   byte
	granule int64
	serial  uint32
	seq     uint32
	packets [][]byte
	size    int
}

// parseOgg splits an Ogg stream into pages, checking each checksum, and
// each page into packets (none of ours spans pages).
func parseOgg(t *testing.T, b []byte) []oggPage {
	t.Helper()
	var pages []oggPage
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" || b[4] != 0 {
			t.Fatalf("page %d: bad header % x", len(pages), b[:min(27, len(b))])
		}
		nseg := int(b[26])
		segs := b[27 : 27+nseg]
		size := 27 + nseg
		for _, s := range segs {
			size += int(s)
		}
		page := bytes.Clone(b[:size])
		crc := binary.LittleEndian.Uint32(page[22:])
		binary.LittleEndian.PutUint32(page[22:], 0)
		if got := oggCRC(page); got != crc {
			t.Fatalf("page %d: crc %08x, computed %08x", len(pages), crc, got)
		}
		p := oggPage{
			flags:   b[5],
			granule: int64(binary.LittleEndian.Uint64(b[6:])),
			serial:  binary.LittleEndian.Uint32(b[14:]),
			seq:     binary.LittleEndian.Uint32(b[18:]),
			size:    size,
		}
		data := b[27+nseg : size]
		var pkt []byte
		for i, s := range segs {
			pkt = append(pkt, data[:s]...)
			data = data[s:]
			if s < 255 {
				p.packets = append(p.packets, pkt)
				pkt = nil
			} else if i == nseg-1 {
				t.Fatalf("page %d: packet continues on the next page", len(pages))
			}
		}
		pages = append(pages, p)
		b = b[size:]
	}
	return pages
}

func checkOgg(t *testing.T, pages []oggPage, wantPackets [][]byte, wantGranule int64) {
	t.Helper()
	if len(pages) < 3 {
		t.Fatalf("%d pages", len(pages))
	}
	if string(pages[0].packets[0][:8]) != "OpusHead" || len(pages[0].packets) != 1 || pages[0].flags != oggBOS || pages[0].granule != 0 {
		t.Errorf("first page %+v: want OpusHead alone, BOS, granule 0", pages[0])
	}
	if string(pages[1].packets[0][:8]) != "OpusTags" || len(pages[1].packets) != 1 || pages[1].flags != 0 || pages[1].granule != 0 {
		t.Errorf("second page %+v: want OpusTags alone, granule 0", pages[1])
	}
	var got [][]byte
	var prev int64
	for i, p := range pages {
		if p.seq != uint32(i) || p.serial != pages[0].serial {
			t.Errorf("page %d: seq %d serial %x", i, p.seq, p.serial)
		}
		last := i == len(pages)-1
		if (p.flags&oggEOS != 0) != last {
			t.Errorf("page %d of %d: flags %x", i, len(pages), p.flags)
		}
		if i < 2 {
			continue
		}
		if p.granule < prev {
			t.Errorf("page %d: granule %d after %d", i, p.granule, prev)
		}
		var n int64
		for _, pk := range p.packets {
			n += int64(opusSamples(pk))
		}
		if p.granule-prev != n {
			t.Errorf("page %d: granule grew by %d, its packets hold %d samples", i, p.granule-prev, n)
		}
		if n > oggPageSamples {
			t.Errorf("page %d holds %d samples, more than %d", i, n, oggPageSamples)
		}
		prev = p.granule
		got = append(got, p.packets...)
	}
	if prev != wantGranule {
		t.Errorf("final granule %d, want %d", prev, wantGranule)
	}
	if len(got) != len(wantPackets) {
		t.Fatalf("%d packets, want %d", len(got), len(wantPackets))
	}
	for i := range got {
		if !bytes.Equal(got[i], wantPackets[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
}

func TestOggPages(t *testing.T) {
	audio := encoded(t, "opus")
	var want [][]byte
	for _, s := range audio {
		want = append(want, s.data)
	}
	for _, n := range []int{len(audio), len(audio) - 3} { // the last page on disk at Close, or pending
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			mf := &memFile{}
			w, err := New(mf, Options{Format: OggOpus, Audio: &AudioTrack{}})
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, w, audio[:n])
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			checkOgg(t, parseOgg(t, mf.b), want[:n], int64(n)*960)
			if st := w.Stats(); st.AudioPackets != uint64(n) || st.Duration != samplesDur(int64(n)*960-312) {
				t.Errorf("stats %+v", st)
			}
		})
	}
	t.Run("unseekable", func(t *testing.T) {
		sf := &seqFile{}
		w, err := New(sf, Options{Format: OggOpus, Audio: &AudioTrack{}})
		if err != nil {
			t.Fatal(err)
		}
		writeAll(t, w, audio[:100])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		pages := parseOgg(t, sf.Bytes())
		checkOgg(t, pages, want[:100], 100*960)
		if last := pages[len(pages)-1]; len(last.packets) != 0 || last.granule != 100*960 {
			t.Errorf("closing page %+v: want an empty end-of-stream page", last)
		}
	})
	t.Run("empty", func(t *testing.T) {
		mf := &memFile{}
		w, err := New(mf, Options{Format: OggOpus, Audio: &AudioTrack{Channels: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		pages := parseOgg(t, mf.b)
		if len(pages) != 3 || pages[2].flags != oggEOS || pages[0].packets[0][9] != 2 {
			t.Errorf("pages %+v", pages)
		}
	})
}

// TestOggGap: audio lost upstream leaves a hole in the pts, which the
// writer fills with silence so that later audio keeps its time.
func TestOggGap(t *testing.T) {
	audio := encoded(t, "opus")[:200]
	kept := append(append([]sample{}, audio[:50]...), audio[100:]...) // 1 s missing
	mf := &memFile{}
	w, err := New(mf, Options{Format: OggOpus, Audio: &AudioTrack{}})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, kept)
	// Jitter of a few ms is not a gap.
	if err := w.WriteAudio(audio[0].data, 200*testPacketDur+4*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Silence != 50 || st.AudioPackets != 151 {
		t.Errorf("stats %+v: want 50 silent packets and 151 written", st)
	}
	var want [][]byte
	for _, s := range audio[:50] {
		want = append(want, s.data)
	}
	for range 50 {
		want = append(want, silence(1))
	}
	for _, s := range audio[100:] {
		want = append(want, s.data)
	}
	want = append(want, audio[0].data)
	checkOgg(t, parseOgg(t, mf.b), want, 201*960)
}
