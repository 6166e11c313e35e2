package rtmp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/tessera-mcu/tessera/codec/h264/nal"
)

// connect makes one connection attempt (TCP, TLS for rtmps, the RTMP
// handshake, connect and publish) within DialTimeout, discarding what is
// queued meanwhile. Close aborts it.
func (p *Pusher) connect() (*gortmplib.Client, error) {
	type result struct {
		c   *gortmplib.Client
		err error
	}
	done := make(chan result, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(p.ctx, p.opts.DialTimeout)
		defer cancel()
		c := &gortmplib.Client{URL: p.target.url, Publish: true, TLSConfig: p.opts.TLSConfig}
		if err := c.Initialize(ctx); err != nil {
			done <- result{nil, fmt.Errorf("connect: %w", err)}
			return
		}
		done <- result{c, nil}
	}()
	for {
		select {
		case r := <-done:
			return r.c, r.err
		case it := <-p.queue:
			p.skip(it)
		case <-p.wantKey:
		}
	}
}

// session is one connection that publishes.
type session struct {
	p       *Pusher
	c       *gortmplib.Client
	w       *gortmplib.Writer
	video   *gortmplib.Track
	audio   *gortmplib.Track
	sps     []byte
	pps     []byte
	started bool          // the first keyframe went out
	start   time.Time     // when it did
	first   time.Duration // its pts: audio before it is not sent
	drainBy time.Time     // set once Close was called
	base    uint64        // bytes sent on earlier connections
	nalus   [][]byte
}

// stream publishes on c until the connection fails or Close is called
// (errStopping, after the queue is drained), and closes c. It returns how
// long media streamed.
func (p *Pusher) stream(c *gortmplib.Client) (time.Duration, error) {
	s := &session{p: p, c: c, base: p.bytes.Load()}
	nc := c.NetConn()

	// The ingest's messages after publish (acknowledgements, pings,
	// status) are read and ignored; reading them keeps its side of the
	// socket flowing and tells at once when it closes.
	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	ended := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, err := io.Copy(io.Discard, nc)
		if err == nil {
			err = io.EOF
		}
		readErr <- err
	}()
	go func() {
		// A write in flight when Close is called gets the drain time,
		// not the whole WriteTimeout.
		defer wg.Done()
		select {
		case <-p.closing:
			nc.SetWriteDeadline(time.Now().Add(drainTimeout))
		case <-ended:
		}
	}()
	defer func() {
		close(ended)
		c.Close()
		wg.Wait()
	}()

	streamed := func() time.Duration {
		if !s.started {
			return 0
		}
		return time.Since(s.start)
	}
	p.requestKeyframe()
	for {
		select {
		case it := <-p.queue:
			if err := s.handle(it); err != nil {
				return streamed(), err
			}
		case <-p.wantKey:
			p.requestKeyframe()
		case err := <-readErr:
			return streamed(), fmt.Errorf("%w: %v", ErrPeerClosed, err)
		case <-p.closing:
			s.drainBy = time.Now().Add(drainTimeout)
			for {
				select {
				case it := <-p.queue:
					if err := s.handle(it); err != nil {
						return streamed(), errStopping
					}
				default:
					return streamed(), errStopping
				}
			}
		}
	}
}

// handle sends one queued frame, or discards it while the session waits
// for its first keyframe. An error means the connection is lost.
func (s *session) handle(it item) error {
	defer it.release()
	switch it.kind {
	case kindVideo:
		return s.handleVideo(*it.data, it.key, it.pts)
	case kindAudio:
		return s.handleAudio(*it.pcm, it.pts)
	}
	return nil
}

func (s *session) handleVideo(au []byte, key bool, pts time.Duration) error {
	p := s.p
	if !s.started && !key {
		p.skipped.Add(1)
		return nil
	}
	s.nalus = s.nalus[:0]
	var sps, pps []byte
	it := nal.NewIter(au)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		switch nal.Type(u) {
		case nal.AUD:
			continue // FLV frames need no delimiter
		case nal.SPS:
			sps = u
		case nal.PPS:
			pps = u
		}
		s.nalus = append(s.nalus, u)
	}
	if len(s.nalus) == 0 {
		p.skipped.Add(1)
		return nil
	}
	if key && (!bytes.Equal(sps, s.sps) || !bytes.Equal(pps, s.pps)) {
		if sps == nil || pps == nil {
			if !s.started {
				p.skipped.Add(1)
				p.dropLogs.Warn(p.log, "rtmp push: cannot start on a keyframe without SPS and PPS")
				return nil
			}
			// Mid-stream, the parameter sets already sent still apply.
		} else if err := s.announce(sps, pps); err != nil {
			return err
		}
	}
	s.deadline()
	if err := s.w.WriteH264(s.video, pts, pts, s.nalus); err != nil {
		return fmt.Errorf("send video: %w", err)
	}
	p.videoSent.Add(1)
	p.bytes.Store(s.base + s.c.BytesSent())
	if !s.started {
		s.started, s.start, s.first = true, time.Now(), pts
		p.setState(StateStreaming, nil, 0)
	}
	return nil
}

// announce sends the stream's metadata and the AVC and AAC sequence
// headers: at the start of every connection and whenever the parameter
// sets change.
func (s *session) announce(sps, pps []byte) error {
	var asc mpeg4audio.AudioSpecificConfig
	if err := asc.Unmarshal(s.p.asc); err != nil {
		return fmt.Errorf("audio config: %w", err)
	}
	s.sps, s.pps = bytes.Clone(sps), bytes.Clone(pps)
	s.video = &gortmplib.Track{Codec: &codecs.H264{SPS: s.sps, PPS: s.pps}}
	s.audio = &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &asc}}
	s.w = &gortmplib.Writer{Conn: s.c, Tracks: []*gortmplib.Track{s.video, s.audio}}
	s.deadline()
	if err := s.w.Initialize(); err != nil {
		return fmt.Errorf("send sequence headers: %w", err)
	}
	return nil
}

func (s *session) handleAudio(pcm []int16, pts time.Duration) error {
	p := s.p
	// The encoder runs from the connection's start, so that audio is
	// ready the moment the first keyframe is.
	frames, err := p.enc.Encode(pcm, pts)
	if err != nil {
		p.setError(err)
		p.dropLogs.Warn(p.log, "rtmp push: AAC encode failed", "err", err)
		return nil
	}
	if !s.started {
		p.skipped.Add(1)
		return nil
	}
	for _, f := range frames {
		if f.PTS < s.first {
			continue
		}
		s.deadline()
		if err := s.w.WriteMPEG4Audio(s.audio, f.PTS, f.Data); err != nil {
			return fmt.Errorf("send audio: %w", err)
		}
		p.audioSent.Add(1)
	}
	p.bytes.Store(s.base + s.c.BytesSent())
	return nil
}

// deadline bounds the next write: WriteTimeout, or what is left of the
// drain time once Close was called.
func (s *session) deadline() {
	d := time.Now().Add(s.p.opts.WriteTimeout)
	if !s.drainBy.IsZero() && s.drainBy.Before(d) {
		d = s.drainBy
	}
	s.c.NetConn().SetWriteDeadline(d)
}
