package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Config says where Redis is and how the cluster's timing is set. The
// zero value of every field but Addr takes its default.
type Config struct {
	// Addr is Redis's host:port.
	Addr string
	// Username and Password authenticate to Redis (ACL or requirepass).
	Username, Password string
	// DB is the Redis database number.
	DB int
	// Prefix begins every key and channel name (default "tessera:"), so
	// several clusters can share one Redis.
	Prefix string

	// HeartbeatTTL is how long a node stays live after its last
	// heartbeat (default 3 s); HeartbeatEvery is how often it beats
	// (default 1 s).
	HeartbeatTTL, HeartbeatEvery time.Duration
	// LeaseTTL is how long a room's claim lasts unless renewed (default
	// 5 s); RenewEvery is how often a node renews all its leases
	// (default 1.5 s).
	LeaseTTL, RenewEvery time.Duration
	// OpTimeout bounds one round trip to Redis (default 1 s): an
	// unreachable Redis fails an operation within about this time.
	OpTimeout time.Duration
	// RequestTimeout bounds a node-to-node request whose context has no
	// deadline (default 5 s).
	RequestTimeout time.Duration

	// Logger receives the package's few, rate-limited lines (default
	// slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Addr == "" {
		return fmt.Errorf("cluster: no Redis address")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Prefix == "" {
		c.Prefix = "tessera:"
	}
	def(&c.HeartbeatTTL, 3*time.Second)
	def(&c.HeartbeatEvery, time.Second)
	def(&c.LeaseTTL, 5*time.Second)
	def(&c.RenewEvery, 1500*time.Millisecond)
	def(&c.OpTimeout, time.Second)
	def(&c.RequestTimeout, 5*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HeartbeatEvery >= c.HeartbeatTTL {
		return fmt.Errorf("cluster: heartbeat every %v is not shorter than its TTL %v", c.HeartbeatEvery, c.HeartbeatTTL)
	}
	if c.RenewEvery >= c.LeaseTTL {
		return fmt.Errorf("cluster: renewal every %v is not shorter than the lease %v", c.RenewEvery, c.LeaseTTL)
	}
	return nil
}

// Store is the cluster's shared state in Redis: the node registry, the
// room directory and placement, the room configuration store and the
// publishing side of room events. Any number of goroutines may use it.
// A node that takes part (heartbeats, hosts rooms, serves requests) is a
// Node, made by Join.
type Store struct {
	cfg Config
	k   keys
	rdb *redis.Client
	log *slog.Logger
}

// Open makes a Store for the Redis at cfg.Addr. It does not wait for
// Redis: a Store made during an outage works once Redis answers.
func Open(cfg Config) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	opts := &redis.Options{
		Addr:     cfg.Addr,
		Username: cfg.Username,
		Password: cfg.Password,
		DB:       cfg.DB,
		// Short timeouts and one retry: an unreachable Redis fails an
		// operation within about OpTimeout instead of stalling a
		// signaling request; heartbeats and renewals retry on their own
		// schedule.
		DialTimeout:           cfg.OpTimeout / 2,
		DialerRetries:         1,
		ReadTimeout:           cfg.OpTimeout,
		WriteTimeout:          cfg.OpTimeout,
		PoolTimeout:           cfg.OpTimeout,
		MaxRetries:            1,
		ContextTimeoutEnabled: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	routeRedisLog(cfg.Logger)
	return &Store{cfg: cfg, k: keys{cfg.Prefix}, rdb: redis.NewClient(opts), log: cfg.Logger}, nil
}

// Close closes the Store's connections. Close its Nodes first.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return wrap(ctx, "ping", s.rdb.Ping(ctx).Err())
}

// op bounds one round trip to Redis by OpTimeout (or the caller's
// earlier deadline).
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.OpTimeout)
}
