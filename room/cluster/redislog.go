package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// The Redis client has one logger per process and writes a line for
// every failed dial; during an outage that is many lines a second. The
// first Store routes those lines, rate-limited, to its logger.
var redisLogOnce sync.Once

type redisLog struct {
	log *slog.Logger
	lim loglimit.Limiter
}

func (l *redisLog) Printf(_ context.Context, format string, v ...any) {
	l.lim.Warn(l.log, "cluster: redis client", "msg", fmt.Sprintf(format, v...))
}

func routeRedisLog(log *slog.Logger) {
	redisLogOnce.Do(func() { redis.SetLogger(&redisLog{log: log}) })
}
