package room

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room/record"
)

// The manager's counters follow what happens in its rooms and keep their
// counts after the participants and the room are gone: bytes recorded
// (exactly the file's size) and packets lost on the way in.
func TestManagerCounters(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{Video: VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	lossy := join(t, r, "lossy", testpeer.Options{ToneHz: 440, LossRate: 0.2})
	join(t, r, "listener", testpeer.Options{ToneHz: 660})
	info := recordFor(t, r, RecordOptions{Dir: t.TempDir(), Name: "counted"}, 1500*time.Millisecond)
	fi, err := os.Stat(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Counters(); c.RecordedBytes != uint64(fi.Size()) || c.RecordWriteErrors != 0 {
		t.Errorf("recorded %d bytes with %d errors; the file has %d", c.RecordedBytes, c.RecordWriteErrors, fi.Size())
	}
	if !eventually(5*time.Second, func() bool {
		c := m.Counters()
		return c.AudioLostIn > 0
	}) {
		t.Fatalf("no loss counted: %+v", m.Counters())
	}
	_ = r.Leave(ctxT(t), lossy.id)
	before := m.Counters()
	if err := m.Destroy(ctxT(t), r.ID()); err != nil {
		t.Fatal(err)
	}
	if after := m.Counters(); after.AudioLostIn < before.AudioLostIn || after.RecordedBytes != before.RecordedBytes {
		t.Errorf("counters went back when the room ended: %+v after %+v", after, before)
	}
}

// A recording whose disk fills counts one write error.
func TestManagerCountsRecordingErrors(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	m := newManager(t)
	r, _ := m.Create(Config{})
	join(t, r, "a", testpeer.Options{ToneHz: 440, Video: "h264"})
	o := RecordOptions{Dir: t.TempDir(), Name: "full", VideoCodec: CodecH264,
		create: func(_ string, opts record.Options) (record.Writer, error) {
			f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			return record.CreateFile(f, opts)
		}}
	if _, err := r.StartRecording(ctxT(t), o); err != nil {
		if errors.Is(err, ErrRecording) {
			t.Skipf("the disk failed at the start, before any write was counted: %v", err)
		}
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return m.Counters().RecordWriteErrors == 1 }) {
		t.Fatalf("write errors %d, want 1", m.Counters().RecordWriteErrors)
	}
}
