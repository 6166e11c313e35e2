package sip

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// recordingTx is a server transaction that keeps the responses given to
// it. Its ACK channel is closed, so a refused INVITE does not wait for
// its ACK.
type recordingTx struct {
	mu   sync.Mutex
	res  []*sip.Response
	acks chan *sip.Request
	done chan struct{}
}

func newRecordingTx() *recordingTx {
	tx := &recordingTx{acks: make(chan *sip.Request), done: make(chan struct{})}
	close(tx.acks)
	return tx
}

func (tx *recordingTx) Respond(res *sip.Response) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.res = append(tx.res, res)
	return nil
}
func (tx *recordingTx) Acks() <-chan *sip.Request            { return tx.acks }
func (tx *recordingTx) OnCancel(sip.FnTxCancel) bool         { return true }
func (tx *recordingTx) Terminate()                           {}
func (tx *recordingTx) OnTerminate(f sip.FnTxTerminate) bool { return true }
func (tx *recordingTx) Done() <-chan struct{}                { return tx.done }
func (tx *recordingTx) Err() error                           { return nil }

func (tx *recordingTx) final() *sip.Response {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for _, r := range tx.res {
		if !r.IsProvisional() {
			return r
		}
	}
	return nil
}

// refusingMedia parses nothing and refuses every offer, so that a fuzzed
// INVITE that gets as far as the media is answered 488 at once (an
// answered call would wait for its ACK).
type refusingMedia struct{}

func (refusingMedia) Answer([]byte, func(rune)) (MediaCall, []byte, error) {
	return nil, nil, endpoint.ErrNoMedia
}

// FuzzSIPMessage feeds a datagram through the server's request path: the
// read filter (400 to what does not parse), the SIP parser, then the
// handler of the request's method (seed corpus: requests a phone sends,
// and broken ones, in testdata/fuzz), with a room 1234 that exists and a
// room 77 with a PIN. Whatever comes in, nothing panics, every request
// but an ACK gets a final response, and no call is left up.
func FuzzSIPMessage(f *testing.F) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := room.NewManager(room.ManagerConfig{Workers: 1, DisablePinning: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	defer mgr.Close(context.Background())
	if _, err := mgr.Create(room.Config{ID: testRoom}); err != nil {
		f.Fatal(err)
	}
	if _, err := mgr.Create(room.Config{ID: 77, Pin: "42"}); err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{UDP: "127.0.0.1:0", TCP: "-", Logger: log, InviteRate: -1}, mgr, refusingMedia{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	props := sip.TransportReadProps{Transport: "UDP", RemoteAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(bytes.Trim(data, "\r\n")) == 0 {
			return // a keepalive
		}
		if out, _ := s.readFilter(props, data); len(out) == 0 {
			if res := badRequest(data, "T"); res != nil && !bytes.HasPrefix(res, []byte("SIP/2.0 400 ")) {
				t.Fatalf("the answer to an unparseable request: %q", res)
			}
			return
		}
		msg, err := sip.ParseMessage(data)
		if err != nil {
			t.Fatalf("the filter let through what does not parse: %v", err)
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetTransport("UDP")
		req.SetSource("127.0.0.1:9")
		tx := newRecordingTx()
		s.dispatch(req, tx)
		if !req.IsAck() && tx.final() == nil {
			t.Fatalf("no final response to %s", req.StartLine())
		}
		if n := s.Calls(); n != 0 {
			t.Fatalf("%d calls up", n)
		}
	})
}
