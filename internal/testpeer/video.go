package testpeer

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/room/frames"
)

// videoState is a peer's video: what it sends and what it decodes.
type videoState struct {
	sentMu sync.Mutex
	sentAt map[int]time.Time // frame counter -> when it was handed to the track

	track    *webrtc.TrackLocalStaticSample
	color    atomic.Pointer[codec.YUV] // SetVideoColor's, if called
	stopSend chan struct{}
	stopOnce sync.Once

	remote atomic.Pointer[webrtc.TrackRemote]

	mu          sync.Mutex
	latest      *codec.Frame
	decodedAt   []time.Time
	counters    []decodedCounter
	frames      atomic.Uint64
	keyframes   atomic.Uint64
	errors      atomic.Uint64
	keyRequests atomic.Uint64
	sentFrames  atomic.Uint64

	// The last REMB received about the camera.
	rembMu  sync.Mutex
	rembBps float32
	rembAt  time.Time
}

type decodedCounter struct {
	n  int
	at time.Time
}

// videoCapability is the codec the peer offers for its video, written out
// here as a browser's offer would carry it rather than taken from package
// room: the client stays an independent party to the negotiation (the
// room's own capability differs, announcing goog-remb too), and room's
// tests, which import this package, could not be imported by it.
func videoCapability(name string) webrtc.RTPCodecCapability {
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if name == "h264" {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: fb}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}
}

func (p *Peer) addVideo() error {
	t, err := webrtc.NewTrackLocalStaticSample(videoCapability(p.opts.Video), "video", "peer")
	if err != nil {
		return err
	}
	s, err := p.addSendTrack(t)
	if err != nil {
		return err
	}
	p.video.track = t
	p.video.stopSend = make(chan struct{})
	// Keyframe requests from the server force the next frame to be one.
	go func() {
		for {
			pkts, _, err := s.ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				switch pk := pk.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					p.video.keyRequests.Add(1)
				case *rtcp.ReceiverEstimatedMaximumBitrate:
					p.video.remb(pk.Bitrate)
				}
			}
		}
	}()
	return nil
}

func (p *Peer) sendVideo() {
	defer p.wg.Done()
	o := p.opts
	w, h, fps := o.VideoWidth, o.VideoHeight, o.VideoFPS
	if w == 0 {
		w, h = 320, 180
	}
	if fps == 0 {
		fps = 15
	}
	if len(o.VideoClip) > 0 {
		p.sendClip(fps)
		return
	}
	var enc codec.VideoEncoder
	var err error
	if o.Video == "h264" {
		enc, err = h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, FPS: fps, Bitrate: 300_000})
	} else {
		enc, err = vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, FPS: fps, Bitrate: 300_000})
	}
	if err != nil {
		return
	}
	defer enc.Close()
	frame := codec.NewFrame(w, h)
	color := o.VideoColor
	if color == (codec.YUV{}) {
		color = codec.YUV{Y: 128, U: 128, V: 128}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	n := -1
	p.everyFrame(fps, p.video.stopSend, &p.video.keyRequests, func(wantKey bool) bool {
		n++
		if o.VideoGarbage {
			junk := make([]byte, 200+rng.IntN(800))
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			_ = p.video.track.WriteSample(media.Sample{Data: junk, Duration: time.Second / time.Duration(fps)})
			return true
		}
		c := color
		if set := p.video.color.Load(); set != nil {
			c = *set
		} else if o.VideoColor2 != (codec.YUV{}) && (n/(fps/2+1))%2 == 1 {
			c = o.VideoColor2
		}
		if o.Flash {
			// White for the frames of the first two frame intervals of
			// each second: a compositor running at the same rate shows at
			// least one of them whatever its phase.
			c = codec.Black
			if time.Since(p.epoch)%time.Second < 2*time.Second/time.Duration(fps) {
				c = codec.White
			}
		}
		frame.Fill(c)
		if a := o.VideoNoise; a > 0 {
			for i, y := range frame.Y {
				frame.Y[i] = byte(min(max(int(y)+rng.IntN(2*a+1)-a, 0), 255))
			}
		}
		if o.VideoCounter {
			DrawCounter(frame, n)
		}
		if kf, ok := enc.(codec.KeyframeForcer); ok && wantKey {
			kf.ForceKeyframe()
		}
		pkt, err := enc.Encode(frame)
		if err != nil || len(pkt.Data) == 0 {
			return true
		}
		if o.VideoCounter {
			p.video.sentMu.Lock()
			if p.video.sentAt == nil {
				p.video.sentAt = make(map[int]time.Time)
			}
			p.video.sentAt[n%4096] = time.Now()
			p.video.sentMu.Unlock()
		}
		if p.video.track.WriteSample(media.Sample{Data: append([]byte(nil), pkt.Data...), Duration: time.Second / time.Duration(fps)}) == nil {
			p.video.sentFrames.Add(1)
		}
		return true
	})
}

// sendClip sends the access units of VideoClip at fps, from the first
// one and round again after the last, each with its own RTP timestamp
// 1/fps after the previous one. A keyframe request makes the next access
// unit sent the next one holding an IDR picture (the clip cannot encode
// one on demand).
func (p *Peer) sendClip(fps int) {
	next := clipCursor(p.opts.VideoClip, p.opts.Video == "vp8")
	dur := time.Second / time.Duration(fps)
	p.everyFrame(fps, p.video.stopSend, &p.video.keyRequests, func(wantKey bool) bool {
		if p.video.track.WriteSample(media.Sample{Data: next(wantKey), Duration: dur}) == nil {
			p.video.sentFrames.Add(1)
		}
		return true
	})
}

// everyFrame calls send fps times a second until the peer closes, stop
// closes or send returns false, telling it whether a keyframe was
// requested (keyRequests moved on) since its last call.
func (p *Peer) everyFrame(fps int, stop <-chan struct{}, keyRequests *atomic.Uint64, send func(wantKey bool) bool) {
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	var seen uint64
	for {
		select {
		case <-p.stop:
			return
		case <-stop:
			return
		case <-tick.C:
		}
		k := keyRequests.Load()
		if !send(k != seen) {
			return
		}
		seen = k
	}
}

// VideoFramesSent counts the encoded pictures the peer has sent.
func (p *Peer) VideoFramesSent() uint64 { return p.video.sentFrames.Load() }

// SentAt returns when the frame with counter n (mod 4096) was sent.
func (p *Peer) SentAt(n int) (time.Time, bool) {
	p.video.sentMu.Lock()
	defer p.video.sentMu.Unlock()
	t, ok := p.video.sentAt[n%4096]
	return t, ok
}

// SetVideoColor fills the pictures sent from the next one on with c (and
// ends VideoColor2's alternation).
func (p *Peer) SetVideoColor(c codec.YUV) { p.video.color.Store(&c) }

// StopVideo stops sending video (the track stays: a stalled camera).
func (p *Peer) StopVideo() {
	if p.video.stopSend != nil {
		p.video.stopOnce.Do(func() { close(p.video.stopSend) })
	}
}

func (p *Peer) receiveVideo(t *webrtc.TrackRemote) {
	p.video.remote.Store(t)
	h264Stream := t.Codec().MimeType == webrtc.MimeTypeH264
	newDep := func() frames.Depacketizer { return &codecs.VP8Packet{} }
	var dec codec.VideoDecoder
	var err error
	if h264Stream {
		newDep = func() frames.Depacketizer { return &codecs.H264Packet{} }
		dec, err = h264.NewDecoder(nil)
	} else {
		dec, err = vp8.NewDecoder(nil)
	}
	if err != nil {
		return
	}
	defer dec.Close()
	asm := frames.New(newDep, 150*time.Millisecond)
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		asm.Push(pkt, time.Now())
		for {
			data, _, ok := asm.Pop(time.Now())
			if !ok {
				break
			}
			if (h264Stream && h264.ContainsIDR(data)) || (!h264Stream && len(data) > 2 && data[0]&1 == 0) {
				p.video.keyframes.Add(1)
			}
			if p.opts.NoDecode {
				p.video.frames.Add(1)
				continue
			}
			f, err := dec.Decode(data)
			if err != nil {
				p.video.errors.Add(1)
				continue
			}
			if f == nil {
				continue
			}
			now := time.Now()
			p.video.frames.Add(1)
			p.videoFrame(f, asm.Timestamp())
			n, ok := ReadCounter(f)
			p.video.mu.Lock()
			if p.video.latest == nil || p.video.latest.Width != f.Width || p.video.latest.Height != f.Height {
				p.video.latest = codec.NewFrame(f.Width, f.Height)
			}
			_ = p.video.latest.CopyFrom(f)
			p.video.decodedAt = append(p.video.decodedAt, now)
			if ok {
				p.video.counters = append(p.video.counters, decodedCounter{n, now})
			}
			p.video.mu.Unlock()
			f.Release()
		}
	}
}

// VideoFrame returns a copy of the last composite decoded (nil if none).
func (p *Peer) VideoFrame() *codec.Frame {
	p.video.mu.Lock()
	defer p.video.mu.Unlock()
	if p.video.latest == nil {
		return nil
	}
	f := codec.NewFrame(p.video.latest.Width, p.video.latest.Height)
	_ = f.CopyFrom(p.video.latest)
	return f
}

// VideoFramesSince counts composites decoded after t.
func (p *Peer) VideoFramesSince(t time.Time) int {
	p.video.mu.Lock()
	defer p.video.mu.Unlock()
	n := 0
	for _, at := range p.video.decodedAt {
		if at.After(t) {
			n++
		}
	}
	return n
}

// VideoStats returns frames decoded, keyframes received and decode errors.
func (p *Peer) VideoStats() (frames, keyframes, errors uint64) {
	return p.video.frames.Load(), p.video.keyframes.Load(), p.video.errors.Load()
}

// RequestKeyframe sends a PLI for the composite the peer receives.
func (p *Peer) RequestKeyframe() error {
	t := p.video.remote.Load()
	if t == nil {
		return nil
	}
	return p.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
}

// DecodedCounters returns, for every composite that carried a readable
// frame counter, the counter and when it was decoded.
func (p *Peer) DecodedCounters() (ns []int, at []time.Time) {
	p.video.mu.Lock()
	defer p.video.mu.Unlock()
	for _, c := range p.video.counters {
		ns = append(ns, c.n)
		at = append(at, c.at)
	}
	return ns, at
}
