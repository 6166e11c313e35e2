package sip

import (
	"context"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// listenAudio is the caller's RTP socket: what Tessera sends it is
// decoded (PCMU) into 48 kHz PCM on pcm until the socket closes.
func listenAudio(t *testing.T) (port int, pcm <-chan []int16) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	dec, err := g711.NewDecoder(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []int16, 1000)
	go func() {
		defer close(out)
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) != nil || p.PayloadType != 0 {
				continue
			}
			frame := make([]int16, len(p.Payload)*6)
			m, err := dec.Decode(p.Payload, frame)
			if err != nil {
				continue
			}
			select {
			case out <- frame[:m]:
			default:
			}
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port, out
}

// A caller dials a room that has a PIN without giving it: the call is
// answered, the caller hears the prompt (1 kHz beeps) and, once it keys
// the right PIN by INFO, is in the room until its BYE.
func TestSIPpPinPrompt(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{Pin: "4321"})
	port, audio := listenAudio(t)
	heard := make(chan []int16, 1)
	go func() {
		var pcm []int16
		deadline := time.After(5 * time.Second)
		for len(pcm) < 48000 { // the first second
			select {
			case f, ok := <-audio:
				if !ok {
					heard <- pcm
					return
				}
				pcm = append(pcm, f...)
			case <-deadline:
				heard <- pcm
				return
			}
		}
		heard <- pcm
	}()
	seen := make(chan []string, 1)
	go func() {
		var names []string
		waitFor(10*time.Second, func() bool { names = h.participants(); return len(names) > 0 })
		seen <- names
	}()
	if err := h.sipp(t, "pin.xml", "u1", testRoom.String(), "-key", "audio_port", itoa(port),
		"-key", "pin1", "4", "-key", "pin2", "3", "-key", "pin3", "2", "-key", "pin4", "1"); err != nil {
		t.Fatalf("the call failed: %v", err)
	}
	pcm := <-heard
	if len(pcm) < 24000 {
		t.Fatalf("the caller heard %d samples of the prompt, want a second", len(pcm))
	}
	// The first beep: 150 ms of 1 kHz at the start of the prompt.
	beep := codectest.Goertzel(pcm[:7200], toneRate, 1000)
	other := codectest.Goertzel(pcm[:7200], toneRate, 1500)
	gap := codectest.Goertzel(pcm[24000:48000], toneRate, 1000)
	if beep < 0.1 || beep < 10*other || gap > beep/10 {
		t.Fatalf("prompt: 1 kHz at %.3f (1.5 kHz %.3f) in its first 150 ms, %.3f in its silence; want a clear beep",
			beep, other, gap)
	}
	if names := <-seen; !slices.Equal(names, []string{"Deskphone"}) {
		t.Fatalf("participants after the PIN: %q, want [Deskphone]", names)
	}
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants after the BYE: %q", names)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) {
		t.Fatalf("%d calls up after the BYE", h.srv.Calls())
	}
	if k := h.keys(); k != "" {
		t.Fatalf("the PIN's keys reached OnDigit: %q", k)
	}
}

// Three wrong PINs keyed at the prompt: Tessera hangs up, nobody joined,
// and the caller's address counted its wrong guesses.
func TestSIPpPinPromptWrong(t *testing.T) {
	guesses := lockout.New(lockout.Options{MaxFailures: pinAttempts})
	h := newHarness(t, Config{Lockout: guesses}, room.Config{Pin: "4321"})
	joined := make(chan bool, 1)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				joined <- false
				return
			default:
			}
			if len(h.participants()) > 0 {
				joined <- true
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	port, audio := listenAudio(t)
	err := h.sipp(t, "pin_wrong.xml", "u1", testRoom.String(), "-key", "audio_port", itoa(port))
	close(stop)
	if err != nil {
		t.Fatalf("the call failed (no BYE?): %v", err)
	}
	if <-joined {
		t.Fatal("a participant joined with a wrong PIN")
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) {
		t.Fatalf("%d calls up after the BYE", h.srv.Calls())
	}
	// The caller heard the low "wrong" tone and the failure's
	// descending ones (400 Hz is only theirs) before the BYE.
	pcm := drain(audio)
	if w, f := peak(pcm, 300), peak(pcm, 400); w < 0.1 || f < 0.1 {
		t.Fatalf("%d samples heard: 300 Hz peaks at %.3f, 400 Hz at %.3f; want the wrong and failure tones", len(pcm), w, f)
	}
	// Three wrong guesses lock the address out.
	if guesses.Allow("127.0.0.1:5060") {
		t.Fatal("the prompt's wrong PINs were not counted against the address")
	}
}

// A caller who hangs up at the prompt, after a wrong PIN, leaves
// nobody in the room and no call up.
func TestSIPpPinPromptHangUp(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{Pin: "4321"})
	port, audio := listenAudio(t)
	if err := h.sipp(t, "pin.xml", "u1", testRoom.String(), "-key", "audio_port", itoa(port),
		"-key", "pin1", "9", "-key", "pin2", "9", "-key", "pin3", "9", "-key", "pin4", "9"); err != nil {
		t.Fatalf("the call failed: %v", err)
	}
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants: %q", names)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) {
		t.Fatalf("%d calls up after the BYE", h.srv.Calls())
	}
	pcm := drain(audio)
	if w := peak(pcm, 300); w < 0.1 {
		t.Fatalf("300 Hz peaks at %.3f in %d samples: the wrong tone was not heard", w, len(pcm))
	}
}

// drain takes the audio received so far.
func drain(audio <-chan []int16) []int16 {
	var pcm []int16
	for {
		select {
		case f, ok := <-audio:
			if !ok {
				return pcm
			}
			pcm = append(pcm, f...)
		case <-time.After(100 * time.Millisecond):
			return pcm
		}
	}
}

// peak is the strongest freq Hz component of pcm over 100 ms windows.
func peak(pcm []int16, freq float64) float64 {
	best := 0.0
	for i := 0; i+4800 <= len(pcm); i += 2400 {
		best = max(best, codectest.Goertzel(pcm[i:i+4800], toneRate, freq))
	}
	return best
}

// A caller keys the PIN as RTP telephone-events (RFC 4733): it joins the
// room once the last key's event ends.
func TestPinPromptRTPEvents(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{Pin: "4321"})
	p := newPhone(t)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	offer := strings.Replace(phoneOffer, "m=audio 40000 ", "m=audio "+itoa(conn.LocalAddr().(*net.UDPAddr).Port)+" ", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := sip.Uri{Scheme: "sip", User: testRoom.String(), Host: "127.0.0.1", Port: h.udp.Port}
	from := &sip.FromHeader{DisplayName: "Keypad", Address: sip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	d, err := p.dialog.Invite(ctx, to, []byte(offer), sip.NewHeader("Content-Type", "application/sdp"), from)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("the call was not answered: %v", err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`m=audio (\d+) `).FindStringSubmatch(string(d.InviteResponse.Body()))
	if m == nil {
		t.Fatalf("no audio port in the answer %q", d.InviteResponse.Body())
	}
	dst, _ := net.ResolveUDPAddr("udp", "127.0.0.1:"+m[1])
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants before the PIN: %q", names)
	}
	seq, ts := uint16(1), uint32(1000)
	for _, key := range []byte{4, 3, 2, 1} {
		for i := range 4 {
			end := byte(0)
			if i >= 2 {
				end = 0x80 // the end of the event, sent twice
			}
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: seq, Timestamp: ts, SSRC: 7, Marker: i == 0},
				Payload: []byte{key, end | 10, 0, byte(160 * (i + 1))}}
			b, _ := pkt.Marshal()
			if _, err := conn.WriteToUDP(b, dst); err != nil {
				t.Fatal(err)
			}
			seq++
			time.Sleep(20 * time.Millisecond)
		}
		ts += 1600
	}
	var names []string
	if !waitFor(5*time.Second, func() bool { names = h.participants(); return len(names) == 1 }) || names[0] != "Keypad" {
		t.Fatalf("participants after the PIN: %q, want [Keypad]", names)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 && len(h.participants()) == 0 }) {
		t.Fatalf("%d calls, participants %q after the BYE", h.srv.Calls(), h.participants())
	}
}

// A caller who keys no PIN within Config.PinWait hears the failure
// tones and gets a BYE; nobody joined.
func TestPinPromptTimeout(t *testing.T) {
	h := newHarness(t, Config{PinWait: 500 * time.Millisecond}, room.Config{Pin: "4321"})
	p := newPhone(t)
	start := time.Now()
	if _, code := p.call(t, h, testRoom.String(), "Silent"); code != 200 {
		t.Fatalf("call answered %d, want 200 for the prompt", code)
	}
	select {
	case <-p.byes:
	case <-time.After(10 * time.Second):
		t.Fatal("no BYE after the PIN wait")
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("BYE after %v, before the PIN wait", d)
	}
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants: %q", names)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) {
		t.Fatalf("%d calls up after the BYE", h.srv.Calls())
	}
}

// The server closing during the prompt hangs up the call (BYE), and
// Close returns once the prompt's goroutines ended.
func TestPinPromptServerClose(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{Pin: "4321"})
	p := newPhone(t)
	if _, code := p.call(t, h, testRoom.String(), "Waiting"); code != 200 {
		t.Fatalf("call answered %d, want 200 for the prompt", code)
	}
	time.Sleep(200 * time.Millisecond) // the prompt plays
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.byes:
	case <-time.After(time.Second):
		t.Fatal("no BYE when the server closed")
	}
	if n := h.srv.Calls(); n != 0 {
		t.Fatalf("%d calls up after Close", n)
	}
}
