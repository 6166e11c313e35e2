package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// backend is one URL's queue and the goroutine that empties it.
type backend struct {
	d   *Dispatcher
	url string
	q   chan Event
	// failLog limits the lines about failed POSTs.
	failLog loglimit.Limiter
}

// run batches and delivers until the dispatcher closes, then flushes.
func (b *backend) run() {
	d := b.d
	batch := make([]Event, 0, d.opts.BatchMax)
	for {
		select {
		case e := <-b.q:
			batch = append(batch, e)
		case <-d.stop:
			b.flush(batch)
			return
		}
		batch = b.fill(batch)
		b.deliver(batch)
		batch = batch[:0]
	}
}

// fill adds queued events to batch until it holds BatchMax, BatchDelay
// has passed since its first, or the dispatcher closes.
func (b *backend) fill(batch []Event) []Event {
	d := b.d
	timer := time.NewTimer(d.opts.BatchDelay)
	defer timer.Stop()
	for len(batch) < d.opts.BatchMax {
		select {
		case e := <-b.q:
			batch = append(batch, e)
		case <-timer.C:
			return batch
		case <-d.stop:
			return batch
		}
	}
	return batch
}

// flush delivers what is left once the dispatcher is closed, until the
// queue is empty or the flush deadline ends the dispatcher's context;
// whatever is then left is counted as dropped.
func (b *backend) flush(batch []Event) {
	d := b.d
	for {
	take:
		for len(batch) < d.opts.BatchMax {
			select {
			case e := <-b.q:
				batch = append(batch, e)
			default:
				break take
			}
		}
		if len(batch) == 0 {
			return
		}
		if d.ctx.Err() != nil {
			d.dropped.Add(uint64(len(batch) + len(b.q)))
			return
		}
		b.deliver(batch)
		batch = batch[:0]
	}
}

// deliver POSTs a batch, trying again with backoff after failures that
// may pass (no answer, 408, 429, 5xx), and counts the outcome.
func (b *backend) deliver(batch []Event) {
	d := b.d
	body, err := json.Marshal(batch)
	if err != nil {
		// An emitter put something JSON cannot carry in an event.
		d.failed.Add(uint64(len(batch)))
		b.failLog.Warn(d.opts.Logger, "event batch cannot be encoded; dropping it", "backend", b.url, "events", len(batch), "err", err)
		return
	}
	var sig string
	if len(d.opts.Secret) > 0 {
		sig = Sign(d.opts.Secret, body)
	}
	for attempt := 0; ; attempt++ {
		retry, err := b.post(body, sig)
		if err == nil {
			d.sent.Add(uint64(len(batch)))
			return
		}
		if !retry || attempt >= d.opts.Retries || !b.wait(attempt) {
			d.failed.Add(uint64(len(batch)))
			b.failLog.Warn(d.opts.Logger, "event batch not delivered", "backend", b.url, "events", len(batch),
				"tries", attempt+1, "err", err, "failed", d.failed.Load())
			return
		}
		d.retried.Add(1)
	}
}

// wait sleeps before retry number attempt+1: RetryBase·2^attempt, at most
// RetryMax, less a random part of up to half. It reports false when the
// dispatcher's context ended meanwhile (Close's flush ran out).
func (b *backend) wait(attempt int) bool {
	d := b.d
	delay := d.opts.RetryMax
	if attempt < 30 {
		delay = min(d.opts.RetryBase<<attempt, d.opts.RetryMax)
	}
	delay -= time.Duration(rand.Int64N(int64(delay/2) + 1))
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-d.ctx.Done():
		return false
	}
}

// post sends one batch. It reports whether a failure may pass on a later
// try.
func (b *backend) post(body []byte, sig string) (retry bool, err error) {
	d := b.d
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrDelivery, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tessera event handler")
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return true, fmt.Errorf("%w: %w", ErrDelivery, err)
	}
	// Read a little of the answer so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("%w: %s", ErrDelivery, resp.Status)
	default:
		return false, fmt.Errorf("%w: %s", ErrDelivery, resp.Status)
	}
}
