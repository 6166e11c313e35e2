package e2etool

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
)

// WriteTonePackets writes n 20 ms Opus packets of a freq Hz tone (48 kHz
// mono, a quarter of full scale) to path, each prefixed by its length as
// a 16-bit big-endian number: what the npm clients in scripts/e2e send.
func WriteTonePackets(t testing.TB, path string, freq float64, n int) {
	t.Helper()
	enc, err := opus.NewEncoder(opus.EncoderConfig{Bitrate: 32000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pcm := make([]int16, 960)
	buf := make([]byte, opus.MaxPacketBytes)
	var out bytes.Buffer
	var pos int
	for range n {
		pos = codectest.Tone(pcm, 1, 48000, freq, 0.25, pos)
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		_ = binary.Write(&out, binary.BigEndian, uint16(m))
		out.Write(buf[:m])
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// DecodePackets decodes a file of length-prefixed Opus payloads (as the
// npm clients in scripts/e2e record them) into 48 kHz mono PCM.
func DecodePackets(t testing.TB, path string) []int16 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var pcm []int16
	buf := make([]int16, opus.MaxFrameSamples)
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			break
		}
		if got, err := dec.Decode(data[2:2+n], buf); err == nil {
			pcm = append(pcm, buf[:got]...)
		}
		data = data[2+n:]
	}
	return pcm
}
