package room

// Summary is what a list of rooms shows of one room. Reading it takes no
// trip to the room goroutine: the room keeps what it needs up to date as it
// changes, so a list of any number of rooms is one quick snapshot.
type Summary struct {
	ID             RoomID
	Description    string
	PinRequired    bool
	SecretRequired bool
	Participants   int
	// Muted: the whole room is muted.
	Muted     bool
	Recording bool
	// Streams is the number of live streams of the room.
	Streams int
}

// Summary describes the room for a room list.
func (r *Room) Summary() Summary {
	r.metaMu.Lock()
	s := Summary{ID: r.id, Description: r.cfg.Description, PinRequired: r.cfg.Pin != "", SecretRequired: r.cfg.Secret != ""}
	r.metaMu.Unlock()
	s.Participants = int(r.members.Load())
	s.Muted = r.allMuted.Load()
	s.Recording = r.recordingOn.Load()
	s.Streams = int(r.streamsOn.Load())
	return s
}

// LastStats returns the room's counters as the room goroutine last
// published them: at most a second old, and refreshed whenever someone
// joins, leaves or gets a media connection. Unlike Stats it does not wait for the room goroutine.
// The slices are shared with other readers and must not be modified.
func (r *Room) LastStats() RoomStats { return *r.lastStats.Load() }

// publishStats refreshes what LastStats returns (room goroutine, or before
// the room runs).
func (r *Room) publishStats() {
	s := r.collectStats()
	r.lastStats.Store(&s)
}

// membersChanged refreshes what room lists read after someone joined or
// left (room goroutine).
func (r *Room) membersChanged() {
	r.members.Store(int32(r.listedCount()))
	r.publishStats()
}

// Summaries describes every room, by ID, without a trip to any room's
// goroutine.
func (m *Manager) Summaries() []Summary {
	rooms := m.List()
	out := make([]Summary, len(rooms))
	for i, r := range rooms {
		out[i] = r.Summary()
	}
	return out
}

// RoomStats returns every room's LastStats, by ID, without a trip to any
// room's goroutine.
func (m *Manager) RoomStats() []RoomStats {
	rooms := m.List()
	out := make([]RoomStats, len(rooms))
	for i, r := range rooms {
		out[i] = r.LastStats()
	}
	return out
}
