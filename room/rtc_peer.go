package room

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Offer takes a participant's SDP offer and returns Tessera's answer, with
// Tessera's ICE candidates in it (the client may still trickle its own).
// Audio and video each follow the offer's direction: a sendrecv m-line
// sends the participant's voice and camera and receives the mix and the
// composite; a recvonly one only receives (a viewer). A second offer
// renegotiates the same PeerConnection.
func (r *Room) Offer(ctx context.Context, id ParticipantID, offer string) (string, error) {
	info, err := r.checkOffer(offer)
	if err != nil {
		return "", err
	}
	var (
		existing *webrtc.PeerConnection
		prefer   string
	)
	if err := r.withParticipant(ctx, id, func(p *Participant) error {
		existing, prefer = p.pc.Load(), p.preferCodec
		if existing != nil {
			if n := p.cands.afterOffer(info.ufrag, info.candidates); n > MaxRemoteCandidates {
				return fmt.Errorf("%w: %w: the media session would hold %d ICE candidates (at most %d)",
					ErrInvalidSDP, ErrTooManyCandidates, n, MaxRemoteCandidates)
			}
		}
		return nil
	}); err != nil {
		return "", err
	}
	if existing != nil {
		sdpAnswer, err := answer(ctx, existing, offer)
		if err != nil {
			return "", err
		}
		// Counted once applied: an offer that failed may have left the
		// agent's candidates (and credentials) as they were.
		err = r.withParticipant(context.WithoutCancel(ctx), id, func(p *Participant) error {
			if p.pc.Load() == existing {
				p.cands.applyOffer(info.ufrag, info.candidates)
			}
			return nil
		})
		return sdpAnswer, err
	}

	pc, est, err := r.engine.newPeerConnection()
	if err != nil {
		return "", fmt.Errorf("create peer connection: %w", err)
	}
	m, err := r.setupPeer(id, pc, info, prefer)
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	sdpAnswer, err := answer(ctx, pc, offer)
	if err != nil {
		m.close()
		_ = pc.Close()
		return "", err
	}
	if err := r.withParticipant(ctx, id, func(p *Participant) error {
		if !p.pc.CompareAndSwap(nil, pc) {
			return ErrAlreadyNegotiated
		}
		p.out, p.vout, p.vcodec, p.est, p.link = m.audio, m.video, m.vcodec, est, m.link
		p.cands.reset(info.ufrag, info.candidates)
		p.watchOnly = !info.audio.sends() && !info.video.sends()
		if p.vout != nil {
			r.addViewer(p, outputKey{codec: m.vcodec, tier: p.tier.Floor})
		}
		return nil
	}); err != nil {
		m.close()
		_ = pc.Close()
		return "", err
	}
	return sdpAnswer, nil
}

// CheckOffer tells whether Offer could take this SDP offer in this room
// (it parses, and has media the room carries), without applying it: a
// client that joins with an offer learns of a bad one before it joins.
func (r *Room) CheckOffer(offer string) error {
	_, err := r.checkOffer(offer)
	return err
}

func (r *Room) checkOffer(offer string) (offerInfo, error) {
	info, err := parseOffer(offer)
	if err != nil {
		return info, err
	}
	if r.video == nil {
		info.video = nil
		if info.audio == nil {
			return info, fmt.Errorf("%w: the room is audio-only and the offer has no audio", ErrNoMedia)
		}
	}
	return info, nil
}

// peerMedia is what setupPeer attached to a PeerConnection.
type peerMedia struct {
	audio, video *egress
	vcodec       string
	link         *peerLink
}

func (m peerMedia) close() {
	if m.audio != nil {
		m.audio.close()
	}
	if m.video != nil {
		m.video.close()
	}
}

// setupPeer adds the outgoing tracks and the callbacks to a fresh
// PeerConnection, before the offer is applied, so that the answer reuses
// the offer's m-lines.
func (r *Room) setupPeer(id ParticipantID, pc *webrtc.PeerConnection, info offerInfo, prefer string) (peerMedia, error) {
	m := peerMedia{link: &peerLink{r: r, id: id}}
	link := m.link
	stream := fmt.Sprintf("tessera-%d", r.id)
	if a := info.audio; a != nil {
		if a.receives() {
			track, err := webrtc.NewTrackLocalStaticSample(
				webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
			if err != nil {
				return m, err
			}
			if m.audio, err = r.addTrack(pc, track, a.answerDirection(), egressQueueLen, nil); err != nil {
				return m, err
			}
		} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return m, err
		}
	}
	if v := info.video; v != nil {
		m.vcodec = chooseVideoCodec(v, prefer)
		if v.receives() {
			track, err := webrtc.NewTrackLocalStaticSample(videoCapability(m.vcodec), "video", stream)
			if err != nil {
				m.close()
				return m, err
			}
			onPLI := link.keyframeRequests()
			if m.video, err = r.addTrack(pc, track, v.answerDirection(), videoQueueLen, onPLI); err != nil {
				m.close()
				return m, err
			}
		} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			m.close()
			return m, err
		}
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		r, id := link.get()
		switch remote.Kind() {
		case webrtc.RTPCodecTypeAudio:
			r.readAudio(id, pc, remote, recv)
		case webrtc.RTPCodecTypeVideo:
			r.readVideo(id, pc, remote)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		r, id := link.get()
		r.post(func() { r.peerState(id, pc, s) })
	})
	return m, nil
}

// peerLink tells a PeerConnection's callbacks which room and participant
// it serves now: a participant that changes rooms takes its connection
// along (see Move).
type peerLink struct {
	mu sync.Mutex
	r  *Room
	id ParticipantID
}

func (l *peerLink) get() (*Room, ParticipantID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r, l.id
}

func (l *peerLink) set(r *Room, id ParticipantID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r, l.id = r, id
}

// keyframeRequests returns the handler of one viewer's PLIs and FIRs. A
// flood of them (a hostile or broken client) costs one queued command at a
// time: requests arriving while one waits for the tick are folded into it.
func (l *peerLink) keyframeRequests() func() {
	var pending atomic.Uint64
	return func() {
		if pending.Add(1) == 1 {
			r, id := l.get()
			r.post(func() { r.viewerWantsKeyframe(id, pending.Swap(0)) })
		}
	}
}

func (r *Room) readAudio(id ParticipantID, pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	in, err := newAudioInput()
	if err != nil {
		r.log.Error("cannot create audio input", "participant", id, "err", err)
		return
	}
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.pc.Load() != pc {
			in.close() // left, or hung up, meanwhile
			return
		}
		// A renegotiation that brings a new track replaces the old one,
		// whose reader ends with its track.
		if p.in != nil {
			p.in.close()
		}
		p.in = in
	})
	defer r.readerPanic(id, "audio")
	in.read(remote, audioLevelExtID(recv))
}

// readerPanic, deferred by a track's reader, recovers a panic in it: the
// track is no longer read (the input goes quiet), and the room and the
// process go on.
func (r *Room) readerPanic(id ParticipantID, media string) {
	if v := recover(); v != nil {
		recovered(v, &panics.reader, r.log, "track reader panicked; its input stops", "participant", id, "media", media)
	}
}

func (r *Room) readVideo(id ParticipantID, pc *webrtc.PeerConnection, remote *webrtc.TrackRemote) {
	if r.video == nil || r.decode == nil {
		return
	}
	name := CodecVP8
	if strings.EqualFold(remote.Codec().MimeType, webrtc.MimeTypeH264) {
		name = CodecH264
	}
	w := r.decode.bind()
	defer r.decode.unbind(w)
	in := newVideoInput(name, w, rtcpFeedback{pc: pc, ssrc: uint32(remote.SSRC())}, r.log.With("participant", id))
	registered := make(chan bool, 1)
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.pc.Load() != pc {
			registered <- false
			return
		}
		if old := p.vin; old != nil {
			go old.close() // waits for a decode in flight: not on the tick
		}
		p.vin = in
		registered <- true
	})
	select {
	case ok := <-registered:
		if !ok {
			in.close()
			return
		}
	case <-r.done:
		in.close()
		return
	}
	defer r.readerPanic(id, "video")
	in.read(remote)
}

// addTrack attaches an outgoing track on a transceiver of the offer's
// direction and starts its sender's RTCP reader.
func (r *Room) addTrack(pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticSample, dir webrtc.RTPTransceiverDirection, queue int, onPLI func()) (*egress, error) {
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: dir})
	if err != nil {
		return nil, err
	}
	e := newEgress(track, queue)
	go readRTCP(tr.Sender(), onPLI, e)
	return e, nil
}

// readRTCP reads a sender's RTCP so the interceptors (NACK responder,
// reports, congestion control) see it, reports keyframe requests (PLI,
// FIR) to onPLI, and keeps the receiver's count of lost packets (RFC 3550
// receiver reports) on e.
func readRTCP(s *webrtc.RTPSender, onPLI func(), e *egress) {
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
				e.report(p.Reports, s)
			case *rtcp.SenderReport:
				// A participant that also sends reports its reception here.
				e.report(p.Reports, s)
			}
		}
	}
}

func (r *Room) peerState(id ParticipantID, pc *webrtc.PeerConnection, s webrtc.PeerConnectionState) {
	p := r.parts[id]
	if p == nil || p.pc.Load() != pc {
		return
	}
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if !p.setup {
			p.setup = true
			if o := r.viewerOutput(p); o != nil {
				// Whatever was sent before the connection was up never
				// left: the viewer starts on a fresh keyframe.
				p.vready = false
				o.requestKeyframe(keyframeNewViewer)
			}
			r.log.Info("media connected", "participant", id)
			r.publish(Event{Kind: EventMediaUp, Participant: id, Info: p.info()})
			r.publish(Event{Kind: EventUpdated, Participant: id, Info: p.info()})
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		reason := "closed"
		if s == webrtc.PeerConnectionStateFailed {
			reason = "ice-failed"
		}
		p.setup = false
		r.log.Info("media ended", "participant", id, "reason", reason)
		r.publish(Event{Kind: EventHangup, Participant: id, Info: p.info(), Reason: reason})
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

// report keeps the receiver's loss count for this egress's stream from a
// compound packet's report blocks (blocks about other streams are left).
func (e *egress) report(blocks []rtcp.ReceptionReport, s *webrtc.RTPSender) {
	ssrc := e.ssrc.Load()
	if ssrc == 0 {
		if enc := s.GetParameters().Encodings; len(enc) > 0 {
			ssrc = uint32(enc[0].SSRC)
			e.ssrc.Store(ssrc)
		}
	}
	for _, b := range blocks {
		if b.SSRC == ssrc {
			e.reportedLost.Store(b.TotalLost)
		}
	}
}
