package events

import "errors"

var (
	// ErrInvalidTypes: an event type filter names an unknown type.
	ErrInvalidTypes = errors.New("events: invalid event types")
	// ErrInvalidBackend: a backend URL is not an absolute http or https
	// URL.
	ErrInvalidBackend = errors.New("events: invalid backend URL")
	// ErrInvalidOptions: a queue, batch, timeout or retry setting is out
	// of range.
	ErrInvalidOptions = errors.New("events: invalid options")
	// ErrDelivery: a backend refused a batch or could not be reached.
	ErrDelivery = errors.New("events: delivery failed")
)
