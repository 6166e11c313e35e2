package room

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/mixer"
)

// claimPacket is one packet a test sender sends: its Opus payload, where
// it sits on the sender's timeline and the RFC 6464 level it claims.
type claimPacket struct {
	payload []byte
	seq     uint16
	ts      uint32
	level   mixer.Level
	lost    bool // never arrives
}

// signalOpts shapes how a test signal is sent.
type signalOpts struct {
	dur  time.Duration // packet duration; 0: 20 ms
	dtx  bool          // the encoder's DTX on; runs of one-byte packets are not sent, as WebRTC senders do
	loss float64       // fraction of packets lost
	// claim, if set, is the level every packet claims instead of the
	// level of the audio it carries.
	claim *mixer.Level
	seed  uint64
}

// sendSignal encodes pcm (48 kHz mono) into the packets a sender sends.
func sendSignal(tb testing.TB, pcm []int16, o signalOpts) []claimPacket {
	tb.Helper()
	if o.dur == 0 {
		o.dur = 20 * time.Millisecond
	}
	enc, err := opus.NewEncoder(opus.EncoderConfig{FrameDuration: o.dur, InbandFEC: true, PacketLossPercent: 10, DTX: o.dtx})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	rng := rand.New(rand.NewPCG(o.seed, 3))
	size := enc.FrameSamples()
	buf := make([]byte, opus.MaxPacketBytes)
	var out []claimPacket
	var seq uint16
	tiny := false
	for at := 0; at+size <= len(pcm); at += size {
		frame := pcm[at : at+size]
		n, err := enc.Encode(frame, buf)
		if err != nil {
			tb.Fatal(err)
		}
		if n <= dtxMaxBytes && tiny {
			continue // DTX: the pause shows as a timestamp jump
		}
		tiny = n <= dtxMaxBytes
		p := claimPacket{payload: append([]byte(nil), buf[:n]...), seq: seq, ts: uint32(at), level: mixer.LevelOfPCM(frame)}
		if o.claim != nil {
			p.level = *o.claim
		}
		p.lost = o.loss > 0 && rng.Float64() < o.loss
		seq++
		out = append(out, p)
	}
	return out
}

// Test signals, 48 kHz mono, with a faint noise floor (-70 dBov) as a
// microphone has.

func testSignal(seconds float64, fill func(out []float64, rng *rand.Rand), seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 5))
	f := make([]float64, int(seconds*mixer.SampleRate))
	fill(f, rng)
	pcm := make([]int16, len(f))
	for i, v := range f {
		v += 0.0003 * (rng.Float64()*2 - 1)
		pcm[i] = int16(max(-32768, min(32767, math.Round(v*32767))))
	}
	return pcm
}

func toneSignal(freq, amp float64) func([]float64, *rand.Rand) {
	return func(out []float64, _ *rand.Rand) {
		for i := range out {
			out[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/mixer.SampleRate)
		}
	}
}

// burstSignal: a tone switched on for on and off for off, edges anywhere
// in a packet.
func burstSignal(freq, amp float64, on, off time.Duration) func([]float64, *rand.Rand) {
	return func(out []float64, _ *rand.Rand) {
		period := int((on + off).Seconds() * mixer.SampleRate)
		onN := int(on.Seconds() * mixer.SampleRate)
		for i := range out {
			if i%period < onN {
				out[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/mixer.SampleRate)
			}
		}
	}
}

// speechSignal: syllables of 80 to 300 ms, voiced (a harmonic series on a
// gliding pitch) or noisy (fricatives), each with its own loudness from
// -45 to -8 dBov, rising and falling, with pauses between them.
func speechSignal(out []float64, rng *rand.Rand) {
	phase := 0.0
	for i := 0; i < len(out); {
		n := int((0.08 + 0.22*rng.Float64()) * mixer.SampleRate)
		peak := 0.01 + 0.6*rng.Float64()*rng.Float64()
		f0 := 90 + 150*rng.Float64()
		glide := (rng.Float64() - 0.5) * 80
		fricative := rng.IntN(4) == 0
		for k := 0; k < n && i < len(out); k, i = k+1, i+1 {
			env := peak * math.Sin(math.Pi*float64(k)/float64(n))
			if fricative {
				out[i] = env * (rng.Float64()*2 - 1)
				continue
			}
			phase += 2 * math.Pi * (f0 + glide*float64(k)/float64(n)) / mixer.SampleRate
			var v float64
			for h := 1.0; h <= 12; h++ {
				v += math.Sin(h*phase) / h
			}
			out[i] = 0.35 * env * v
		}
		i += int(0.25 * rng.Float64() * mixer.SampleRate) // pause
	}
}

// pipSignal: 3 ms clicks every 210 ms (wherever they fall in a packet,
// often in its last milliseconds, which the decoder gives out only with
// the next packet).
func pipSignal(out []float64, _ *rand.Rand) {
	period, n := int(0.21*mixer.SampleRate), int(0.003*mixer.SampleRate)
	for i := range out {
		if i%period < n {
			out[i] = 0.8 * math.Sin(2*math.Pi*2000*float64(i)/mixer.SampleRate)
		}
	}
}

// noiseSignal: white noise whose loudness changes every 100 ms.
func noiseSignal(out []float64, rng *rand.Rand) {
	amp := 0.0
	for i := range out {
		if i%4800 == 0 {
			amp = 0.5 * rng.Float64() * rng.Float64()
		}
		out[i] = amp * (rng.Float64()*2 - 1)
	}
}

// claimRoom is a room without network: its participants' packets are put
// straight into their inputs' queues, tick by tick, as they become due.
type claimRoom struct {
	tb      testing.TB
	r       *Room
	parts   []*participant
	sent    [][]claimPacket
	next    []int
	ticks   int
	dec     *opus.Decoder
	full    []int16           // the full mix, decoded
	talkers [][]ParticipantID // per tick
}

func newClaimRoom(tb testing.TB, senders ...[]claimPacket) *claimRoom {
	tb.Helper()
	r, err := newRoom(Config{ID: 1, Video: VideoConfig{Disabled: true}}, nil, nil, testLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	dec, err := opus.NewDecoder(mixer.SampleRate, 1)
	if err != nil {
		tb.Fatal(err)
	}
	c := &claimRoom{tb: tb, r: r, sent: senders, next: make([]int, len(senders)), dec: dec}
	for i := range senders {
		in, err := newAudioInput(opusMic())
		if err != nil {
			tb.Fatal(err)
		}
		p := &participant{id: ParticipantID(i + 1), volume: 1, in: in}
		r.parts[p.id] = p
		r.order = append(r.order, p)
		c.parts = append(c.parts, p)
	}
	tb.Cleanup(func() {
		for _, p := range c.parts {
			p.in.close()
		}
		for _, enc := range r.encoders {
			enc.Close()
		}
		for _, enc := range r.spare {
			enc.Close()
		}
		dec.Close()
	})
	return c
}

// run plays d of ticks: each tick, the packets whose audio has begun by
// the tick's end arrive, then the room ticks.
func (c *claimRoom) run(d time.Duration) {
	pcm := make([]int16, opus.MaxFrameSamples)
	for range int(d / tick) {
		c.ticks++
		now := uint32(c.ticks * mixer.FrameSamples)
		for i, pkts := range c.sent {
			for c.next[i] < len(pkts) && pkts[c.next[i]].ts < now {
				p := pkts[c.next[i]]
				c.next[i]++
				if p.lost {
					continue
				}
				c.parts[i].in.queue <- audioPacket{seq: p.seq, ts: p.ts, ssrc: uint32(i + 1), level: p.level, hasLevel: true,
					payload: p.payload, arrived: since()}
			}
		}
		c.r.audioTick()
		var talkers []ParticipantID
		for id := range c.r.packets {
			if id != mixer.FullMix {
				talkers = append(talkers, ParticipantID(id))
			}
		}
		slices.Sort(talkers)
		c.talkers = append(c.talkers, talkers)
		n, err := c.dec.Decode(c.r.packets[mixer.FullMix], pcm)
		if err != nil {
			c.tb.Fatalf("tick %d: full mix: %v", c.ticks, err)
		}
		c.full = append(c.full, pcm[:n]...)
	}
}

// level is the amplitude of freq in the last d of the full mix.
func (c *claimRoom) level(freq float64, d time.Duration) float64 {
	n := int(d.Seconds() * mixer.SampleRate)
	return codectest.MedianLevel(c.full[len(c.full)-n:], mixer.SampleRate, freq, 4800)
}

// Two participants talk (440 and 660 Hz tones at 0.25, -16 dBov, each
// packet claiming its true level) while four others send no voice and
// claim the loudest level in every packet, in the ways a sender can: Opus
// silence, DTX, silence with half of its packets lost, 60 ms packets.
// Within a few seconds the liars hold no talker slot and the full mix
// carries both tones at their level. Liars that send real noise (-35
// dBov) while claiming 0 dBov are judged by what they send: the honest
// two keep their slots, and a liar may hold the third, which nobody else
// wants, for its noise is above the talking level.
func TestLevelSpoofing(t *testing.T) {
	loudest := mixer.Level(0)
	silence := testSignal(10, func([]float64, *rand.Rand) {}, 1)
	for _, tc := range []struct {
		name    string
		sig     []int16
		opts    signalOpts
		audible bool // the liars' audio is loud enough to talk
	}{
		{"silence", silence, signalOpts{}, false},
		{"dtx", silence, signalOpts{dtx: true}, false},
		{"half-the-packets-lost", silence, signalOpts{loss: 0.5}, false},
		{"60ms-packets", silence, signalOpts{dur: 60 * time.Millisecond}, false},
		{"quiet-noise", testSignal(10, func(out []float64, rng *rand.Rand) {
			for i := range out {
				out[i] = 0.03 * (rng.Float64()*2 - 1)
			}
		}, 2), signalOpts{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var senders [][]claimPacket
			for i := range 4 {
				o := tc.opts
				o.claim, o.seed = &loudest, uint64(i)
				senders = append(senders, sendSignal(t, tc.sig, o))
			}
			honest := []ParticipantID{5, 6}
			senders = append(senders,
				sendSignal(t, testSignal(10, toneSignal(440, 0.25), 3), signalOpts{}),
				sendSignal(t, testSignal(10, toneSignal(660, 0.25), 4), signalOpts{}))
			c := newClaimRoom(t, senders...)
			c.run(6 * time.Second)

			held := 0
			for _, ts := range c.talkers[len(c.talkers)-100:] { // the last 2 s
				if tc.audible && len(ts) == 3 && slices.Equal(ts[1:], honest) {
					continue // a liar in the spare slot, by its real level
				}
				if !slices.Equal(ts, honest) {
					held++
				}
			}
			if held > 0 {
				t.Errorf("in %d of the last 100 ticks the talkers were not the two honest participants (last: %v)",
					held, c.talkers[len(c.talkers)-1])
			}
			for _, f := range []float64{440, 660} {
				lvl := c.level(f, time.Second)
				t.Logf("full mix: %v Hz at %.3f (%.1f dB from 0.25)", f, lvl, codectest.DB(lvl/0.25))
				if db := codectest.DB(lvl / 0.25); math.Abs(db) > 2 {
					t.Errorf("full mix carries %v Hz at %.3f, want 0.25", f, lvl)
				}
			}
			for _, is := range c.r.collectStats().Inputs {
				liar := !slices.Contains(honest, is.Participant)
				t.Logf("participant %d: %d level mismatches, distrusted %d times", is.Participant, is.LevelMismatches, is.LevelDistrusted)
				if liar && is.LevelDistrusted == 0 && !tc.opts.dtx {
					t.Errorf("liar %d never distrusted", is.Participant)
				}
				if !liar && (is.LevelDistrusted > 0 || is.LevelMismatches > 0) {
					t.Errorf("honest participant %d: %d mismatches, distrusted %d times", is.Participant, is.LevelMismatches, is.LevelDistrusted)
				}
			}
		})
	}
}

// Honest senders, each claiming the true level of every packet: tones
// loud and faint, tone bursts, speech-like syllables (also in 10 and 60 ms
// packets, with DTX and with loss), clicks and noise. None of them is
// ever distrusted.
func TestHonestLevelsTrusted(t *testing.T) {
	const seconds = 15
	for _, tc := range []struct {
		name string
		fill func([]float64, *rand.Rand)
		opts signalOpts
	}{
		{"tone", toneSignal(440, 0.25), signalOpts{}},
		{"faint-tone", toneSignal(1000, 0.01), signalOpts{}},
		{"loud-tone", toneSignal(300, 0.9), signalOpts{}},
		{"bursts", burstSignal(600, 0.5, 100*time.Millisecond, 150*time.Millisecond), signalOpts{}},
		{"short-bursts", burstSignal(1500, 0.3, 15*time.Millisecond, 35*time.Millisecond), signalOpts{}},
		{"speech", speechSignal, signalOpts{}},
		{"speech-10ms", speechSignal, signalOpts{dur: 10 * time.Millisecond}},
		{"speech-60ms", speechSignal, signalOpts{dur: 60 * time.Millisecond}},
		{"speech-dtx", speechSignal, signalOpts{dtx: true}},
		{"speech-loss", speechSignal, signalOpts{loss: 0.1}},
		{"clicks", pipSignal, signalOpts{}},
		{"noise", noiseSignal, signalOpts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.seed = 9
			c := newClaimRoom(t, sendSignal(t, testSignal(seconds, tc.fill, 7), tc.opts))
			c.run(seconds * time.Second)
			talking := 0
			for _, ts := range c.talkers {
				if len(ts) > 0 {
					talking++
				}
			}
			cl := &c.parts[0].in.claims
			t.Logf("talker in %d of %d ticks; %d frames judged, %d mismatches", talking, c.ticks, cl.judged, cl.mismatches)
			if cl.offences > 0 {
				t.Errorf("an honest sender was distrusted %d times (%d of %d judged frames mismatched)", cl.offences, cl.mismatches, cl.judged)
			}
			if cl.judged < 50 {
				t.Errorf("only %d frames judged: the check was hardly exercised", cl.judged)
			}
		})
	}
}

// Over WebRTC: three participants send digital silence claiming the
// loudest level, then two talk (tones at 0.25, -16 dBov, with their true
// levels). The two hear each other at their level: the liars do not keep
// the talker slots.
func TestLevelSpoofingOverWebRTC(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{Description: "spoofing"})
	if err != nil {
		t.Fatal(err)
	}
	var liars []member
	for i := range 3 {
		liars = append(liars, join(t, r, []string{"x", "y", "z"}[i], testpeer.Options{ClaimLoudest: true}))
	}
	a := join(t, r, "a", testpeer.Options{ToneHz: 440})
	b := join(t, r, "b", testpeer.Options{ToneHz: 660})
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Fatalf("the talkers never heard each other: a hears 660 Hz at %.3f, b hears 440 Hz at %.3f",
			a.peer.Level(660, 500*time.Millisecond), b.peer.Level(440, 500*time.Millisecond))
	}
	time.Sleep(time.Second)
	for _, who := range []struct {
		name string
		peer *testpeer.Peer
		freq float64
	}{{"a hears b", a.peer, 660}, {"b hears a", b.peer, 440}} {
		lvl := who.peer.Level(who.freq, time.Second)
		t.Logf("%s at %.3f (%.1f dB from 0.25)", who.name, lvl, codectest.DB(lvl/0.25))
		if db := codectest.DB(lvl / 0.25); math.Abs(db) > 2 {
			t.Errorf("%s at %.3f, want about 0.25", who.name, lvl)
		}
	}
	st, err := r.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Talkers != 2 {
		t.Errorf("%d participants talking, want the 2 honest ones", st.Talkers)
	}
	for _, is := range st.Inputs {
		liar := slices.ContainsFunc(liars, func(m member) bool { return m.id == is.Participant })
		t.Logf("participant %d (liar %v): %d level mismatches, distrusted %d times", is.Participant, liar, is.LevelMismatches, is.LevelDistrusted)
		if liar && is.LevelDistrusted == 0 {
			t.Errorf("liar %d never distrusted", is.Participant)
		}
		if !liar && is.LevelDistrusted > 0 {
			t.Errorf("honest participant %d distrusted", is.Participant)
		}
	}
}

// A sender's claims are set aside once claimLimit of its last claimWindow
// judged frames mismatch, for distrustFor, doubling with each offence up
// to the cap; mismatches spread thinner than that are tolerated.
func TestLevelClaimsPenalty(t *testing.T) {
	var c levelClaims
	for i := range 200 { // one mismatch in three: below the limit
		c.judge(i%3 == 0)
	}
	if c.offences != 0 || !c.trusted() {
		t.Fatalf("scattered mismatches distrusted the sender (%d offences)", c.offences)
	}
	want := int(distrustFor / tick)
	for offence := 1; offence <= maxDistrustDoublings+2; offence++ {
		for range claimLimit {
			c.judge(true)
		}
		if c.offences != uint64(offence) || !c.offended {
			t.Fatalf("offence %d: %d offences counted", offence, c.offences)
		}
		c.offended = false
		if c.ignore != want {
			t.Fatalf("offence %d: claims ignored for %d ticks, want %d", offence, c.ignore, want)
		}
		for range want {
			if c.trusted() {
				t.Fatalf("offence %d: trusted again early", offence)
			}
		}
		if !c.trusted() {
			t.Fatalf("offence %d: still distrusted after %d ticks", offence, want)
		}
		if offence <= maxDistrustDoublings {
			want *= 2
		}
	}
}
