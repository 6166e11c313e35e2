package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ManagerConfig configures the room manager.
type ManagerConfig struct {
	// Workers is the number of room worker threads (0: one per core).
	Workers int
	// DecodeWorkers is the number of video decode threads (0: one per
	// core).
	DecodeWorkers int
	// DisablePinning leaves worker threads unpinned.
	DisablePinning bool
	// MaxTalkers is K for rooms whose configuration does not set it (0:
	// the mixer's default, 3).
	MaxTalkers int
	// Inputs bounds what one camera may cost to decode.
	Inputs InputLimits
	// Limits caps rooms, participants and recordings server-wide.
	Limits Limits
	// Lifecycle, if set, is told of rooms created and destroyed and of
	// finished recordings.
	Lifecycle Lifecycle
	Logger    *slog.Logger
}

// Manager owns the worker pools and every room. Media connections are
// made elsewhere (package rtc for WebRTC) and attached to rooms.
type Manager struct {
	workers    *workerPool
	decode     *decodePool
	log        *slog.Logger
	maxTalkers int
	limits     Limits
	// seats and recordings count what Limits caps.
	seats, recordings, streams atomic.Int64
	lifecycle                  Lifecycle
	count                      counters

	mu     sync.Mutex
	rooms  map[RoomID]*Room
	closed bool
	// failing: goroutines ending rooms whose tick panicked.
	failing sync.WaitGroup
}

// NewManager starts the workers.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("%w: workers %d", ErrInvalidConfig, cfg.Workers)
	}
	if err := cfg.Inputs.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.Limits.validate(); err != nil {
		return nil, err
	}
	return &Manager{
		workers:    newWorkerPool(cfg.Workers, !cfg.DisablePinning, cfg.Logger),
		decode:     newDecodePool(cfg.DecodeWorkers, !cfg.DisablePinning, cfg.Inputs, cfg.Logger),
		log:        cfg.Logger,
		rooms:      make(map[RoomID]*Room),
		maxTalkers: cfg.MaxTalkers,
		limits:     cfg.Limits,
		lifecycle:  cfg.Lifecycle,
	}, nil
}

// Create makes a room and starts its clock.
func (m *Manager) Create(cfg Config) (*Room, error) {
	if cfg.Audio.MaxTalkers == 0 {
		cfg.Audio.MaxTalkers = m.maxTalkers
	}
	r, err := newRoom(cfg, m, m.decode, m.log)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := m.rooms[r.id]; ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %d", ErrRoomExists, r.id)
	}
	if m.limits.MaxRooms > 0 && len(m.rooms) >= m.limits.MaxRooms {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: at most %d", ErrTooManyRooms, m.limits.MaxRooms)
	}
	m.rooms[r.id] = r
	m.mu.Unlock()
	r.onFail = m.roomFailed
	_, w := m.workers.assign(r)
	r.log.Info("room created", "worker", w, "description", r.cfg.Description)
	if m.lifecycle != nil {
		m.lifecycle.RoomCreated(r.id, r.cfg.Description)
	}
	return r, nil
}

// Get finds a room.
func (m *Manager) Get(id RoomID) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrRoomNotFound, id)
	}
	return r, nil
}

// List returns every room, by ID.
func (m *Manager) List() []*Room {
	m.mu.Lock()
	out := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, r)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *Room) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}

// Destroy ends a room: participants are dropped and their media closed.
func (m *Manager) Destroy(ctx context.Context, id RoomID) error {
	m.mu.Lock()
	r, ok := m.rooms[id]
	delete(m.rooms, id)
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %d", ErrRoomNotFound, id)
	}
	m.workers.unassign(r)
	r.destroy()
	return ctx.Err()
}

// StallLimit is how long a worker may go without a tick before the
// manager counts as stalled (see Stalled).
const StallLimit = time.Second

// Stalled reports a worker that has not ticked for StallLimit (nil: every
// worker is alive). The readiness check asks it.
func (m *Manager) Stalled() error { return m.workers.stalled(StallLimit) }

// roomFailed ends a room whose tick panicked (its worker has already
// dropped it). It runs on the worker, so the work is handed to a
// goroutine that Close waits for.
func (m *Manager) roomFailed(r *Room, err error) {
	m.failing.Add(1)
	go func() {
		defer m.failing.Done()
		m.mu.Lock()
		if m.rooms[r.id] == r {
			delete(m.rooms, r.id)
		}
		m.mu.Unlock()
		m.workers.unassign(r)
		r.destroyFailed(err)
	}()
}

// Close destroys every room (closing its participants' connections) and
// stops the workers.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	ids := make([]RoomID, 0, len(m.rooms))
	for id := range m.rooms {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := m.Destroy(ctx, id); err != nil && !errors.Is(err, ErrRoomNotFound) {
			errs = append(errs, err)
		}
	}
	m.failing.Wait()
	m.workers.close()
	m.decode.close()
	return errors.Join(errs...)
}
