package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// Limits are the caps an operator sets on what clients may open: each
// refusal is a clear error to the client, and nothing already running is
// touched.
type Limits struct {
	MaxSessions     int    `yaml:"max_sessions"`
	MaxHandles      int    `yaml:"max_handles"`
	SessionRate     int    `yaml:"session_rate"`
	MaxPolls        int    `yaml:"max_polls"`
	WSRate          int    `yaml:"ws_rate"`
	WSOrigins       string `yaml:"ws_origins"`
	MaxRooms        int    `yaml:"max_rooms"`
	MaxParticipants int    `yaml:"max_participants"`
	MaxRecordings   int    `yaml:"max_recordings"`
	MaxStreams      int    `yaml:"max_streams"`
	RecordMinFreeMB int64  `yaml:"record_min_free_mb"`
	RoomAdminKey    string `yaml:"room_admin_key"`
}

func defaultLimits() Limits {
	return Limits{MaxHandles: 100, MaxPolls: janus.DefaultMaxPolls, WSRate: 50, RecordMinFreeMB: 512}
}

func bindLimits(fs *flag.FlagSet, l *Limits) {
	fs.IntVar(&l.MaxSessions, "max-sessions", l.MaxSessions, "most Janus sessions at once (0: no cap; beyond it create answers 472)")
	fs.IntVar(&l.MaxHandles, "max-handles", l.MaxHandles, "most handles in one Janus session (0: no cap; beyond it attach answers 461)")
	fs.IntVar(&l.SessionRate, "session-rate", l.SessionRate, "most Janus sessions one client address (IPv6: one /64) may create a minute (0: no cap; beyond it create answers 472)")
	fs.IntVar(&l.MaxPolls, "max-polls", l.MaxPolls, "most HTTP long polls waiting at once on one session (one more is answered with HTTP 429)")
	fs.IntVar(&l.WSRate, "ws-rate", l.WSRate, "most requests a second on one WebSocket, bursts of twice as many (0: no cap; beyond it requests are answered 450, not processed)")
	fs.StringVar(&l.WSOrigins, "ws-origins", l.WSOrigins, "comma-separated Origins (https://host[:port]) whose pages may open a Janus WebSocket; empty or * allows any")
	fs.IntVar(&l.MaxRooms, "max-rooms", l.MaxRooms, "most rooms at once, the demo room included (0: no cap; beyond it create answers 489)")
	fs.IntVar(&l.MaxParticipants, "max-participants", l.MaxParticipants, "most participants in all rooms together (0: no cap; beyond it join answers 489)")
	fs.IntVar(&l.MaxRecordings, "max-recordings", l.MaxRecordings, "most recordings running at once (0: no cap; beyond it a start answers 489, the admin API 503)")
	fs.IntVar(&l.MaxStreams, "max-streams", l.MaxStreams, "most live streams (RTMP pushes, rooms watched over HLS) at once (0: no cap; beyond it a push answers 489, the admin API 503, HLS 503)")
	fs.Int64Var(&l.RecordMinFreeMB, "record-min-free-mb", l.RecordMinFreeMB, "free space in MiB the recording folder's disk keeps: below it recordings do not start, and running ones stop cleanly (0: no floor)")
	fs.StringVar(&l.RoomAdminKey, "room-admin-key", l.RoomAdminKey, "when set, clients create rooms only with this admin_key in the create request (as Janus's admin_key)")
}

func (l Limits) validate() error {
	for _, v := range []struct {
		name string
		n    int64
	}{{"max sessions", int64(l.MaxSessions)}, {"max handles", int64(l.MaxHandles)}, {"session rate", int64(l.SessionRate)},
		{"ws rate", int64(l.WSRate)}, {"max rooms", int64(l.MaxRooms)}, {"max participants", int64(l.MaxParticipants)},
		{"max recordings", int64(l.MaxRecordings)}, {"max streams", int64(l.MaxStreams)}, {"record min free", l.RecordMinFreeMB}} {
		if v.n < 0 {
			return fmt.Errorf("%w: %s %d (0 or more)", errConfig, v.name, v.n)
		}
	}
	if l.MaxPolls < 1 {
		return fmt.Errorf("%w: max polls %d (at least 1)", errConfig, l.MaxPolls)
	}
	for _, o := range l.origins() {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return fmt.Errorf("%w: ws origin %q (want scheme://host[:port] or *)", errConfig, o)
		}
	}
	return nil
}

func (l Limits) origins() []string {
	var out []string
	for _, o := range strings.Split(l.WSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// room is the room manager's share of the limits.
func (l Limits) room() room.Limits {
	return room.Limits{MaxRooms: l.MaxRooms, MaxParticipants: l.MaxParticipants, MaxRecordings: l.MaxRecordings, MaxStreams: l.MaxStreams}
}
