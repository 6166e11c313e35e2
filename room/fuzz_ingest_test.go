package room

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
)

// fuzzPool is real libopus output to build fuzzed streams from: a few
// packets of a tone in every duration Opus allows, and DTX packets of
// silence. tone[i] and dtx[i] index the first packet of opusDurations[i].
type fuzzPool struct {
	pkts      [][]byte
	tone, dtx []byte
	// talk is what the two other participants send: 20 ms packets of
	// 660 and 990 Hz.
	talk [2][][]byte
}

var opusPool = sync.OnceValue(func() fuzzPool {
	var pool fuzzPool
	buf := make([]byte, opus.MaxPacketBytes)
	for _, d := range opusDurations {
		for _, dtx := range []bool{false, true} {
			enc, err := opus.NewEncoder(opus.EncoderConfig{FrameDuration: d, InbandFEC: true, PacketLossPercent: 10, DTX: dtx})
			if err != nil {
				panic(err)
			}
			if dtx {
				pool.dtx = append(pool.dtx, byte(len(pool.pkts)))
			} else {
				pool.tone = append(pool.tone, byte(len(pool.pkts)))
			}
			pcm := make([]int16, enc.FrameSamples())
			pos := 0
			for i := range 30 {
				if !dtx {
					pos = codectest.Tone(pcm, 1, 48000, 440, 0.25, pos)
				}
				n, err := enc.Encode(pcm, buf)
				if err != nil {
					panic(err)
				}
				// Keep the first packets of a tone and, for silence, the
				// small DTX ones the encoder falls into.
				if !dtx && i < 3 || dtx && n <= dtxMaxBytes && i > 25 {
					pool.pkts = append(pool.pkts, append([]byte(nil), buf[:n]...))
				}
			}
			enc.Close()
		}
	}
	pool.talk = [2][][]byte{encodedTone(panicTB{}, 660, 10), encodedTone(panicTB{}, 990, 10)}
	return pool
})

// panicTB stands in for a test where there is none (a value built once
// for every test): a failure panics.
type panicTB struct{ testing.TB }

func (panicTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

// audioFuzzOp is the size of one packet operation in a fuzzed audio
// stream: op, pool index, sequence step, timestamp step, flags.
const audioFuzzOp = 5

// fuzzAudioStream describes a stream for the seed corpus: packets from
// pool entry sel, each stepping sequence by 1 and timestamp by samples,
// with a tick after every packet whose media time completes 20 ms. Two
// packets go first, as a network that delivers a little early does.
func fuzzAudioStream(sel byte, samples int, packets int) []byte {
	out := []byte{1, sel, 1, byte(samples / 120), 0}
	step := byte(samples / 120)
	done := 0
	for range packets {
		out = append(out, 1, sel, 1, step, 0)
		done += samples
		for done >= mixer.FrameSamples {
			out = append(out, 0)
			done -= mixer.FrameSamples
		}
	}
	return out
}

// FuzzAudioIngest drives the whole audio path as the room runs it: RTP
// packets (real Opus of every duration, DTX, or random bytes, with any
// sequence and timestamp pattern, marker, SSRC changes, a claimed level)
// are marshalled, parsed back as the transport does, pushed into a
// participant's input, and the room ticks: jitter buffer, decode, talker
// selection, mix, encode and hand-off to every listener. Two other
// participants talk normally. Nothing may panic, the fuzzed input's buffer
// stays bounded, and every listener gets its 20 ms each tick.
func FuzzAudioIngest(f *testing.F) {
	pool := opusPool()
	for i, d := range opusDurations {
		samples := int(d.Seconds() * 48000)
		f.Add(fuzzAudioStream(pool.tone[i], samples, 40))
		f.Add(fuzzAudioStream(pool.dtx[i], samples, 40))
	}
	// Mixed durations in one stream.
	var mixed []byte
	for i := range opusDurations {
		mixed = append(mixed, fuzzAudioStream(pool.tone[i], int(opusDurations[i].Seconds()*48000), 6)...)
	}
	f.Add(mixed)
	// Reordering, duplicates, a sequence wrap, a timestamp jump, an SSRC
	// change, random payloads.
	f.Add([]byte{1, 0, 2, 8, 0, 1, 1, 0xff, 0xf8, 0, 0, 1, 1, 2, 8, 0, 1, 1, 0, 0, 0, 0, 0,
		1, 2, 0x80, 8, 0x40, 0, 1, 2, 1, 8, 0x20, 0, 1, byte(len(pool.pkts)), 1, 8, 0x1f, 0xde, 0xad, 0, 0})
	f.Add(append(fuzzAudioStream(pool.tone[8], 5760, 20), fuzzAudioStream(pool.tone[0], 120, 60)...))
	f.Fuzz(func(t *testing.T, ops []byte) {
		runAudioFuzz(t, pool, ops)
	})
}

func runAudioFuzz(t *testing.T, fp fuzzPool, ops []byte) {
	pool := fp.pkts
	r, err := newRoom(Config{ID: 1, Video: VideoConfig{Disabled: true}}, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sink := make(chan Frame, 16)
	var parts []*participant
	// Participant 1 is the fuzzed microphone, 2 and 3 talk, and 4 and 5
	// are telephones: the fuzzed packets reach their G.711 and G.722
	// decoders too, and they hear their mixes in G.711 and G.722.
	for i := range 5 {
		mic, acodec := opusMic(), CodecOpus
		if i >= 3 {
			acodec = []string{CodecPCMU, CodecG722}[i-3]
			var err error
			if mic, err = micCodecFor(acodec); err != nil {
				t.Fatal(err)
			}
		}
		in, err := newAudioInput(mic)
		if err != nil {
			t.Fatal(err)
		}
		defer in.close()
		p := &participant{id: ParticipantID(i + 1), volume: 1, in: in, out: &Output{ch: sink}, acodec: acodec}
		r.parts[p.id] = p
		r.order = append(r.order, p)
		parts = append(parts, p)
	}
	defer func() {
		clear(r.codecPackets)
		r.dropIdleCodecMixes()
		for _, enc := range r.encoders {
			enc.Close()
		}
		for _, enc := range r.spare {
			enc.Close()
		}
	}()
	talk := fp.talk
	const levelExt = 1
	var (
		seq  uint16 = 65500
		ts   uint32 = 0xffff0000
		ssrc uint32 = 1
		good uint16
	)
	ticks := 0
	tickRoom := func() {
		for i := range 2 {
			parts[i+1].in.push(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: good,
				Timestamp: uint32(good) * mixer.FrameSamples, SSRC: uint32(10 + i)}, Payload: talk[i][int(good)%10]}, 0)
		}
		good++
		r.audioTick()
		ticks++
		for range r.order {
			select {
			case <-sink:
			default:
				t.Fatalf("tick %d: a listener got no packet", ticks)
			}
		}
		for _, fuzzed := range []*participant{parts[0], parts[3], parts[4]} {
			in := fuzzed.in
			if in.jb.buffered() > maxPackets || in.jb.depth() > jitterMax+6 {
				t.Fatalf("tick %d: fuzzed %s input holds %d packets, %d frames", ticks, in.codec.name, in.jb.buffered(), in.jb.depth())
			}
			if len(in.fifo) > cap(in.fifo) || in.owed < 0 {
				t.Fatalf("tick %d: %s fifo %d/%d owed %d", ticks, in.codec.name, len(in.fifo), cap(in.fifo), in.owed)
			}
		}
	}
	for i := 0; i < len(ops) && ticks < 150; {
		op := ops[i]
		if op&3 == 0 {
			tickRoom()
			i++
			continue
		}
		if i+audioFuzzOp > len(ops) {
			break
		}
		sel, dseq, dts, flags := ops[i+1], ops[i+2], ops[i+3], ops[i+4]
		i += audioFuzzOp
		var payload []byte
		if k := int(sel) % (len(pool) + 1); k < len(pool) {
			payload = pool[k]
		} else {
			n := min(int(flags&0x1f)*4, len(ops)-i)
			payload = ops[i : i+n]
			i += n
		}
		seq += uint16(int8(dseq))
		ts += uint32(int32(int8(dts)) * 120)
		if flags&0x40 != 0 {
			ts += binary.BigEndian.Uint32([]byte{dts, dseq, sel, flags})
		}
		if flags&0x20 != 0 {
			ssrc++
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts,
			SSRC: ssrc, Marker: flags&0x80 != 0}, Payload: payload}
		level, _ := rtp.AudioLevelExtension{Level: flags & 0x1f, Voice: true}.Marshal()
		if err := pkt.SetExtension(levelExt, level); err != nil {
			t.Fatal(err)
		}
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// As the transport hands it over: parsed from the wire.
		var got rtp.Packet
		if err := got.Unmarshal(raw); err != nil {
			continue
		}
		parts[0].in.push(&got, levelExt)
		parts[3].in.push(&got, 0)
		parts[4].in.push(&got, 0)
	}
	for range 10 { // drain what is left through the buffer
		tickRoom()
	}
}
