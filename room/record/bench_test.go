package record

import (
	"io"
	"testing"
	"time"
)

// discard is an io.WriteSeeker that keeps nothing, so the benchmarks
// measure the writer, not a disk.
type discard struct{ pos, end int64 }

func (d *discard) Write(p []byte) (int, error) {
	d.pos += int64(len(p))
	d.end = max(d.end, d.pos)
	return len(p), nil
}

func (d *discard) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }

func (d *discard) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += d.pos
	case io.SeekEnd:
		off += d.end
	}
	d.pos = off
	return off, nil
}

// BenchmarkWriteVideoFrame writes the encoders' 320x180 frames (a keyframe,
// so a new Cluster, every 30 frames).
func BenchmarkWriteVideoFrame(b *testing.B) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"vp8-webm", Options{Format: WebM, Video: &VideoTrack{Codec: "vp8", Width: testW, Height: testH}}},
		{"h264-mkv", Options{Format: Matroska, Video: &VideoTrack{Codec: "h264", Width: testW, Height: testH}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			frames := encoded(b, c.opts.Video.Codec)
			var total int
			for _, f := range frames {
				total += len(f.data)
			}
			w, err := New(&discard{}, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(total / len(frames)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := frames[i%len(frames)]
				if err := w.WriteVideo(f.data, f.key, time.Duration(i)*testFrameDur); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			w.Close()
		})
	}
}

// BenchmarkWriteAudioPacket writes 20 ms Opus packets.
func BenchmarkWriteAudioPacket(b *testing.B) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"webm", Options{Format: WebM, Audio: &AudioTrack{}}},
		{"ogg", Options{Format: OggOpus, Audio: &AudioTrack{}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			packets := encoded(b, "opus")
			w, err := New(&discard{}, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(packets[0].data)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := w.WriteAudio(packets[i%len(packets)].data, time.Duration(i)*testPacketDur); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			w.Close()
		})
	}
}
