package testpeer

import (
	"encoding/binary"
	"errors"
	"testing"
)

// ReadIVF returns each frame as written, and refuses other files and
// truncated ones.
func TestReadIVF(t *testing.T) {
	file := []byte("DKIF\x00\x00\x20\x00VP80")
	file = append(file, make([]byte, 20)...)
	frames := [][]byte{{0x10, 0x02, 0x00, 1, 2, 3}, {0x31, 4}, {0x51, 5, 6, 7, 8}}
	for i, f := range frames {
		var h [12]byte
		binary.LittleEndian.PutUint32(h[:4], uint32(len(f)))
		binary.LittleEndian.PutUint64(h[4:], uint64(i))
		file = append(append(file, h[:]...), f...)
	}
	got, err := ReadIVF(file)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d frames, %v", len(got), err)
	}
	for i := range frames {
		if string(got[i]) != string(frames[i]) {
			t.Errorf("frame %d = %x, want %x", i, got[i], frames[i])
		}
	}
	for name, bad := range map[string][]byte{
		"empty":       nil,
		"not IVF":     append([]byte("RIFF"), file[4:]...),
		"VP9":         append(append([]byte(nil), file[:8]...), append([]byte("VP90"), file[12:]...)...),
		"cut frame":   file[:len(file)-2],
		"cut header":  file[:len(file)-len(frames[2])-3],
		"header only": file[:32],
	} {
		if _, err := ReadIVF(bad); !errors.Is(err, ErrIVF) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
