package record

import (
	"bytes"
	"encoding/hex"
	"errors"
	"github.com/tessera-mcu/tessera/codec/h264/nal"
	"testing"
	"time"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An access unit with an AUD, a 4-byte and two 3-byte start codes and
// trailing zero bytes.
const testAU = "0000000109f0" + "000000016742c01faa" + "00000168ce3c80" + "0000016588840000"

func TestAnnexBToLengthPrefixed(t *testing.T) {
	au := unhex(t, testAU)
	f := scanAVC(au)
	if !f.idr || f.units != 3 || f.length != 24 {
		t.Errorf("scanAVC = %+v, want IDR, 3 units, 24 bytes", f)
	}
	got := hex.EncodeToString(appendAVC(nil, au))
	want := "00000005" + "6742c01faa" + "00000004" + "68ce3c80" + "00000003" + "658884"
	if got != want {
		t.Errorf("appendAVC = %s, want %s", got, want)
	}
	if f := scanAVC(unhex(t, "000001419a00")); f.idr || f.units != 1 {
		t.Errorf("non-IDR slice: %+v", f)
	}
	if f := scanAVC([]byte{0x65, 1, 2}); f.units != 0 {
		t.Errorf("no start code: %+v", f)
	}
}

func TestAVCConfig(t *testing.T) {
	got, err := avcConfig(unhex(t, testAU))
	if err != nil {
		t.Fatal(err)
	}
	// version 1, profile 66, compatibility c0, level 31, 4-byte lengths,
	// one SPS, one PPS.
	want := "01" + "42" + "c0" + "1f" + "ff" + "e1" + "0005" + "6742c01faa" + "01" + "0004" + "68ce3c80"
	if hex.EncodeToString(got) != want {
		t.Errorf("avcC = %x, want %s", got, want)
	}
	// A High profile SPS adds chroma format and bit depths: 4:2:0, 8 bit
	// (ue 0 / ue 1 / ue 0 / ue 0 = bits 1 010 1 1).
	high := unhex(t, "00000001"+"6764001f"+"ae"+"00000001"+"68ee3cb0"+"00000001658880")
	got, err = avcConfig(high)
	if err != nil {
		t.Fatal(err)
	}
	want = "01" + "64" + "00" + "1f" + "ff" + "e1" + "0005" + "6764001fae" + "01" + "0004" + "68ee3cb0" + "fd" + "f8" + "f8" + "00"
	if hex.EncodeToString(got) != want {
		t.Errorf("High avcC = %x, want %s", got, want)
	}
	// 4:4:4 at 10 bit: ue 0, ue 3, flag 0, ue 2, ue 2 = 1 00100 0 011 011.
	if c, l, cd, ok := spsChroma(unhex(t, "67f4001f"+"90d8")); !ok || c != 3 || l != 2 || cd != 2 {
		t.Errorf("spsChroma 4:4:4 = %d %d %d %v", c, l, cd, ok)
	}
	if _, err := avcConfig(unhex(t, "000000016588")); !errors.Is(err, ErrInvalid) {
		t.Errorf("IDR without parameter sets: %v", err)
	}
	// Duplicate parameter sets are listed once.
	twice := append(unhex(t, testAU), unhex(t, "000000016742c01faa")...)
	if got, _ := avcConfig(twice); got[5] != 0xe1 {
		t.Errorf("duplicate SPS counted: %x", got[5])
	}
}

// TestAVCConfigX264 checks the record built from the encoder's real
// first access unit.
func TestAVCConfigX264(t *testing.T) {
	au := encoded(t, "h264")[0].data
	cfg, err := avcConfig(au)
	if err != nil {
		t.Fatal(err)
	}
	var sps, pps []byte
	it := nal.NewIter(au)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		switch nal.Type(u) {
		case nal.SPS:
			sps = u
		case nal.PPS:
			pps = u
		}
	}
	want := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1, 0, byte(len(sps))}
	want = append(want, sps...)
	want = append(want, 1, 0, byte(len(pps)))
	want = append(want, pps...)
	if !bytes.Equal(cfg, want) {
		t.Errorf("avcC %x, want %x", cfg, want)
	}
	if sps[1] != 66 || sps[2] != 0xe0 {
		t.Errorf("profile %d constraints %x: the encoder should produce constrained baseline", sps[1], sps[2])
	}
}

// TestNonZeroBase records into a writer that already holds data: offsets
// and patches are relative to where the recording began.
func TestNonZeroBase(t *testing.T) {
	mf := &memFile{b: bytes.Repeat([]byte{0xAA}, 100), off: 100}
	w, err := New(mf, avOptions)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, until(avContent(t), 5*time.Second))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mf.b[:100], bytes.Repeat([]byte{0xAA}, 100)) {
		t.Fatal("bytes before the recording were overwritten")
	}
	f := parseMKV(t, mf.b[100:])
	if f.segment.size != len(mf.b)-100-f.segment.data || f.clusters[0].size < 0 {
		t.Errorf("segment size %d, first cluster size %d", f.segment.size, f.clusters[0].size)
	}
}
