package rtc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Member is the room participant a WebRTC connection is set up for: what
// the connection needs of the room (a room's Member method gives one).
type Member interface {
	// Connection is the participant's media connection (nil: none yet).
	Connection(ctx context.Context) (endpoint.Connection, error)
	// VideoPreference is the composite codec the participant asked for
	// ("": none) and whether the room has video at all.
	VideoPreference(ctx context.Context) (codec string, hasVideo bool, err error)
	// NewLink makes the Link the connection reports through.
	NewLink() endpoint.Link
	// Attach gives the participant its connection.
	Attach(ctx context.Context, conn endpoint.Connection, m endpoint.Media) error
	// Stream names the media streams the room sends (the SDP msid).
	Stream() string
}

// peerConn is a participant's PeerConnection.
type peerConn struct {
	pc  *webrtc.PeerConnection
	est cc.BandwidthEstimator

	mu sync.Mutex
	// cands: the client's ICE candidates pc has taken.
	cands remoteCandidates
}

var _ endpoint.Connection = (*peerConn)(nil)

func (c *peerConn) TargetBitrate() int {
	if c.est == nil {
		return 0
	}
	return c.est.GetTargetBitrate()
}

func (c *peerConn) Close() error {
	if err := c.pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		return err
	}
	return nil
}

// Answer is Tessera's answer to an offer.
type Answer struct {
	SDP string
	// Mids maps each medium of the offer ("audio", "video") to its
	// m-line's mid, which events about that medium name.
	Mids map[string]string
}

// Offer takes a participant's SDP offer and returns Tessera's answer, with
// Tessera's ICE candidates in it (the client may still trickle its own).
// Audio and video each follow the offer's direction: a sendrecv m-line
// sends the participant's voice and camera and receives the mix and the
// composite; a recvonly one only receives (a viewer). A second offer
// renegotiates the same PeerConnection.
func (e *Engine) Offer(ctx context.Context, m Member, offer string) (Answer, error) {
	sdpAnswer, mids, err := e.offer(ctx, m, offer)
	return Answer{SDP: sdpAnswer, Mids: mids}, err
}

func (e *Engine) offer(ctx context.Context, m Member, offer string) (string, map[string]string, error) {
	prefer, hasVideo, err := m.VideoPreference(ctx)
	if err != nil {
		return "", nil, err
	}
	info, err := CheckOffer(offer, hasVideo)
	if err != nil {
		return "", nil, err
	}
	conn, err := m.Connection(ctx)
	if err != nil {
		return "", nil, err
	}
	if conn != nil {
		existing, ok := conn.(*peerConn)
		if !ok {
			return "", nil, ErrNotWebRTC
		}
		sdpAnswer, err := existing.renegotiate(ctx, offer, info)
		return sdpAnswer, info.mids, err
	}
	pc, est, err := e.newPeerConnection()
	if err != nil {
		return "", nil, fmt.Errorf("create peer connection: %w", err)
	}
	c := &peerConn{pc: pc, est: est}
	link := m.NewLink()
	pm, err := c.setup(link, info, prefer, m.Stream())
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	sdpAnswer, err := answer(ctx, pc, offer)
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	c.cands.reset(info.ufrag, info.candidates)
	if err := m.Attach(ctx, c, endpoint.Media{Audio: pm.audio, Video: pm.video, VideoCodec: pm.vcodec,
		Sends: info.audio.sends() || info.video.sends(), Link: link, Kind: endpoint.KindWebRTC}); err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	return sdpAnswer, info.mids, nil
}

// renegotiate answers a new offer on an established PeerConnection.
func (c *peerConn) renegotiate(ctx context.Context, offer string, info offerInfo) (string, error) {
	c.mu.Lock()
	n := c.cands.afterOffer(info.ufrag, info.candidates)
	c.mu.Unlock()
	if n > MaxRemoteCandidates {
		return "", fmt.Errorf("%w: %w: the media session would hold %d ICE candidates (at most %d)",
			ErrInvalidSDP, ErrTooManyCandidates, n, MaxRemoteCandidates)
	}
	sdpAnswer, err := answer(ctx, c.pc, offer)
	if err != nil {
		return "", err
	}
	// Counted once applied: an offer that failed may have left the
	// agent's candidates (and credentials) as they were.
	c.mu.Lock()
	c.cands.applyOffer(info.ufrag, info.candidates)
	c.mu.Unlock()
	return sdpAnswer, nil
}

// CheckOffer tells whether an SDP offer could be taken by a room (with
// video or audio-only): it parses, and has media the room carries. A
// client that joins with an offer learns of a bad one before it joins.
func CheckOffer(offer string, hasVideo bool) (offerInfo, error) {
	info, err := parseOffer(offer)
	if err != nil {
		return info, err
	}
	if !hasVideo {
		info.video = nil
		if info.audio == nil {
			return info, fmt.Errorf("%w: the room is audio-only and the offer has no audio", ErrNoMedia)
		}
	}
	return info, nil
}

// peerMedia is what setup attached to a PeerConnection: where the mix
// and the composite go (nil: not sent), and the composite's codec.
type peerMedia struct {
	audio, video endpoint.FrameWriter
	vcodec       string
}

// setup adds the outgoing tracks and the callbacks to a fresh
// PeerConnection, before the offer is applied, so that the answer reuses
// the offer's m-lines.
func (c *peerConn) setup(link endpoint.Link, info offerInfo, prefer, stream string) (peerMedia, error) {
	var m peerMedia
	pc := c.pc
	if a := info.audio; a != nil {
		if a.receives() {
			track, err := webrtc.NewTrackLocalStaticSample(
				webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
			if err != nil {
				return m, err
			}
			if err = addTrack(pc, track, a.answerDirection(), nil, func(n uint32) { link.ReportLost(false, n) }); err != nil {
				return m, err
			}
			m.audio = trackWriter{track}
		} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return m, err
		}
	}
	if v := info.video; v != nil {
		m.vcodec = chooseVideoCodec(v, prefer)
		if v.receives() {
			track, err := webrtc.NewTrackLocalStaticRTP(videoCapability(m.vcodec), "video", stream)
			if err != nil {
				return m, err
			}
			if err = addTrack(pc, track, v.answerDirection(), link.RequestKeyframe, func(n uint32) { link.ReportLost(true, n) }); err != nil {
				return m, err
			}
			m.video = newVideoWriter(track, endpoint.NewPayloader(m.vcodec))
		} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return m, err
		}
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		src := trackReader{remote}
		switch remote.Kind() {
		case webrtc.RTPCodecTypeAudio:
			link.ReadAudio(c, src, audioLevelExtID(recv))
		case webrtc.RTPCodecTypeVideo:
			name := endpoint.CodecVP8
			if strings.EqualFold(remote.Codec().MimeType, webrtc.MimeTypeH264) {
				name = endpoint.CodecH264
			}
			// A simulcast layer (RID set) has its own SSRC: keyframe
			// requests go to that layer.
			fb := rtcpFeedback{pc: pc, ssrc: uint32(remote.SSRC())}
			if rid := remote.RID(); rid != "" {
				link.ReadVideoLayer(c, src, name, rid, fb)
				return
			}
			link.ReadVideo(c, src, name, fb)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			link.State(c, endpoint.ConnUp)
		case webrtc.PeerConnectionStateFailed:
			link.State(c, endpoint.ConnFailed)
		case webrtc.PeerConnectionStateClosed:
			link.State(c, endpoint.ConnClosed)
		}
	})
	return m, nil
}

// trackReader reads an incoming track's RTP.
type trackReader struct{ t *webrtc.TrackRemote }

func (r trackReader) ReadRTP() (*rtp.Packet, error) {
	p, _, err := r.t.ReadRTP()
	return p, err
}

// trackWriter sends frames on an outgoing track; pion packetizes them.
type trackWriter struct {
	t *webrtc.TrackLocalStaticSample
}

func (w trackWriter) WriteFrame(f endpoint.Frame) error {
	return w.t.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration, PrevDroppedPackets: f.Skipped})
}

// addTrack attaches an outgoing track on a transceiver of the offer's
// direction and starts its sender's RTCP reader.
func addTrack(pc *webrtc.PeerConnection, track webrtc.TrackLocal, dir webrtc.RTPTransceiverDirection,
	onPLI func(), onLost func(uint32)) error {
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: dir})
	if err != nil {
		return err
	}
	go readRTCP(tr.Sender(), onPLI, onLost)
	return nil
}

// readRTCP reads a sender's RTCP so the interceptors (NACK responder,
// reports, congestion control) see it, reports keyframe requests (PLI,
// FIR) to onPLI, and passes the receiver's count of lost packets (RFC 3550
// receiver reports) to onLost. It ends with the PeerConnection.
func readRTCP(s *webrtc.RTPSender, onPLI func(), onLost func(uint32)) {
	var ssrc uint32
	report := func(blocks []rtcp.ReceptionReport) {
		if ssrc == 0 {
			if enc := s.GetParameters().Encodings; len(enc) > 0 {
				ssrc = uint32(enc[0].SSRC)
			}
		}
		// A compound packet's blocks about other streams are left.
		for _, b := range blocks {
			if b.SSRC == ssrc {
				onLost(b.TotalLost)
			}
		}
	}
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if onPLI != nil {
					onPLI()
				}
			case *rtcp.ReceiverReport:
				report(p.Reports)
			case *rtcp.SenderReport:
				// A participant that also sends reports its reception here.
				report(p.Reports)
			}
		}
	}
}

// answer applies an offer and returns the complete answer once ICE
// gathering (instant on the muxed port) has finished.
func answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAnswer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// audioLevelExtID finds the negotiated ID of the RFC 6464 header extension
// on a receiver (0 if the sender did not agree to it).
func audioLevelExtID(r *webrtc.RTPReceiver) uint8 {
	for _, ext := range r.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			return uint8(ext.ID)
		}
	}
	return 0
}

// rtcpFeedback talks back to the sender of a track over RTCP.
type rtcpFeedback struct {
	pc   *webrtc.PeerConnection
	ssrc uint32
}

var _ endpoint.SenderFeedback = rtcpFeedback{}

func (f rtcpFeedback) RequestKeyframe() error {
	return f.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: f.ssrc}})
}

func (f rtcpFeedback) LimitBitrate(bps uint64) error {
	return f.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bps), SSRCs: []uint32{f.ssrc}}})
}
