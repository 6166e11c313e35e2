// Package events delivers Tessera's events to HTTP backends in the format
// of Janus's event handlers, so that tools written for Janus's sample
// event handler can consume them.
//
// Each event is a JSON object with emitter, type (1 session, 2 handle, 8
// jsep, 16 webrtc, 32 media, 64 plugin; Janus's bits), subtype for
// webrtc and media events, timestamp (microseconds since the Unix epoch),
// session_id, handle_id, opaque_id and the type's own event object.
// Tessera's room lifecycle and finished recordings are plugin events of
// the plugin "tessera.room".
//
// A Dispatcher POSTs them as JSON arrays, in the order they were emitted,
// to every configured backend: at most BatchMax events per POST, an
// event waiting at most BatchDelay for others. Delivery is at most once:
// each backend has a bounded queue, and an event it cannot take is
// dropped and counted, so that emitting never blocks the room or the
// request that caused it. A failed POST (no answer, 408, 429, 5xx) is
// tried again with exponential backoff up to a bound; then its events are
// counted as failed. With a secret, every POST carries SignatureHeader,
// the HMAC-SHA256 of its exact body; receivers check it with Verify.
//
//	d, err := events.New(events.Options{Backends: []string{"http://127.0.0.1:8090/events"}, Secret: key})
//	...
//	d.Emit(events.Event{Type: events.TypeSession, SessionID: id, Event: map[string]any{"name": "created"}})
//	defer d.Close()
package events
