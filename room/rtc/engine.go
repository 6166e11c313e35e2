package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// EngineConfig configures the process-wide WebRTC stack.
type EngineConfig struct {
	// BindIP is the address the media port listens on. Default 0.0.0.0.
	BindIP string
	// UDPPort is the one UDP port every peer's media uses (ICE UDP mux).
	// ICE-TCP listens on the same port number. 0 picks a free port.
	UDPPort int
	// DisableTCP turns ICE-TCP off.
	DisableTCP bool
	// PublicIPs replace the host candidates' addresses (1:1 NAT, e.g. a
	// cloud instance's public address).
	PublicIPs []string
	// ExcludeLoopback leaves 127.0.0.1 and ::1 out of the candidates.
	// Loopback candidates are included by default so that a browser on the
	// same machine connects.
	ExcludeLoopback bool
	// InitialBitrate seeds each peer's send-side bandwidth estimator (bps).
	// Default 2.5 Mbps, enough for the top video tier: viewers start there
	// and move down only when the estimate says so.
	InitialBitrate int
	// SocketBuffer is the receive and send buffer, in bytes, asked for the
	// media port (0: DefaultSocketBuffer; negative: the kernel's default).
	SocketBuffer int
	// Pacing spreads each peer's packets over time at its bandwidth
	// estimate (pion's leaky-bucket pacer, a queue and a 5 ms ticker per
	// peer). Off by default: packets leave as their frame is written, and
	// the socket's send buffer absorbs a keyframe's burst. Turn it on for
	// viewers behind links with shallow buffers that drop bursts.
	Pacing bool
	// Unbatched sends and receives each datagram of the media port with
	// a system call of its own, as pion does, instead of batching them
	// (sendmmsg, recvmmsg; see batchconn.go). For comparison.
	Unbatched bool
	Logger    *slog.Logger
}

// Engine is the one pion API of the process: codecs, RTP header
// extensions, interceptors (NACK, RTCP reports, TWCC with the GCC
// estimator) and the single media port.
type Engine struct {
	api  *webrtc.API
	udp  net.PacketConn
	tcp  net.Listener
	udpm interface{ Close() error }
	tcpm interface{ Close() error }
	// batch is the media port's batched I/O (nil: Unbatched).
	batch *batchConn

	// newPC serialises PeerConnection creation so that the bandwidth
	// estimator the congestion-control interceptor announces can be matched
	// to the PeerConnection being built.
	newPC     sync.Mutex
	estimator chan cc.BandwidthEstimator
	// meter counts the packets on the media port (see Stats).
	meter meter
	// port, rcvBuf and sndBuf: the media port and the buffers it got.
	port, rcvBuf, sndBuf int
}

// audioLevelURI is the RFC 6464 client-to-mixer audio level extension.
const audioLevelURI = sdp.AudioLevelURI

// Codec payload types Tessera answers with (Chromium's numbers).
const (
	ptOpus = 111
	ptVP8  = 96
)

// h264Profiles are the H.264 variants Tessera receives, all with
// packetization-mode 1: constrained baseline, baseline and main, the ones
// Chromium offers. What Tessera sends is always constrained baseline
// (42e01f), which decoders of all three accept.
var h264Profiles = []struct {
	pt  webrtc.PayloadType
	pli string
}{{106, "42e01f"}, {102, "42001f"}, {127, "4d001f"}}

// h264Fmtp is the fmtp line of an H.264 variant.
func h264Fmtp(profileLevelID string) string {
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profileLevelID
}

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
}

// NewEngine opens the media port and builds the WebRTC stack.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BindIP == "" {
		cfg.BindIP = "0.0.0.0"
	}
	if cfg.InitialBitrate == 0 {
		cfg.InitialBitrate = 2_500_000
	}
	ip := net.ParseIP(cfg.BindIP)
	if ip == nil {
		return nil, fmt.Errorf("%w: bind address %q", ErrInvalidConfig, cfg.BindIP)
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("%w: UDP port %d", ErrInvalidConfig, cfg.UDPPort)
	}
	for _, p := range cfg.PublicIPs {
		if net.ParseIP(p) == nil {
			return nil, fmt.Errorf("%w: public IP %q", ErrInvalidConfig, p)
		}
	}

	e := &Engine{estimator: make(chan cc.BandwidthEstimator, 1)}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("media port: %w", err)
	}
	e.udp = udp
	port := udp.LocalAddr().(*net.UDPAddr).Port
	e.port = port
	if cfg.SocketBuffer == 0 {
		cfg.SocketBuffer = DefaultSocketBuffer
	}
	if cfg.SocketBuffer > 0 {
		if e.rcvBuf, e.sndBuf, err = setSocketBuffers(udp, cfg.SocketBuffer, cfg.Logger); err != nil {
			cfg.Logger.Warn("cannot size the media port's buffers", "err", err)
		}
	}

	se := webrtc.SettingEngine{}
	var conn net.PacketConn = udp
	if !cfg.Unbatched {
		e.batch = newBatchConn(udp, cfg.Logger)
		conn = e.batch
	}
	udpMux := webrtc.NewICEUDPMux(nil, conn)
	e.udpm = udpMux
	se.SetICEUDPMux(udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if !cfg.DisableTCP {
		tcp, err := net.Listen("tcp", net.JoinHostPort(cfg.BindIP, strconv.Itoa(port)))
		if err != nil {
			udp.Close()
			return nil, fmt.Errorf("ICE-TCP port: %w", err)
		}
		e.tcp = tcp
		tcpMux := webrtc.NewICETCPMux(nil, tcp, 32)
		e.tcpm = tcpMux
		se.SetICETCPMux(tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(!cfg.ExcludeLoopback)
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			e.Close()
			return nil, fmt.Errorf("%w: public IPs: %w", ErrInvalidConfig, err)
		}
	}

	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		e.Close()
		return nil, err
	}
	reg := &interceptor.Registry{}
	// First, so it is next to the transport: it counts packets as they
	// leave (after the pacer, retransmissions included) and arrive.
	reg.Add(&e.meter)
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		opts := []gcc.Option{gcc.SendSideBWEInitialBitrate(cfg.InitialBitrate), gcc.SendSideBWEMinBitrate(30_000),
			gcc.SendSideBWEMaxBitrate(10_000_000)}
		if !cfg.Pacing {
			opts = append(opts, gcc.SendSideBWEPacer(newDirectPacer()))
		}
		return gcc.NewSendSideBWE(opts...)
	})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("congestion control: %w", err)
	}
	ccf.OnNewPeerConnection(func(_ string, est cc.BandwidthEstimator) {
		select {
		case e.estimator <- est:
		default:
		}
	})
	reg.Add(ccf)
	for _, step := range []func(*webrtc.MediaEngine, *interceptor.Registry) error{
		webrtc.ConfigureTWCCHeaderExtensionSender,
		webrtc.ConfigureNack,
		func(_ *webrtc.MediaEngine, r *interceptor.Registry) error { return webrtc.ConfigureRTCPReports(r) },
		webrtc.ConfigureTWCCSender,
	} {
		if err := step(me, reg); err != nil {
			e.Close()
			return nil, fmt.Errorf("interceptors: %w", err)
		}
	}
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	cfg.Logger.Info("media port open", "udp", udp.LocalAddr().String(), "ice_tcp", !cfg.DisableTCP,
		"public_ips", cfg.PublicIPs, "loopback", !cfg.ExcludeLoopback, "pacing", cfg.Pacing)
	return e, nil
}

func registerCodecs(me *webrtc.MediaEngine) error {
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: ptOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register opus: %w", err)
	}
	for _, uri := range []string{audioLevelURI, sdp.SDESMidURI} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			return fmt.Errorf("register %s: %w", uri, err)
		}
	}
	video := []webrtc.RTPCodecParameters{{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback},
		PayloadType:        ptVP8,
	}}
	for _, h := range h264Profiles {
		video = append(video, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: h264Fmtp(h.pli), RTCPFeedback: videoFeedback},
			PayloadType: h.pt,
		})
	}
	for _, c := range video {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	// MID and the RTP stream IDs (RFC 8852) let a browser send its camera
	// as simulcast: an offer with a=simulcast and a=rid lines is answered
	// with a=simulcast:recv, and each layer arrives as its own track.
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("register %s for video: %w", uri, err)
		}
	}
	return nil
}

// Port is the media port (UDP, and TCP unless disabled).
func (e *Engine) Port() int { return e.udp.LocalAddr().(*net.UDPAddr).Port }

// Check reports whether the media port is still open (nil) or gone.
func (e *Engine) Check() error {
	if err := e.udp.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("%w: media port: %w", ErrPortGone, err)
	}
	return nil
}

// newPeerConnection builds a PeerConnection and returns it with its
// send-side bandwidth estimator.
func (e *Engine) newPeerConnection() (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	e.newPC.Lock()
	defer e.newPC.Unlock()
	select { // a leftover from a failed build
	case <-e.estimator:
	default:
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	var est cc.BandwidthEstimator
	select {
	case est = <-e.estimator:
	default:
	}
	return pc, est, nil
}

// Close releases the media port. PeerConnections must be closed first.
func (e *Engine) Close() error {
	var errs []error
	if e.udpm != nil {
		errs = append(errs, e.udpm.Close())
	}
	if e.tcpm != nil {
		errs = append(errs, e.tcpm.Close())
	}
	if e.batch != nil {
		_ = e.batch.Close()
	}
	if e.udp != nil {
		_ = e.udp.Close()
	}
	if e.tcp != nil {
		_ = e.tcp.Close()
	}
	return errors.Join(errs...)
}
