package room

import (
	"fmt"
	"path/filepath"
	"syscall"
)

// Limits caps what one manager hosts, whatever the rooms' own settings
// (0: no cap). A request beyond a cap is refused with the cap's error;
// nothing already running is touched.
type Limits struct {
	// MaxRooms caps the rooms (ErrTooManyRooms).
	MaxRooms int
	// MaxParticipants caps the participants of all rooms together
	// (ErrServerFull). A participant moving between rooms keeps its seat.
	MaxParticipants int
	// MaxRecordings caps the recordings running at once
	// (ErrTooManyRecordings).
	MaxRecordings int
	// MaxStreams caps the live streams (StartStream) running at once
	// (ErrTooManyStreams).
	MaxStreams int
}

func (l Limits) validate() error {
	if l.MaxRooms < 0 || l.MaxParticipants < 0 || l.MaxRecordings < 0 || l.MaxStreams < 0 {
		return fmt.Errorf("%w: negative limit %+v", ErrInvalidConfig, l)
	}
	return nil
}

// takeSeat counts one more participant against the server's cap; force
// counts it even beyond the cap (a participant moving between rooms holds
// two seats for a moment). A room made alone has no cap.
func (r *Room) takeSeat(force bool) bool {
	m := r.mgr
	if m == nil {
		return true
	}
	n := m.seats.Add(1)
	if force || m.limits.MaxParticipants == 0 || n <= int64(m.limits.MaxParticipants) {
		return true
	}
	m.seats.Add(-1)
	return false
}

// releaseSeats gives back n seats.
func (r *Room) releaseSeats(n int) {
	if r.mgr != nil && n > 0 {
		r.mgr.seats.Add(-int64(n))
	}
}

// takeRecorder counts one more recording against the server's cap.
func (r *Room) takeRecorder() bool {
	m := r.mgr
	if m == nil {
		return true
	}
	n := m.recordings.Add(1)
	if m.limits.MaxRecordings == 0 || n <= int64(m.limits.MaxRecordings) {
		return true
	}
	m.recordings.Add(-1)
	return false
}

func (r *Room) releaseRecorder() {
	if r.mgr != nil {
		r.mgr.recordings.Add(-1)
	}
}

// takeStream counts one more stream against the server's cap.
func (r *Room) takeStream() bool {
	m := r.mgr
	if m == nil {
		return true
	}
	n := m.streams.Add(1)
	if m.limits.MaxStreams == 0 || n <= int64(m.limits.MaxStreams) {
		return true
	}
	m.streams.Add(-1)
	return false
}

func (r *Room) releaseStream() {
	if r.mgr != nil {
		r.mgr.streams.Add(-1)
	}
}

// Streams is the number of live streams running.
func (m *Manager) Streams() int { return int(m.streams.Load()) }

// Participants is the number of participants in all the manager's rooms.
func (m *Manager) Participants() int { return int(m.seats.Load()) }

// Recordings is the number of recordings running.
func (m *Manager) Recordings() int { return int(m.recordings.Load()) }

// freeBytes is the space an unprivileged writer has on the file system
// holding dir (or its nearest existing parent).
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	for {
		err := syscall.Statfs(dir, &st)
		if err == nil {
			return int64(st.Bavail) * int64(st.Bsize), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return 0, err
		}
		dir = parent
	}
}

// checkFree fails with ErrDiskLow when dir's file system has less than
// floor bytes free (floor 0: no check).
func checkFree(dir string, floor int64) error {
	if floor <= 0 {
		return nil
	}
	free, err := freeBytes(dir)
	if err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free < floor {
		return fmt.Errorf("%w: %s has %d MiB free, the floor is %d MiB", ErrDiskLow, dir, free>>20, floor>>20)
	}
	return nil
}
