package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/events"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// eventConfig is the event handler settings (part of Config).
type eventConfig struct {
	EventURL    string `yaml:"event_url"`
	EventSecret string `yaml:"event_secret"`
	EventTypes  string `yaml:"event_types"`
	EventQueue  int    `yaml:"event_queue"`
	EventBatch  int    `yaml:"event_batch"`
}

func eventDefaults() eventConfig {
	return eventConfig{EventTypes: "all", EventQueue: events.DefaultQueueLen, EventBatch: events.DefaultBatchMax}
}

func bindEvents(fs *flag.FlagSet, c *eventConfig) {
	fs.StringVar(&c.EventURL, "event-url", c.EventURL, "comma-separated HTTP backends that receive Janus-format events in batches; empty: none")
	fs.StringVar(&c.EventSecret, "event-secret", c.EventSecret, "key of the HMAC-SHA256 signature of each batch (X-Tessera-Signature); empty: unsigned")
	fs.StringVar(&c.EventTypes, "event-types", c.EventTypes, "events sent: all, none, or a list of sessions, handles, jsep, webrtc, media, plugins")
	fs.IntVar(&c.EventQueue, "event-queue", c.EventQueue, "events waiting per backend; beyond it new ones are dropped and counted")
	fs.IntVar(&c.EventBatch, "event-batch", c.EventBatch, "most events in one POST")
}

// backends splits event_url.
func (c eventConfig) backends() []string {
	var out []string
	for _, u := range strings.Split(c.EventURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func (c eventConfig) validate() error {
	for _, u := range c.backends() {
		if err := events.CheckBackend(u); err != nil {
			return fmt.Errorf("%w: event url: %w", errConfig, err)
		}
	}
	if _, err := events.ParseMask(c.EventTypes); err != nil {
		return fmt.Errorf("%w: event types: %w", errConfig, err)
	}
	if c.EventQueue < 1 || c.EventQueue > 1<<20 {
		return fmt.Errorf("%w: event queue %d (1..1048576)", errConfig, c.EventQueue)
	}
	if c.EventBatch < 1 || c.EventBatch > 10000 {
		return fmt.Errorf("%w: event batch %d (1..10000)", errConfig, c.EventBatch)
	}
	return nil
}

// newEvents starts the event dispatcher; nil when no backend is set.
func (c eventConfig) newEvents(log *slog.Logger) (*events.Dispatcher, error) {
	urls := c.backends()
	if len(urls) == 0 {
		return nil, nil
	}
	d, err := events.New(events.Options{
		Backends: urls, Secret: []byte(c.EventSecret), Types: c.EventTypes,
		QueueLen: c.EventQueue, BatchMax: c.EventBatch, Logger: log.With("component", "events"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	log.Info("event handlers on", "backends", len(urls), "types", c.EventTypes, "signed", c.EventSecret != "")
	return d, nil
}

// roomEvents is the room manager's Lifecycle: nil without a dispatcher.
func roomEvents(d *events.Dispatcher) room.Lifecycle {
	if d == nil {
		return nil
	}
	return events.Rooms{Sink: d}
}

// gatewayEvents is the gateway's EventSink: nil without a dispatcher.
func gatewayEvents(d *events.Dispatcher) janus.EventSink {
	if d == nil {
		return nil
	}
	return d
}
