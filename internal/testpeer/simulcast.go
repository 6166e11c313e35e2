package testpeer

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
)

// Layer is one simulcast layer of a peer's camera (RFC 8853): its own RTP
// stream, named by its RID, with its own picture size and colour, so a
// receiver's picture tells which layer it decoded.
type Layer struct {
	RID           string
	Width, Height int
	Color         codec.YUV
	// Clip, if set, is what the layer sends instead of pictures it
	// encodes itself: encoded pictures, as Options.VideoClip (the layer
	// then ignores Color; Width and Height should be the clip's).
	Clip [][]byte
}

// sendLayer is a layer being sent.
type sendLayer struct {
	Layer
	track       *webrtc.TrackLocalStaticRTP
	keyRequests atomic.Uint64
	stopped     atomic.Bool
	sent        atomic.Uint64
}

// addSimulcast adds the camera as the layers of Options.Simulcast, on
// one transceiver: the offer carries a=simulcast:send with their RIDs
// (pion's default interceptors register the MID and RID extensions).
func (p *Peer) addSimulcast() error {
	var sender *webrtc.RTPSender
	for i, l := range p.opts.Simulcast {
		if l.RID == "" || l.Width == 0 || l.Height == 0 {
			return errors.New("testpeer: a simulcast layer needs a RID and a size")
		}
		t, err := webrtc.NewTrackLocalStaticRTP(videoCapability(p.opts.Video), "video", "peer", webrtc.WithRTPStreamID(l.RID))
		if err != nil {
			return err
		}
		if i == 0 {
			if sender, err = p.addSendTrack(t); err != nil {
				return err
			}
		} else if err := sender.AddEncoding(t); err != nil {
			return err
		}
		p.layers = append(p.layers, &sendLayer{Layer: l, track: t})
	}
	p.simulcastSender = sender
	for _, l := range p.layers {
		go p.layerRTCP(sender, l)
	}
	return nil
}

// simulcastIDs are what each packet of a layer carries, as a browser's
// do, so that the receiver can tell the layers' streams apart (RFC 8852):
// the header extension IDs of the MID and the RID, and the MID.
func (p *Peer) simulcastIDs() (midID, ridID uint8, mid string) {
	for _, e := range p.simulcastSender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	for _, tr := range p.PC.GetTransceivers() {
		if tr.Sender() == p.simulcastSender {
			mid = tr.Mid()
		}
	}
	return midID, ridID, mid
}

// layerRTCP reads a layer's RTCP: keyframe requests for it, and REMB.
func (p *Peer) layerRTCP(s *webrtc.RTPSender, l *sendLayer) {
	for {
		pkts, _, err := s.ReadSimulcastRTCP(l.RID)
		if err != nil {
			return // the peer closed
		}
		for _, pk := range pkts {
			switch pk := pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				l.keyRequests.Add(1)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				p.video.remb(pk.Bitrate)
			}
		}
	}
}

// sendLayerVideo encodes and sends one layer's pictures at fps until the
// peer stops or the layer is stopped.
func (p *Peer) sendLayerVideo(l *sendLayer, fps int) {
	defer p.wg.Done()
	var (
		enc codec.VideoEncoder
		err error
	)
	bitrate := max(l.Width*l.Height*3, 100_000)
	switch {
	case len(l.Clip) > 0:
	case p.opts.Video == "h264":
		enc, err = h264.NewEncoder(h264.EncoderConfig{Width: l.Width, Height: l.Height, FPS: fps, Bitrate: bitrate})
	default:
		enc, err = vp8.NewEncoder(vp8.EncoderConfig{Width: l.Width, Height: l.Height, FPS: fps, Bitrate: bitrate})
	}
	if err != nil {
		return
	}
	if enc != nil {
		defer enc.Close()
	}
	next := clipCursor(l.Clip, p.opts.Video == "vp8")
	var payloader rtp.Payloader = &codecs.VP8Payloader{EnablePictureID: true}
	if p.opts.Video == "h264" {
		payloader = &codecs.H264Payloader{}
	}
	packetizer := rtp.NewPacketizer(1200, 96, 0, payloader, rtp.NewRandomSequencer(), 90000)
	midID, ridID, mid := p.simulcastIDs()
	frame := codec.NewFrame(l.Width, l.Height)
	frame.Fill(l.Color)
	p.everyFrame(fps, nil, &l.keyRequests, func(wantKey bool) bool {
		if l.stopped.Load() {
			return false
		}
		var data []byte
		if enc == nil {
			data = next(wantKey)
		} else {
			if kf, ok := enc.(codec.KeyframeForcer); ok && wantKey {
				kf.ForceKeyframe()
			}
			pkt, err := enc.Encode(frame)
			if err != nil || len(pkt.Data) == 0 {
				return true
			}
			data = pkt.Data
		}
		pkts := packetizer.Packetize(data, uint32(90000/fps))
		for _, rp := range pkts {
			if midID != 0 && ridID != 0 {
				_ = rp.Header.SetExtension(midID, []byte(mid))
				_ = rp.Header.SetExtension(ridID, []byte(l.RID))
			}
			_ = l.track.WriteRTP(rp)
		}
		l.sent.Add(1)
		return true
	})
}

// StopLayer stops sending the simulcast layer rid (as a browser does
// with its larger layers when its bandwidth falls); its stream stays
// negotiated.
func (p *Peer) StopLayer(rid string) {
	for _, l := range p.layers {
		if l.RID == rid {
			l.stopped.Store(true)
		}
	}
}

// LayerKeyRequests counts the keyframe requests layer rid received.
func (p *Peer) LayerKeyRequests(rid string) uint64 {
	for _, l := range p.layers {
		if l.RID == rid {
			return l.keyRequests.Load()
		}
	}
	return 0
}

// LastREMB returns the bitrate of the last RTCP REMB the peer's camera
// received (0: none) and when it arrived.
func (p *Peer) LastREMB() (bps float32, at time.Time) {
	p.video.rembMu.Lock()
	defer p.video.rembMu.Unlock()
	return p.video.rembBps, p.video.rembAt
}

// remb notes a REMB received about the camera.
func (v *videoState) remb(bps float32) {
	v.rembMu.Lock()
	v.rembBps, v.rembAt = bps, time.Now()
	v.rembMu.Unlock()
}

// clipCursor plays a clip of encoded pictures in a loop (H.264 access
// units, or VP8 frames when vp8Clip): each call returns the next one, or
// with key the next keyframe (a clip cannot make one on demand).
func clipCursor(clip [][]byte, vp8Clip bool) func(key bool) []byte {
	idr := make([]bool, len(clip))
	for i, au := range clip {
		if vp8Clip {
			idr[i] = len(au) > 2 && au[0]&1 == 0 // RFC 6386 frame tag: 0 is a key frame
		} else {
			idr[i] = h264.ContainsIDR(au)
		}
	}
	i := -1
	return func(key bool) []byte {
		i = (i + 1) % len(clip)
		if key {
			for j := range len(clip) {
				if n := (i + j) % len(clip); idr[n] {
					i = n
					break
				}
			}
		}
		return clip[i]
	}
}
