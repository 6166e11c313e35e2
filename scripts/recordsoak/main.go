// Command recordsoak records a room for a long time and compares the
// file's duration with the wall time the recording ran, and checks that it
// decodes cleanly. One participant sends a camera and a tone over a real
// WebRTC connection on loopback.
//
//	go run -tags nolibopusfile ./scripts/recordsoak -duration 10m -codec vp8
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

func main() {
	dur := flag.Duration("duration", 10*time.Minute, "how long to record")
	videoCodec := flag.String("codec", "vp8", "recording codec: vp8 (WebM) or h264 (Matroska)")
	dir := flag.String("dir", os.TempDir(), "folder for the recording")
	flag.Parse()
	if err := run(*dur, *videoCodec, *dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(dur time.Duration, videoCodec, dir string) error {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: log})
	if err != nil {
		return err
	}
	defer e.Close()
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: log})
	if err != nil {
		return err
	}
	defer m.Close(context.Background())
	r, err := m.Create(room.Config{ID: 1})
	if err != nil {
		return err
	}
	ctx := context.Background()
	me, _, err := r.Join(ctx, room.JoinRequest{Display: "soak"})
	if err != nil {
		return err
	}
	p, err := testpeer.New(testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: codec.RGB(200, 80, 40), VideoColor2: codec.RGB(40, 80, 200)})
	if err != nil {
		return err
	}
	defer p.Close()
	offer, err := p.Offer()
	if err != nil {
		return err
	}
	ans, err := e.Offer(ctx, r.Member(me.ID), offer)
	answer := ans.SDP
	if err != nil {
		return err
	}
	if err := p.Accept(answer); err != nil {
		return err
	}
	if err := p.WaitConnected(10 * time.Second); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	info, err := r.StartRecording(ctx, room.RecordOptions{Dir: dir, Name: "soak-" + videoCodec, VideoCodec: videoCodec})
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(dur)
	if _, err := r.StopRecording(ctx); err != nil {
		return err
	}
	wall := time.Since(t0).Seconds()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", info.Path).Output()
	if err != nil {
		return fmt.Errorf("ffprobe: %w", err)
	}
	fileDur, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	var errs bytes.Buffer
	dec := exec.Command("ffmpeg", "-v", "error", "-i", info.Path, "-f", "null", "-")
	dec.Stderr = &errs
	_ = dec.Run()
	st, _ := os.Stat(info.Path)
	fmt.Printf("| codec | wall time (s) | file duration (s) | difference (s) | size (MB) | ffmpeg decode errors |\n|---|---:|---:|---:|---:|---:|\n")
	fmt.Printf("| %s | %.2f | %.2f | %+.2f | %.1f | %d |\n", videoCodec, wall, fileDur, fileDur-wall,
		float64(st.Size())/1e6, strings.Count(strings.TrimSpace(errs.String()), "\n")+min(1, len(strings.TrimSpace(errs.String()))))
	_ = os.Remove(info.Path)
	return nil
}
