package record_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tessera-mcu/tessera/room/record"
)

func ExampleCreate() {
	dir, err := os.MkdirTemp("", "record-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := record.Options{
		Video: &record.VideoTrack{Codec: "vp8", Width: 640, Height: 360},
		Audio: &record.AudioTrack{SampleRate: 48000, Channels: 1},
	}
	opts.Format = record.FormatFor(opts.Video.Codec, false)
	path := filepath.Join(dir, "meeting"+opts.Format.Extension())
	w, err := record.Create(path, opts)
	if err != nil {
		log.Fatal(err)
	}

	// Stand-ins for what the encoders produce: VP8 frames (the low bit of
	// the first byte is 0 for a keyframe) and 20 ms Opus packets.
	keyframe, delta := []byte{0x10, 0x02, 0x00}, []byte{0x11, 0x02, 0x00}
	silence := []byte{0xf8, 0xff, 0xfe}

	w.WriteVideo(delta, false, 0) // no keyframe yet: dropped
	for i := range 50 {
		pts := time.Duration(i) * 20 * time.Millisecond
		if i%5 == 0 { // 10 fps
			frame := delta
			if i == 5 {
				frame = keyframe // the recording starts here, at 100 ms
			}
			if err := w.WriteVideo(frame, i == 5, pts); err != nil {
				log.Fatal(err)
			}
		}
		if err := w.WriteAudio(silence, pts); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	st := w.Stats()
	fmt.Println(filepath.Base(path))
	fmt.Println("video frames:", st.VideoFrames, "dropped:", st.DroppedVideo)
	fmt.Println("audio packets:", st.AudioPackets, "dropped:", st.DroppedAudio)
	fmt.Println("duration:", st.Duration)
	// Output:
	// meeting.webm
	// video frames: 9 dropped: 2
	// audio packets: 45 dropped: 5
	// duration: 900ms
}
