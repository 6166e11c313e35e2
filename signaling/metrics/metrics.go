package metrics

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tessera-mcu/tessera/room"
	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/room/rtc"
	relay "github.com/tessera-mcu/tessera/signaling/cluster"
	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
	"github.com/tessera-mcu/tessera/signaling/janus"
	"github.com/tessera-mcu/tessera/signaling/lockout"
	"github.com/tessera-mcu/tessera/signaling/sip"
)

// Rooms is what the metrics read of the rooms (a *room.Manager).
type Rooms interface {
	Summaries() []room.Summary
	RoomStats() []room.RoomStats
	Workers() []room.WorkerStats
	Counters() room.Counters
}

// Media is what the metrics read of the WebRTC media port (an
// *rtc.Engine).
type Media interface {
	Stats() rtc.Stats
}

// Gateway is what the metrics read of the Janus gateway (a
// *janus.Gateway).
type Gateway interface {
	Counts() janus.Counts
}

// SIP is what the metrics read of the SIP user agent (a *sip.Server).
type SIP interface {
	Calls() int
	Stats() sip.Stats
	MediaPorts() (total, used int)
}

// Cluster is what the metrics read of this node's part in a cluster:
// the relay's counters, the node's bus and Redis counters, the rooms it
// holds leases on.
type Cluster interface {
	Stats() relay.Stats
	NodeStats() rc.Stats
	HostedRooms() int
}

// Options configures the metrics. A nil source leaves its metrics out.
type Options struct {
	Rooms Rooms
	Media Media
	Janus Gateway
	SIP   SIP
	// Cluster is set on a node of a cluster.
	Cluster Cluster
	// Events is the event handlers' dispatcher (nil: none configured).
	Events Events
	// Version is reported by tessera_build_info.
	Version string
	// Lockout limits wrong keys per client address (nil: no limit).
	Lockout *lockout.Limiter
	Logger  *slog.Logger
}

// Metrics is Tessera's Prometheus registry. It is a janus.RequestObserver.
type Metrics struct {
	o        Options
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	lockout  *lockout.Limiter
	log      *slog.Logger
}

var _ janus.RequestObserver = (*Metrics)(nil)

// RequestBuckets are the upper bounds, in seconds, of the Janus request
// latency histogram.
var RequestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// New builds the registry: Tessera's collectors, and the Go runtime and
// process collectors.
func New(o Options) *Metrics {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	m := &Metrics{
		o:   o,
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tessera_janus_requests_total",
			Help: "Janus API requests answered, by request type and Janus error code of the answer (0: success).",
		}, []string{"request", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tessera_janus_request_duration_seconds",
			Help:    "Time to answer a Janus API request (a plugin message: until its acknowledgement or synchronous result).",
			Buckets: RequestBuckets,
		}, []string{"request"}),
		lockout: o.Lockout,
		log:     o.Logger,
	}
	// Every request type starts at zero, so rates exist before the first
	// request of a type.
	for _, t := range janus.RequestTypes {
		m.requests.WithLabelValues(t, "0")
		m.latency.WithLabelValues(t)
	}
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{o: &m.o})
	if o.Events != nil {
		m.reg.MustRegister(eventsCollector{src: o.Events})
	}
	return m
}

// SetGateway sets the Janus gateway whose sessions and handles are
// counted, for a gateway made after the metrics (it observes them). Call
// it before the metrics are served.
func (m *Metrics) SetGateway(g Gateway) { m.o.Janus = g }

// SetSIP sets the SIP user agent whose calls are counted, for one made
// after the metrics. Call it before the metrics are served.
func (m *Metrics) SetSIP(s SIP) { m.o.SIP = s }

// SetCluster sets this node's part in a cluster, for one made after the
// metrics. Call it before the metrics are served.
func (m *Metrics) SetCluster(c Cluster) { m.o.Cluster = c }

// Registry is the registry the metrics are in (to add more).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest implements janus.RequestObserver.
func (m *Metrics) ObserveRequest(request string, code int, took time.Duration) {
	m.requests.WithLabelValues(request, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(request).Observe(took.Seconds())
}

// Handler serves the metrics in Prometheus's text format. With a key, a
// request needs "Authorization: Bearer KEY"; without it, or with a wrong
// one, it is answered 401 with a JSON error.
func (m *Metrics) Handler(key string) http.Handler {
	return m.Guard(key, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
}

// Guard lets a request through to h only with the bearer key (every
// request when key is empty); wrong keys count against the client's
// address like the metrics' own. The profiler shares the metrics
// listener through it.
func (m *Metrics) Guard(key string, h http.Handler) http.Handler {
	if key == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.lockout != nil && !m.lockout.Allow(r.RemoteAddr) {
			refuse(w, "too many failed attempts; try again later")
			return
		}
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
			if m.lockout != nil {
				m.lockout.Fail(r.RemoteAddr)
			}
			refuse(w, "missing or wrong metrics key (send Authorization: Bearer KEY)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="tessera metrics"`)
	httpjson.Write(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

// bearerToken reads "Bearer TOKEN" (RFC 6750 section 2.1; the scheme
// name in any case).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}
