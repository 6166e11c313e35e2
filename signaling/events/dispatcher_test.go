package events_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/signaling/events"
	"github.com/tessera-mcu/tessera/signaling/events/eventstest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newDispatcher(t *testing.T, o events.Options) *events.Dispatcher {
	t.Helper()
	o.Logger = quiet()
	d, err := events.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func session(id uint64) events.Event {
	return events.Event{Type: events.TypeSession, SessionID: id, Event: map[string]any{"name": "created"}}
}

// Events leave in order, at most BatchMax per POST, signed; a lone event
// leaves once BatchDelay has passed without company.
func TestBatchesInOrderAndSigned(t *testing.T) {
	secret := []byte("s3cret")
	rcv := eventstest.New(t, secret)
	d := newDispatcher(t, events.Options{Backends: []string{rcv.URL}, Secret: secret, BatchMax: 3, BatchDelay: 100 * time.Millisecond})
	for i := 1; i <= 7; i++ {
		d.Emit(session(uint64(i)))
	}
	got := rcv.Wait(t, "7 events", func(e []eventstest.Event) bool { return len(e) == 7 })
	for i, e := range got {
		if e.SessionID != uint64(i+1) || e.Type != events.TypeSession || e.Emitter != "Tessera" || e.Timestamp == 0 {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	batches := rcv.Batches()
	if len(batches) < 3 {
		t.Fatalf("7 events in %d POSTs with at most 3 each", len(batches))
	}
	for _, b := range batches {
		if len(b) > 3 {
			t.Fatalf("a POST of %d events (max 3)", len(b))
		}
	}
	if rcv.Bad() != 0 {
		t.Fatalf("%d POSTs badly signed", rcv.Bad())
	}
	// A lone event is not held back for company that never comes.
	d.Emit(session(8))
	rcv.Wait(t, "the lone event", func(e []eventstest.Event) bool { return len(e) == 8 })
	// The dispatcher counts a batch sent once its answer is read, just
	// after the receiver has it.
	deadline := time.Now().Add(5 * time.Second)
	st := d.Stats()
	for st.Sent != 8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		st = d.Stats()
	}
	if st.Queued != 8 || st.Sent != 8 || st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSignatureVerification(t *testing.T) {
	key, body := []byte("key"), []byte(`[{"type":1}]`)
	sig := events.Sign(key, body)
	if !events.Verify(key, body, sig) {
		t.Fatal("own signature refused")
	}
	for name, ok := range map[string]bool{
		"wrong key":     events.Verify([]byte("other"), body, sig),
		"changed body":  events.Verify(key, []byte(`[{"type":2}]`), sig),
		"no prefix":     events.Verify(key, body, sig[len("sha256="):]),
		"empty":         events.Verify(key, body, ""),
		"not hex":       events.Verify(key, body, "sha256=zz"),
		"other hash id": events.Verify(key, body, "sha1="+sig[len("sha256="):]),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A receiver that never answers: Emit still returns at once, the queue
// holds at most QueueLen, and the rest is dropped and counted.
func TestFullQueueDropsAndCounts(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer once.Do(func() { close(release) })
	d := newDispatcher(t, events.Options{Backends: []string{stuck.URL}, QueueLen: 5, BatchMax: 1, Timeout: time.Minute,
		FlushTimeout: 100 * time.Millisecond})
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			d.Emit(session(uint64(i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Emit blocked behind a receiver that does not answer")
	}
	st := d.Stats()
	// One event is in the stuck POST, at most QueueLen wait.
	if st.Queued > 6 || st.Queued+st.Dropped != n {
		t.Fatalf("stats %+v: want at most 6 queued and the rest of %d dropped", st, n)
	}
	once.Do(func() { close(release) })
}

// A receiver that fails its first POSTs with 503 gets the events once it
// recovers; the waits between tries grow.
func TestRetriesWithBackoff(t *testing.T) {
	rcv := eventstest.New(t, nil)
	var mu sync.Mutex
	var tries []time.Time
	rcv.Fail(func(n int) int {
		mu.Lock()
		tries = append(tries, time.Now())
		mu.Unlock()
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	base := 40 * time.Millisecond
	d := newDispatcher(t, events.Options{Backends: []string{rcv.URL}, RetryBase: base, Retries: 5})
	d.Emit(session(1))
	d.Emit(session(2))
	got := rcv.Wait(t, "the events after 3 failures", func(e []eventstest.Event) bool { return len(e) == 2 })
	if got[0].SessionID != 1 || got[1].SessionID != 2 {
		t.Fatalf("events %+v", got)
	}
	// The receiver has the events before the dispatcher has read its
	// answer to the last POST and counted it sent.
	st := d.Stats()
	for deadline := time.Now().Add(2 * time.Second); st.Sent < 2 && time.Now().Before(deadline); st = d.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st.Retried != 3 || st.Sent != 2 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	// The wait before retry n is at least half of base·2^(n-1).
	for i := 1; i < len(tries); i++ {
		if gap, least := tries[i].Sub(tries[i-1]), base<<(i-1)/2; gap < least {
			t.Errorf("retry %d after %v, want at least %v", i, gap, least)
		}
	}
}

// A refusal that will not pass (400) is not retried; a receiver that
// keeps failing is given up on after Retries, and the events count as
// failed.
func TestGivesUp(t *testing.T) {
	for name, tc := range map[string]struct {
		status, posts int
	}{"400 is final": {http.StatusBadRequest, 1}, "500 up to the bound": {http.StatusInternalServerError, 3}} {
		t.Run(name, func(t *testing.T) {
			rcv := eventstest.New(t, nil)
			rcv.Fail(func(int) int { return tc.status })
			d := newDispatcher(t, events.Options{Backends: []string{rcv.URL}, RetryBase: time.Millisecond, Retries: 2})
			d.Emit(session(1))
			for deadline := time.Now().Add(10 * time.Second); d.Stats().Failed == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if st := d.Stats(); st.Failed != 1 || st.Sent != 0 || rcv.Posts() != tc.posts {
				t.Fatalf("stats %+v after %d POSTs, want 1 failed after %d", st, rcv.Posts(), tc.posts)
			}
		})
	}
}

// Close delivers what is queued; with a backend that is down, it gives up
// after FlushTimeout and counts what it could not send.
func TestCloseFlushes(t *testing.T) {
	rcv := eventstest.New(t, nil)
	d, err := events.New(events.Options{Backends: []string{rcv.URL}, BatchDelay: time.Hour, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		d.Emit(session(uint64(i)))
	}
	d.Close()
	if n := len(rcv.Events()); n != 5 {
		t.Fatalf("%d of 5 events delivered by Close", n)
	}
	d.Emit(session(6))
	if st := d.Stats(); st.Sent != 5 || st.Dropped != 1 {
		t.Fatalf("stats after close %+v", st)
	}

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/events"
	ln.Close()
	d, err = events.New(events.Options{Backends: []string{down}, RetryBase: time.Hour, FlushTimeout: 200 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		d.Emit(session(uint64(i)))
	}
	closed := make(chan struct{})
	go func() { d.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with the backend down")
	}
	if st := d.Stats(); st.Sent != 0 || st.Failed+st.Dropped != 5 {
		t.Fatalf("stats %+v: want all 5 failed or dropped", st)
	}
}

// Every event goes to every backend; the type filter keeps others out.
func TestBackendsAndFilter(t *testing.T) {
	a, b := eventstest.New(t, nil), eventstest.New(t, nil)
	d := newDispatcher(t, events.Options{Backends: []string{a.URL, b.URL}, Types: "sessions,plugins", BatchDelay: 10 * time.Millisecond})
	d.Emit(events.Event{Type: events.TypeHandle, Event: map[string]any{"name": "attached"}})
	d.Emit(session(1))
	d.Emit(events.Event{Type: events.TypeMedia, Event: map[string]any{}})
	d.Emit(events.Event{Type: events.TypePlugin, Event: map[string]any{"plugin": "p"}})
	for _, r := range []*eventstest.Receiver{a, b} {
		got := r.Wait(t, "2 events", func(e []eventstest.Event) bool { return len(e) >= 2 })
		if len(got) != 2 || got[0].Type != events.TypeSession || got[1].Type != events.TypePlugin {
			t.Fatalf("got %+v", got)
		}
	}
	if !d.Wants(events.TypeSession) || d.Wants(events.TypeHandle) {
		t.Fatal("Wants disagrees with the filter")
	}
}

func TestParseMask(t *testing.T) {
	for in, want := range map[string]events.Mask{
		"": events.MaskAll, "all": events.MaskAll, "none": 0,
		"session,handle,jsep":               events.Mask(events.TypeSession | events.TypeHandle | events.TypeJSEP),
		" Sessions , webrtc,media,plugins ": events.Mask(events.TypeSession | events.TypeWebRTC | events.TypeMedia | events.TypePlugin),
	} {
		if got, err := events.ParseMask(in); err != nil || got != want {
			t.Errorf("ParseMask(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := events.ParseMask("sessions,bogus"); err == nil {
		t.Error("unknown type accepted")
	}
	for _, u := range []string{"", "ftp://x/y", "127.0.0.1:80/x", "http:///x"} {
		if _, err := events.New(events.Options{Backends: []string{u}}); err == nil {
			t.Errorf("backend %q accepted", u)
		}
	}
}
