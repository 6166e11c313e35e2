package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/lockout"
	"github.com/tessera-mcu/tessera/signaling/whip"
	"github.com/tessera-mcu/tessera/stream"
	"github.com/tessera-mcu/tessera/stream/hls"
)

// streamConfig configures the live outputs: RTMP pushes and HLS.
type streamConfig struct {
	HLS                bool          `yaml:"hls"`
	HLSIdle            time.Duration `yaml:"hls_idle"`
	StreamTier         int           `yaml:"stream_tier"`
	StreamAudioBitrate int           `yaml:"stream_audio_bitrate"`
}

func streamDefaults() streamConfig {
	return streamConfig{HLS: true, HLSIdle: 30 * time.Second, StreamAudioBitrate: 128000}
}

func bindStreams(fs *flag.FlagSet, c *streamConfig) {
	fs.BoolVar(&c.HLS, "hls", c.HLS, "serve /hls/{room}/index.m3u8 for rooms created with hls: true")
	fs.DurationVar(&c.HLSIdle, "hls-idle", c.HLSIdle, "a room's HLS stream (and its encoding) stops this long after its last viewer request")
	fs.IntVar(&c.StreamTier, "stream-tier", c.StreamTier, "tier of the composite RTMP pushes and HLS carry (0: the best, 1280x720 by default)")
	fs.IntVar(&c.StreamAudioBitrate, "stream-audio-bitrate", c.StreamAudioBitrate, "AAC bitrate of RTMP pushes and HLS, bits per second")
}

func (c streamConfig) validate() error {
	if c.HLSIdle < time.Second {
		return fmt.Errorf("%w: hls idle %v (at least 1s)", errConfig, c.HLSIdle)
	}
	if c.StreamTier < 0 || c.StreamTier > 7 {
		return fmt.Errorf("%w: stream tier %d (0..7)", errConfig, c.StreamTier)
	}
	if c.StreamAudioBitrate < 16000 || c.StreamAudioBitrate > 256000 {
		return fmt.Errorf("%w: stream audio bitrate %d (16000..256000)", errConfig, c.StreamAudioBitrate)
	}
	return nil
}

// pushes makes the RTMP pushes' starter.
func (c streamConfig) pushes(log *slog.Logger) stream.Pushes {
	return stream.Pushes{AudioBitrate: c.StreamAudioBitrate, Tier: c.StreamTier, Logger: log.With("component", "rtmp")}
}

// newHLS makes the HLS handler (nil when HLS is off).
func (c streamConfig) newHLS(rooms stream.Rooms, auth func(*http.Request, string) error, log *slog.Logger) (*hls.Handler, error) {
	if !c.HLS {
		return nil, nil
	}
	src := stream.NewHLSSource(rooms, stream.HLSConfig{Tier: c.StreamTier, AudioBitrate: c.StreamAudioBitrate,
		Logger: log.With("component", "hls")})
	return hls.NewHandler(src, hls.WithPrefix("/hls"), hls.WithAuthorize(auth), hls.WithIdleTimeout(c.HLSIdle),
		hls.WithLogger(log.With("component", "hls")))
}

// hlsAuthorizer lets a viewer watch a room's HLS with, as a bearer token
// or ?token=: the admin key, the room's secret, or a token minted for the
// room (kind hls or whep). Wrong ones count toward the client's lockout.
func hlsAuthorizer(rooms stream.Rooms, adminKey string, tokens *whip.Tokens, guesses *lockout.Limiter) func(*http.Request, string) error {
	return func(req *http.Request, name string) error {
		token := req.URL.Query().Get("token")
		if h := req.Header.Get("Authorization"); h != "" {
			if scheme, t, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
				token = strings.TrimSpace(t)
			}
		}
		if token == "" {
			return fmt.Errorf("%w: a token is needed (Authorization: Bearer TOKEN, or ?token=TOKEN)", hls.ErrUnauthorized)
		}
		if !guesses.Allow(req.RemoteAddr) {
			return fmt.Errorf("%w: too many failed attempts; try again later", hls.ErrForbidden)
		}
		if adminKey != "" && subtle.ConstantTimeCompare([]byte(token), []byte(adminKey)) == 1 {
			return nil
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: no room %q", hls.ErrForbidden, name)
		}
		if tokens != nil {
			if g, ok := tokens.Check(token); ok {
				if g.Room == room.RoomID(id) && (g.Kind == whip.KindHLS || g.Kind == whip.KindWHEP) {
					return nil
				}
				return fmt.Errorf("%w: the token is not for watching room %d", hls.ErrForbidden, id)
			}
		}
		if r, err := rooms.Get(room.RoomID(id)); err == nil && r.Config().Secret != "" && r.CheckSecret(token) {
			return nil
		}
		guesses.Fail(req.RemoteAddr)
		return fmt.Errorf("%w: wrong token", hls.ErrForbidden)
	}
}
