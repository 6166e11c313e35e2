package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// Config is everything the server can be told at start-up. Each field is a
// flag, a TESSERA_* environment variable and a YAML key with the same name
// (dashes in flags become underscores in YAML and the environment).
// Precedence: flags > environment > YAML file > defaults.
type Config struct {
	Listen          string        `yaml:"listen"`
	WSListen        string        `yaml:"ws_listen"`
	SessionTimeout  time.Duration `yaml:"session_timeout"`
	LogFormat       string        `yaml:"log_format"`
	LogLevel        string        `yaml:"log_level"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	DrainDelay      time.Duration `yaml:"drain_delay"`

	// Connection limits.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxBody           int64         `yaml:"max_body"`
	WSMaxMessage      int64         `yaml:"ws_max_message"`
	WSSessionWait     time.Duration `yaml:"ws_session_wait"`

	// Media.
	MediaBind string `yaml:"media_bind"`
	MediaPort int    `yaml:"media_port"`
	// MediaSocketBuffer is the media port's receive and send buffer.
	MediaSocketBuffer int `yaml:"media_socket_buffer"`
	// MediaPacing spreads each peer's packets at its bandwidth estimate.
	MediaPacing bool `yaml:"media_pacing"`
	// MediaUnbatched sends and receives a datagram per system call.
	MediaUnbatched bool   `yaml:"media_unbatched"`
	PublicIPs      string `yaml:"public_ips"`
	ICETCP         bool   `yaml:"ice_tcp"`
	ICELoopback    bool   `yaml:"ice_loopback"`
	Workers        int    `yaml:"workers"`
	PinWorkers     bool   `yaml:"pin_workers"`
	MaxTalkers     int    `yaml:"max_talkers"`
	DemoRoom       bool   `yaml:"demo_room"`
	// MaxInputSize bounds a camera's picture, WxH, in either orientation.
	MaxInputSize string  `yaml:"max_input_size"`
	DecodeBudget float64 `yaml:"decode_budget"`

	// Recording and administration.
	RecordDir      string `yaml:"record_dir"`
	RecordTemplate string `yaml:"record_template"`
	RecordCodec    string `yaml:"record_codec"`
	AdminKey       string `yaml:"admin_key"`

	// Caps (see limits.go).
	Limits `yaml:",inline"`
	// Event handlers (events.go).
	Events eventConfig `yaml:",inline"`
	// WHIP and WHEP (whip.go).
	WHIP whipConfig `yaml:",inline"`
	// Live outputs: RTMP pushes and HLS (streaming.go).
	Streams streamConfig `yaml:",inline"`
	// SIP (sip.go).
	SIP sipConfig `yaml:",inline"`
	// Cluster (cluster.go).
	Cluster clusterConfig `yaml:",inline"`
	// Metrics.
	MetricsListen string `yaml:"metrics_listen"`
	MetricsKey    string `yaml:"metrics_key"`
	// Pprof serves Go's profiler on the metrics listener.
	Pprof bool `yaml:"pprof"`
	// Janus API security and the Janus admin API.
	APISecret        string `yaml:"api_secret"`
	TokenAuth        bool   `yaml:"token_auth"`
	JanusTokens      string `yaml:"janus_tokens"`
	JanusAdminListen string `yaml:"janus_admin_listen"`
	JanusAdminSecret string `yaml:"janus_admin_secret"`
}

// defaults is the configuration with nothing set.
func defaults() Config {
	return Config{
		Listen:            ":8088",
		WSListen:          ":8188",
		SessionTimeout:    60 * time.Second,
		LogFormat:         "text",
		LogLevel:          "info",
		ShutdownTimeout:   10 * time.Second,
		MediaBind:         "0.0.0.0",
		MediaPort:         8189,
		MediaSocketBuffer: rtc.DefaultSocketBuffer,
		ICETCP:            true,
		ICELoopback:       true,
		PinWorkers:        true,
		MaxTalkers:        3,
		DemoRoom:          true,
		MaxInputSize:      "1920x1080",
		DecodeBudget:      0.35,
		RecordDir:         "recordings",
		RecordTemplate:    "room-{room}-{time}",
		RecordCodec:       "vp8",

		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxBody:           janus.DefaultMaxBody,
		WSMaxMessage:      janus.DefaultWSMaxMessage,
		WSSessionWait:     30 * time.Second,

		Limits:  defaultLimits(),
		Events:  eventDefaults(),
		WHIP:    whipDefaults(),
		Streams: streamDefaults(),
		SIP:     sipDefaults(),
		Cluster: clusterDefaults(),
	}
}

// bind registers one flag per setting, writing into c.
func bind(fs *flag.FlagSet, c *Config, configFile *string) {
	fs.StringVar(configFile, "config", "", "YAML configuration file")
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP listen address (page, health, Janus REST and WebSocket)")
	fs.StringVar(&c.WSListen, "ws-listen", c.WSListen, "extra Janus WebSocket listener, as Janus's default port; empty disables it")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", c.SessionTimeout, "Janus session timeout without keepalives")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log output: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long to drain on SIGINT/SIGTERM")
	fs.DurationVar(&c.DrainDelay, "drain-delay", c.DrainDelay, "on SIGTERM, /readyz fails this long before sessions are closed, for load balancers to stop sending clients")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "time a client has to send a request's headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "time a client has to send a whole request, body included (long polls and WebSockets are not cut by it)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "idle keep-alive HTTP connections are closed after this")
	fs.Int64Var(&c.MaxBody, "max-body", c.MaxBody, "largest Janus HTTP request body in bytes (larger: error 454)")
	fs.Int64Var(&c.WSMaxMessage, "ws-max-message", c.WSMaxMessage, "largest incoming WebSocket message in bytes (larger: the socket is closed, code 1009)")
	fs.DurationVar(&c.WSSessionWait, "ws-session-wait", c.WSSessionWait, "a WebSocket with no Janus session this long after it opened is closed (code 1008)")
	fs.StringVar(&c.MediaBind, "media-bind", c.MediaBind, "address the media port listens on")
	fs.IntVar(&c.MediaPort, "media-port", c.MediaPort, "the one UDP (and ICE-TCP) port all media uses; 0 picks one")
	fs.BoolVar(&c.MediaPacing, "media-pacing", c.MediaPacing, "pace each WebRTC peer's packets at its bandwidth estimate (for viewers behind links that drop bursts; costs CPU)")
	fs.BoolVar(&c.MediaUnbatched, "media-unbatched", c.MediaUnbatched, "send and receive each media datagram with a system call of its own instead of batching them (sendmmsg/recvmmsg); for comparison")
	fs.IntVar(&c.MediaSocketBuffer, "media-socket-buffer", c.MediaSocketBuffer, "receive and send buffer of the media port in bytes (beyond net.core.rmem_max only with CAP_NET_ADMIN); -1: the kernel's default")
	fs.StringVar(&c.PublicIPs, "public-ips", c.PublicIPs, "comma-separated public addresses announced instead of local ones (1:1 NAT)")
	fs.BoolVar(&c.ICETCP, "ice-tcp", c.ICETCP, "accept ICE over TCP on the media port number")
	fs.BoolVar(&c.ICELoopback, "ice-loopback", c.ICELoopback, "offer loopback candidates (browsers on this machine)")
	fs.IntVar(&c.Workers, "workers", c.Workers, "room worker threads; 0 means one per core")
	fs.BoolVar(&c.PinWorkers, "pin-workers", c.PinWorkers, "pin each worker thread to a CPU core")
	fs.IntVar(&c.MaxTalkers, "max-talkers", c.MaxTalkers, "default K: how many loudest talkers each room mixes")
	fs.BoolVar(&c.DemoRoom, "demo-room", c.DemoRoom, "create demo room 1234 at start-up")
	fs.StringVar(&c.MaxInputSize, "max-input-size", c.MaxInputSize, "largest camera picture decoded, WxH in either orientation (larger frames are dropped and the sender told)")
	fs.Float64Var(&c.DecodeBudget, "decode-budget", c.DecodeBudget, "share of one core one camera's decoding may use each second (beyond it its frames are dropped)")
	fs.StringVar(&c.RecordDir, "record-dir", c.RecordDir, "folder recordings are written to")
	fs.StringVar(&c.RecordTemplate, "record-template", c.RecordTemplate, "recording file name: {room} and {time} are replaced")
	fs.StringVar(&c.RecordCodec, "record-codec", c.RecordCodec, "recording video codec: vp8 (WebM) or h264 (Matroska)")
	fs.StringVar(&c.AdminKey, "admin-key", c.AdminKey, "bearer key for the /admin API (empty: room secrets)")
	bindLimits(fs, &c.Limits)
	bindEvents(fs, &c.Events)
	bindWHIP(fs, &c.WHIP)
	bindStreams(fs, &c.Streams)
	bindSIP(fs, &c.SIP)
	bindCluster(fs, &c.Cluster)
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "listen address of the Prometheus metrics (/metrics); empty disables them")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve Go's profiler under /debug/pprof/ on the metrics listener (behind -metrics-key)")
	fs.StringVar(&c.MetricsKey, "metrics-key", c.MetricsKey, "bearer key the metrics listener requires (empty: none)")
	fs.StringVar(&c.APISecret, "api-secret", c.APISecret, "secret every Janus API request must carry as apisecret (error 403 otherwise); empty: none")
	fs.BoolVar(&c.TokenAuth, "token-auth", c.TokenAuth, "every Janus API request must carry a stored token (added through the Janus admin API or -janus-tokens)")
	fs.StringVar(&c.JanusTokens, "janus-tokens", c.JanusTokens, "comma-separated tokens stored at start-up, each allowed every plugin (with -token-auth)")
	fs.StringVar(&c.JanusAdminListen, "janus-admin-listen", c.JanusAdminListen, "listen address of the Janus admin API (path /admin); empty disables it")
	fs.StringVar(&c.JanusAdminSecret, "janus-admin-secret", c.JanusAdminSecret, "admin_secret every Janus admin API request must carry (required with -janus-admin-listen)")
}

// envName is the environment variable for a flag name.
func envName(flagName string) string {
	return "TESSERA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// loadConfig builds the configuration from command-line args, the
// environment and the YAML file named by -config or TESSERA_CONFIG.
//
// lookupEnv is os.LookupEnv: a variable set to the empty string counts
// (TESSERA_WS_LISTEN= disables the extra listener).
func loadConfig(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (Config, error) {
	// First pass: which flags were given, and where the file is.
	var file string
	scratch := defaults()
	cli := flag.NewFlagSet("tessera", flag.ContinueOnError)
	cli.SetOutput(stderr)
	bind(cli, &scratch, &file)
	if err := cli.Parse(args); err != nil {
		return Config{}, fmt.Errorf("%w: %w", errConfig, err)
	}
	if cli.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", errConfig, cli.Arg(0))
	}
	if file == "" {
		file, _ = lookupEnv(envName("config"))
	}

	// Second pass: defaults, then the file, then the environment, then the
	// flags that were actually given.
	cfg := defaults()
	if file != "" {
		if err := readYAML(file, &cfg); err != nil {
			return Config{}, err
		}
	}
	var ignored string
	final := flag.NewFlagSet("tessera", flag.ContinueOnError)
	final.SetOutput(io.Discard)
	bind(final, &cfg, &ignored)
	var err error
	final.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || err != nil {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%w: %s=%q: %w", errConfig, envName(f.Name), v, e)
			}
		}
	})
	if err != nil {
		return Config{}, err
	}
	cli.Visit(func(f *flag.Flag) {
		if f.Name != "config" {
			_ = final.Set(f.Name, f.Value.String())
		}
	})
	return cfg, cfg.validate()
}

func readYAML(path string, cfg *Config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: %w", errConfig, path, err)
	}
	return nil
}

func (c Config) validate() error {
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("%w: log format %q (want text or json)", errConfig, c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%w: log level %q (want debug, info, warn or error)", errConfig, c.LogLevel)
	}
	if c.DrainDelay < 0 {
		return fmt.Errorf("%w: drain delay %v must not be negative", errConfig, c.DrainDelay)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("%w: shutdown timeout %v must be positive", errConfig, c.ShutdownTimeout)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read header timeout", c.ReadHeaderTimeout}, {"read timeout", c.ReadTimeout}, {"idle timeout", c.IdleTimeout}, {"ws session wait", c.WSSessionWait}} {
		if d.v <= 0 {
			return fmt.Errorf("%w: %s %v must be positive", errConfig, d.name, d.v)
		}
	}
	if c.MaxBody < 1024 {
		return fmt.Errorf("%w: max body %d bytes (at least 1024)", errConfig, c.MaxBody)
	}
	if c.WSMaxMessage < 1024 {
		return fmt.Errorf("%w: ws max message %d bytes (at least 1024)", errConfig, c.WSMaxMessage)
	}
	if c.Listen == "" {
		return fmt.Errorf("%w: empty listen address", errConfig)
	}
	if c.SessionTimeout < time.Second {
		return fmt.Errorf("%w: session timeout %v (at least 1s)", errConfig, c.SessionTimeout)
	}
	if c.MediaSocketBuffer < -1 || (c.MediaSocketBuffer >= 0 && c.MediaSocketBuffer < 65536) || c.MediaSocketBuffer > 1<<30 {
		return fmt.Errorf("%w: media socket buffer %d (65536..1073741824 bytes, or -1)", errConfig, c.MediaSocketBuffer)
	}
	if c.MediaPort < 0 || c.MediaPort > 65535 {
		return fmt.Errorf("%w: media port %d", errConfig, c.MediaPort)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("%w: metrics listen %q: %w", errConfig, c.MetricsListen, err)
		}
	} else if c.Pprof {
		return fmt.Errorf("%w: -pprof needs -metrics-listen", errConfig)
	}
	if c.Workers < 0 {
		return fmt.Errorf("%w: workers %d", errConfig, c.Workers)
	}
	if err := room.CheckRecordTemplate(c.RecordTemplate); err != nil {
		return fmt.Errorf("%w: record template %q: %w", errConfig, c.RecordTemplate, err)
	}
	if c.RecordCodec != "vp8" && c.RecordCodec != "h264" {
		return fmt.Errorf("%w: record codec %q (vp8 or h264)", errConfig, c.RecordCodec)
	}
	if c.MaxTalkers < 1 || c.MaxTalkers > 16 {
		return fmt.Errorf("%w: max talkers %d (1..16)", errConfig, c.MaxTalkers)
	}
	if _, err := c.inputLimits(); err != nil {
		return err
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	if err := c.WHIP.validate(); err != nil {
		return err
	}
	if err := c.Streams.validate(); err != nil {
		return err
	}
	if err := c.SIP.validate(); err != nil {
		return err
	}
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	if err := c.Events.validate(); err != nil {
		return err
	}
	return c.validateJanusAuth()
}

// validateJanusAuth checks the Janus API security settings: an admin
// listener needs its secret, and stored-token authentication needs a way
// to store tokens.
func (c Config) validateJanusAuth() error {
	if c.JanusAdminListen != "" && c.JanusAdminSecret == "" {
		return fmt.Errorf("%w: janus admin listen %q needs a janus admin secret", errConfig, c.JanusAdminListen)
	}
	if len(c.janusTokens()) > 0 && !c.TokenAuth {
		return fmt.Errorf("%w: janus tokens are given but token auth is off", errConfig)
	}
	if c.TokenAuth && c.JanusAdminListen == "" && len(c.janusTokens()) == 0 {
		return fmt.Errorf("%w: token auth needs janus tokens or the janus admin listener (to add them): no request could pass", errConfig)
	}
	return nil
}

// janusTokens splits the janus_tokens setting.
func (c Config) janusTokens() []string {
	var out []string
	for _, t := range strings.Split(c.JanusTokens, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// inputLimits reads max_input_size and decode_budget.
func (c Config) inputLimits() (room.InputLimits, error) {
	var w, h int
	if n, err := fmt.Sscanf(c.MaxInputSize, "%dx%d", &w, &h); err != nil || n != 2 || w < 16 || h < 16 || w > 16384 || h > 16384 {
		return room.InputLimits{}, fmt.Errorf("%w: max input size %q (WxH, 16..16384 each)", errConfig, c.MaxInputSize)
	}
	if c.DecodeBudget <= 0 || c.DecodeBudget > 1 {
		return room.InputLimits{}, fmt.Errorf("%w: decode budget %v (a share of one core, above 0 and at most 1)", errConfig, c.DecodeBudget)
	}
	return room.InputLimits{MaxWidth: w, MaxHeight: h, DecodeBudget: c.DecodeBudget}, nil
}

// publicIPs splits the public_ips setting.
func (c Config) publicIPs() []string {
	var out []string
	for _, ip := range strings.Split(c.PublicIPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			out = append(out, ip)
		}
	}
	return out
}
