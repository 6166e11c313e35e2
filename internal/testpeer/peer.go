package testpeer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
)

// Options shape what a Peer sends.
type Options struct {
	// ToneHz is the frequency sent; 0 sends digital silence.
	ToneHz float64
	// Amplitude of the tone (0..1 of full scale); 0 means 0.25.
	Amplitude float64
	// NoLevel leaves out the RFC 6464 audio level header extension.
	NoLevel bool
	// ClaimLoudest puts level 0 (the loudest RFC 6464 can express) in
	// every packet's audio level extension, whatever the packet carries:
	// a sender that lies to take a talker slot.
	ClaimLoudest bool
	// LossRate drops this fraction of outgoing packets at random.
	LossRate float64
	// Garbage sends random bytes instead of Opus payloads.
	Garbage bool
	// Silent sends nothing at all (a receive-only participant that still
	// offers sendrecv).
	Silent bool
	// TCP restricts the peer to ICE over TCP (active candidates).
	TCP bool

	// Video is the video codec ("vp8" or "h264"); empty: no video.
	Video string
	// VideoColor fills the picture sent (default mid grey).
	VideoColor codec.YUV
	// VideoColor2, if set, alternates with VideoColor every half second
	// (a picture that visibly keeps changing).
	VideoColor2 codec.YUV
	// VideoWidth and VideoHeight of the picture sent (default 320x180).
	VideoWidth, VideoHeight int
	// VideoFPS of the picture sent (default 15).
	VideoFPS int
	// VideoCounter draws the frame number as a pixel pattern (see
	// DrawCounter) for latency measurements.
	VideoCounter bool
	// VideoNoise adds uniform noise of up to ±VideoNoise to every luma
	// sample sent: grainy content, whose frames fill the bitrate and take
	// several packets each (a flat picture's take one).
	VideoNoise int
	// VideoClip, if set, is what the camera sends instead of pictures it
	// encodes itself, played at VideoFPS in a loop: Annex-B access units
	// for H.264 (see h264.SplitAccessUnits; the first should hold an IDR
	// picture with its parameter sets), VP8 frames for VP8 (the first a
	// key frame; see ReadIVF).
	VideoClip [][]byte
	// Simulcast, if set, sends the camera as these layers, each its own
	// RTP stream (a=simulcast:send with a=rid lines in the offer), in
	// place of one stream of VideoWidth x VideoHeight; VideoFPS applies.
	Simulcast []Layer
	// VideoGarbage sends random bytes as video frames.
	VideoGarbage bool
	// RecvOnly makes a viewer: audio and video (if Video is set, in that
	// codec) are received only; nothing is sent.
	RecvOnly bool
	// SendOnly makes a contributor that receives nothing (no mix, no
	// composite to decode).
	SendOnly bool
	// NoDecode receives the composite and assembles its frames (they
	// count in VideoStats) without decoding them, and counts and times
	// the audio packets (Arrivals) without decoding or recording them: a
	// load generator's many participants cost it little, and the
	// server's work is the same. VideoFrame stays nil and nothing is
	// heard.
	NoDecode bool
	// Flash sends, at every whole second of one clock, white video frames
	// for two frame intervals (black otherwise) and a 100 ms 1 kHz beep
	// (silence otherwise): a lip-sync test signal.
	Flash bool
	// WatchSync looks for a Flash sender's flashes (the middle of the
	// composite turning white) and beeps in what the peer receives, for
	// LipSync.
	WatchSync bool
	// Relay, if set, carries all of the peer's media: the offer names the
	// relay's server side as the peer's only candidate, and the answer's
	// first UDP candidate becomes the relay's server and is replaced by
	// the relay's client side, so that the peer and the server reach each
	// other only through it. The caller owns the relay (and closes it
	// after the peer). Trickled candidates are not supported.
	Relay *Relay
}

// Peer is one test client.
type Peer struct {
	PC   *webrtc.PeerConnection
	opts Options

	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	stop   chan struct{}
	wg     sync.WaitGroup

	connected chan struct{}
	connOnce  sync.Once
	epoch     time.Time // the Flash clock's origin

	video  videoState
	layers []*sendLayer // Options.Simulcast's
	// simulcastSender sends the layers.
	simulcastSender *webrtc.RTPSender
	sync            syncState

	mu       sync.Mutex
	pcm      []int16   // everything decoded, in arrival order
	arrivals []Arrival // one per received packet
	// Stream continuity of what arrives.
	ssrcs    map[uint32]int
	seqJumps int
	tsJumps  int
	toneOff  atomic.Bool
	// packetDur is the duration of the Opus packets sent (nanoseconds;
	// 0: 20 ms).
	packetDur atomic.Int64
}

func newAPI(levelExt, tcp bool, video string) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if video != "" {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: videoCapability(video), PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	if levelExt {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	if tcp {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// New creates a peer with one sendrecv audio transceiver.
func New(opts Options) (*Peer, error) {
	if opts.Amplitude == 0 {
		opts.Amplitude = 0.25
	}
	api, err := newAPI(!opts.NoLevel, opts.TCP, opts.Video)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &Peer{PC: pc, opts: opts, stop: make(chan struct{}), connected: make(chan struct{})}
	if opts.RecvOnly {
		opts.Silent = true
		p.opts.Silent = true
		recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
			pc.Close()
			return nil, err
		}
		if opts.Video != "" {
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
				pc.Close()
				return nil, err
			}
		}
	} else {
		p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "peer")
		if err != nil {
			pc.Close()
			return nil, err
		}
		if p.sender, err = p.addSendTrack(p.track); err != nil {
			pc.Close()
			return nil, err
		}
		go drainRTCP(p.sender)
		if opts.Video != "" && len(opts.Simulcast) > 0 {
			if err := p.addSimulcast(); err != nil {
				pc.Close()
				return nil, err
			}
		} else if opts.Video != "" {
			if err := p.addVideo(); err != nil {
				pc.Close()
				return nil, err
			}
		}
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.connOnce.Do(func() { close(p.connected) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		p.wg.Add(1)
		defer p.wg.Done()
		go p.readReports(t.Kind(), recv)
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			p.receiveVideo(t)
			return
		}
		p.receive(t)
	})
	return p, nil
}

// addSendTrack adds a track to send: sendrecv, or sendonly for a
// SendOnly peer.
func (p *Peer) addSendTrack(t webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	if !p.opts.SendOnly {
		return p.PC.AddTrack(t)
	}
	tr, err := p.PC.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	return tr.Sender(), nil
}

// Offer creates the peer's offer with its candidates in it.
func (p *Peer) Offer() (string, error) {
	offer, err := p.PC.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	done := webrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(offer); err != nil {
		return "", err
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		return "", errors.New("testpeer: ICE gathering timed out")
	}
	desc := p.PC.LocalDescription().SDP
	if r := p.opts.Relay; r != nil {
		desc, _ = viaRelay(desc, r.ServerSide())
	}
	return desc, nil
}

// Accept applies the server's answer and starts sending.
func (p *Peer) Accept(answer string) error {
	if r := p.opts.Relay; r != nil {
		var server *net.UDPAddr
		if answer, server = viaRelay(answer, r.ClientSide()); server == nil {
			return errors.New("testpeer: the answer has no UDP candidate to relay to")
		}
		r.SetServer(server)
	}
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	p.epoch = time.Now()
	if !p.opts.Silent {
		p.wg.Add(1)
		go p.send()
	}
	if p.video.track != nil {
		p.wg.Add(1)
		go p.sendVideo()
	}
	fps := p.opts.VideoFPS
	if fps == 0 {
		fps = 15
	}
	for _, l := range p.layers {
		p.wg.Add(1)
		go p.sendLayerVideo(l, fps)
	}
	return nil
}

// WaitConnected waits for ICE and DTLS.
func (p *Peer) WaitConnected(d time.Duration) error {
	select {
	case <-p.connected:
		return nil
	case <-time.After(d):
		return fmt.Errorf("testpeer: not connected after %v (state %s)", d, p.PC.ConnectionState())
	}
}

func (p *Peer) levelExtID() uint8 {
	for _, e := range p.sender.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// SetPacketDuration makes the peer send Opus packets of d (2.5 to 120 ms,
// as RFC 6716 allows) from the next packet on.
func (p *Peer) SetPacketDuration(d time.Duration) { p.packetDur.Store(int64(d)) }

// packetEncoder returns an encoder for the packet duration asked for,
// replacing enc when the duration changed.
func (p *Peer) packetEncoder(enc *opus.Encoder) (*opus.Encoder, error) {
	d := time.Duration(p.packetDur.Load())
	if d == 0 {
		d = 20 * time.Millisecond
	}
	if enc != nil && enc.FrameSamples() == int(d.Seconds()*48000) {
		return enc, nil
	}
	next, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: 48000, Channels: 1, Bitrate: 32000, InbandFEC: true,
		PacketLossPercent: 10, FrameDuration: d})
	if err != nil {
		return enc, err
	}
	if enc != nil {
		enc.Close()
	}
	return next, nil
}

func (p *Peer) send() {
	defer p.wg.Done()
	enc, err := p.packetEncoder(nil)
	if err != nil {
		return
	}
	defer func() { enc.Close() }()
	extID := p.levelExtID()
	if p.opts.NoLevel {
		extID = 0
	}
	pcm := make([]int16, mixer.FrameSamples)
	// pending: the source's samples not yet sent (packets of other than
	// 20 ms take several frames, or a part of one).
	pending := make([]int16, 0, opus.MaxFrameSamples+mixer.FrameSamples)
	buf := make([]byte, opus.MaxPacketBytes)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seq := uint16(rng.Uint32())
	ts := rng.Uint32()
	var n int
	// The source's clock: frame k holds the 20 ms that start k frames after
	// the epoch and goes out when they start (the sound is synthetic, known
	// ahead, like a file played out). A sender held up (a busy machine)
	// sends what it owes in a burst, as a capture device's buffer would;
	// one held up for longer than the device buffers loses the oldest audio
	// (a jump of the RTP timestamp). Content never slips against the
	// clock, so a flash and its beep stay together at the source.
	const frame = 20 * time.Millisecond
	const deviceFrames = 10
	next := int64(time.Since(p.epoch) / frame)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		t.Reset(time.Until(p.epoch.Add(time.Duration(next+1) * frame)))
		due := int64(time.Since(p.epoch)/frame) + 1
		if behind := due - next; behind > deviceFrames {
			ts += uint32(behind-deviceFrames) * mixer.FrameSamples
			next = due - deviceFrames
		}
		for ; next < due; next++ {
			switch {
			case p.opts.Flash:
				flashBeep(pcm, time.Duration(next)*frame)
			case p.opts.ToneHz > 0 && !p.toneOff.Load():
				n = codectest.Tone(pcm, 1, 48000, p.opts.ToneHz, p.opts.Amplitude, n)
			default:
				clear(pcm)
			}
			pending = append(pending, pcm...)
			for {
				if enc, err = p.packetEncoder(enc); err != nil {
					return
				}
				size := enc.FrameSamples()
				if len(pending) < size {
					break
				}
				packet := pending[:size]
				n, err := enc.Encode(packet, buf)
				if err != nil {
					return
				}
				payload := append([]byte(nil), buf[:n]...)
				if p.opts.Garbage {
					payload = make([]byte, 20+rng.IntN(100))
					for i := range payload {
						payload[i] = byte(rng.Uint32())
					}
				}
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
				seq++
				ts += uint32(size)
				if extID != 0 {
					level := mixer.LevelOfPCM(packet)
					if p.opts.ClaimLoudest {
						level = 0
					}
					lvl, _ := (rtp.AudioLevelExtension{Level: uint8(level), Voice: level < 60}).Marshal()
					_ = pkt.SetExtension(extID, lvl)
				}
				pending = pending[:copy(pending, pending[size:])]
				if p.opts.LossRate > 0 && rng.Float64() < p.opts.LossRate {
					continue
				}
				_ = p.track.WriteRTP(pkt)
			}
		}
	}
}

func (p *Peer) receive(t *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		return
	}
	defer dec.Close()
	pcm := make([]int16, opus.MaxFrameSamples)
	var lastSeq uint16
	var lastTS uint32
	first := true
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		p.mu.Lock()
		if p.ssrcs == nil {
			p.ssrcs = make(map[uint32]int)
		}
		p.ssrcs[pkt.SSRC]++
		if !first {
			if pkt.SequenceNumber != lastSeq+1 {
				p.seqJumps++
			} else if pkt.Timestamp-lastTS != mixer.FrameSamples {
				p.tsJumps++
			}
		}
		lastTS = pkt.Timestamp
		p.arrivals = append(p.arrivals, Arrival{At: now, Seq: pkt.SequenceNumber, TS: pkt.Timestamp})
		p.mu.Unlock()
		if p.opts.NoDecode {
			first, lastSeq = false, pkt.SequenceNumber
			continue
		}
		// Conceal what was lost so the recording keeps its timeline.
		if !first {
			for gap := pkt.SequenceNumber - lastSeq - 1; gap > 0 && gap < 50; gap-- {
				if n, err := dec.Conceal(pcm, mixer.FrameSamples); err == nil {
					p.appendPCM(pcm[:n])
				}
			}
		}
		first, lastSeq = false, pkt.SequenceNumber
		n, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			continue
		}
		p.appendPCM(pcm[:n])
		p.audioPacket(pcm[:n], pkt.Timestamp)
	}
}

func (p *Peer) appendPCM(pcm []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pcm = append(p.pcm, pcm...)
}

// Arrival is one received audio packet.
type Arrival struct {
	At  time.Time
	Seq uint16
	TS  uint32
}

// Mark returns the current length of the recording, to measure from later.
func (p *Peer) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pcm)
}

// Since returns the audio decoded after a Mark.
func (p *Peer) Since(mark int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.pcm[min(mark, len(p.pcm)):]...)
}

// Last returns the last d of decoded audio.
func (p *Peer) Last(d time.Duration) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(d.Seconds() * 48000)
	return append([]int16(nil), p.pcm[max(0, len(p.pcm)-n):]...)
}

// Level is the amplitude of freq in the last d of received audio: the
// median over 100 ms windows, so that a phase jump (a concealed or skipped
// frame) or a short gap does not cancel the tone out as it would in one
// long window. Use frequencies with whole cycles in 100 ms.
func (p *Peer) Level(freq float64, d time.Duration) float64 {
	return codectest.MedianLevel(p.Last(d), 48000, freq, 4800)
}

// ArrivalsSince returns the packets that arrived after t.
func (p *Peer) ArrivalsSince(t time.Time) []Arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Arrival
	for _, a := range p.arrivals {
		if a.At.After(t) {
			out = append(out, a)
		}
	}
	return out
}

// StopSending stops the outgoing tone (the track stays).
func (p *Peer) StopSending() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
}

// Close ends the peer and waits for its goroutines.
func (p *Peer) Close() error {
	p.StopSending()
	err := p.PC.Close()
	p.wg.Wait()
	return err
}

// SetTone turns the outgoing tone on or off (off sends digital silence,
// with a silent audio level).
func (p *Peer) SetTone(on bool) { p.toneOff.Store(!on) }

// Continuity reports how the received stream hung together: the number of
// distinct SSRCs, sequence number jumps and timestamp jumps between
// consecutive packets.
func (p *Peer) Continuity() (ssrcs, seqJumps, tsJumps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ssrcs), p.seqJumps, p.tsJumps
}

// OfferTrickle creates an offer without waiting for ICE gathering: the
// candidates come afterwards on the returned channel, which closes when
// gathering is complete.
func (p *Peer) OfferTrickle() (string, <-chan webrtc.ICECandidateInit, error) {
	if p.opts.Relay != nil {
		return "", nil, errors.New("testpeer: a peer behind a relay offers its candidates in the offer (Offer)")
	}
	cands := make(chan webrtc.ICECandidateInit, 16)
	p.PC.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(cands)
			return
		}
		cands <- c.ToJSON()
	})
	offer, err := p.PC.CreateOffer(nil)
	if err != nil {
		return "", nil, err
	}
	if err := p.PC.SetLocalDescription(offer); err != nil {
		return "", nil, err
	}
	return offer.SDP, cands, nil
}

func drainRTCP(s *webrtc.RTPSender) {
	for {
		if _, _, err := s.ReadRTCP(); err != nil {
			return
		}
	}
}

// flashBeep fills a 20 ms frame that starts at elapsed on the Flash clock:
// a 1 kHz beep at 0.5 of full scale during the first 100 ms of every
// second, silence otherwise, sample-accurate.
func flashBeep(pcm []int16, elapsed time.Duration) {
	start := int(elapsed.Seconds() * 48000)
	for i := range pcm {
		s := start + i
		if s%48000 < 4800 {
			pcm[i] = int16(0.5 * 32767 * math.Sin(2*math.Pi*1000*float64(s)/48000))
		} else {
			pcm[i] = 0
		}
	}
}
