package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tessera-mcu/tessera/signaling/events"
)

// Events is what the metrics read of the event handlers (an
// *events.Dispatcher).
type Events interface {
	Stats() events.Stats
}

var eventsDesc = desc("tessera_events_total",
	"Events for the event handlers by outcome: queued, sent (the backend took them), dropped (queue full or shutdown), failed (refused, or every try failed), retried (batches sent again).", "outcome")

// eventsCollector reads the event dispatcher when Prometheus scrapes.
type eventsCollector struct{ src Events }

func (c eventsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- eventsDesc }

func (c eventsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	for _, x := range []struct {
		outcome string
		n       uint64
	}{{"queued", st.Queued}, {"sent", st.Sent}, {"dropped", st.Dropped}, {"failed", st.Failed}, {"retried", st.Retried}} {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(x.n), x.outcome)
	}
}
