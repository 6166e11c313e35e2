package room

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/mixer"
)

// audioQueueLen bounds the packets waiting between a participant's network
// reader and the room tick: 640 ms of 20 ms packets.
const audioQueueLen = 32

// audioInput is one participant's microphone on its way into the mix. The
// network reader goroutine fills queue; everything else belongs to the room
// goroutine.
//
// The jitter buffer hands out slots of the sender's packet duration (20 ms
// from browsers; 10, 40 or 60 ms from other endpoints); a tick needs
// exactly 20 ms. Slots popped but not yet played wait as decoded samples
// (fifo) or, for an input that is not being mixed, as a count of samples
// never decoded (owed), so every input's timeline advances 20 ms a tick
// whether it is heard or not.
type audioInput struct {
	queue   chan audioPacket
	dropped atomic.Uint64 // queue full
	packets atomic.Uint64
	arrival atomic.Int64 // unix nanoseconds of the last packet

	jb    jitterBuffer
	codec micCodec
	dec   audioDecoder
	stale bool // the decoder skipped packets: reset before decoding again

	fifo  []int16 // decoded, not yet played
	owed  int     // samples popped, not yet played, never decoded
	slots []slot  // popped for this tick, not yet decoded
	// playing: this tick carries the participant's audio (a packet, or
	// the rest of one), not concealment or silence.
	playing bool
	decoded bool    // this tick's slots went into fifo
	pcm     []int16 // decode buffer (MaxFrameSamples)
	frame   []int16 // this tick's 20 ms
	level   mixer.Level
	last    mixer.Level // level of the last audible frame

	// wait is how long the packet this tick plays waited since it arrived
	// (jitter buffer included): how late the voice is mixed.
	wait time.Duration

	receiving  bool
	decodeErrs uint64
	errLog     loglimit.Limiter
	// count is the manager's media counters (nil: an input made alone).
	count *counters

	// claims checks the sender's RFC 6464 levels against its audio.
	claims levelClaims
}

// slot is one stretch of an input's timeline popped from its jitter
// buffer: what plays there and for how many samples.
type slot struct {
	act playKind
	pkt audioPacket
	n   int
}

// maxSlots bounds the slots one tick can take: 2.5 ms packets, Opus's
// shortest, make eight.
const maxSlots = mixer.FrameSamples / 120

func newAudioInput(codec micCodec) (*audioInput, error) {
	dec, err := codec.newDecoder()
	if err != nil {
		return nil, err
	}
	return &audioInput{
		queue:  make(chan audioPacket, audioQueueLen),
		jb:     jitterBuffer{duration: codec.samples},
		codec:  codec,
		dec:    dec,
		fifo:   make([]int16, 0, opus.MaxFrameSamples+mixer.FrameSamples),
		slots:  make([]slot, 0, maxSlots),
		pcm:    make([]int16, opus.MaxFrameSamples),
		frame:  make([]int16, mixer.FrameSamples),
		level:  mixer.Silent,
		last:   mixer.Silent,
		claims: levelClaims{fresh: claimFresh},
	}, nil
}

// read pulls RTP from the participant's audio track until it ends. It runs
// on its own goroutine and never blocks on the room: a full queue drops.
func (in *audioInput) read(src RTPReader, levelExt uint8) {
	for {
		pkt, err := src.ReadRTP()
		if err != nil {
			return
		}
		in.push(pkt, levelExt)
	}
}

func (in *audioInput) push(pkt *rtp.Packet, levelExt uint8) {
	in.packets.Add(1)
	now := time.Now()
	in.arrival.Store(now.UnixNano())
	p := audioPacket{seq: pkt.SequenceNumber, ts: pkt.Timestamp * in.codec.scale, ssrc: pkt.SSRC, payload: pkt.Payload, arrived: now.Sub(epoch)}
	if levelExt != 0 {
		if raw := pkt.GetExtension(levelExt); len(raw) > 0 {
			var ext rtp.AudioLevelExtension
			if ext.Unmarshal(raw) == nil {
				p.level, p.hasLevel = mixer.Level(min(ext.Level, 127)), true
			}
		}
	}
	select {
	case in.queue <- p:
	default:
		in.dropped.Add(1)
	}
}

// prepare runs at the start of a tick: it takes in what arrived, pops
// the slots that make up this tick's 20 ms and reports the level. Inputs
// whose sender gives no RFC 6464 level, or whose levels are distrusted
// (see levelClaims), are decoded here to measure one. A DTX packet
// carries no voice: its level is not taken.
func (in *audioInput) prepare(log *slog.Logger) mixer.Level {
	trusted := in.claims.trusted()
	for {
		select {
		case p := <-in.queue:
			in.jb.insert(p)
			continue
		default:
		}
		break
	}
	if in.jb.reset {
		in.jb.reset = false
		in.stale = true
	}
	in.decoded = false
	in.slots = in.slots[:0]
	carried := len(in.fifo) + in.owed
	have, packets, fillers := carried, 0, 0
	levelKnown, level := true, mixer.Silent
	for have < mixer.FrameSamples && len(in.slots) < maxSlots {
		act, pkt := in.jb.pop()
		if act == playNone {
			break // not started, or stopped: the rest of the tick is silent
		}
		n := int(in.jb.slot())
		if act == playPacket {
			n = pkt.dur
			if packets == 0 && pkt.arrived != 0 {
				in.wait = since() - pkt.arrived
			}
			packets++
			if !pkt.hasLevel || !trusted {
				levelKnown = false
			} else if pkt.level < level && len(pkt.payload) > dtxMaxBytes {
				level = pkt.level // lower is louder
			}
		} else {
			fillers++
		}
		in.slots = append(in.slots, slot{act: act, pkt: pkt, n: n})
		have += n
	}
	in.playing = packets > 0 || (carried > 0 && fillers == 0)
	switch {
	case packets > 0 && !levelKnown:
		in.decode(log)
		in.level = mixer.LevelOfPCM(in.frame)
		in.last = in.level
	case packets > 0:
		in.level, in.last = level, level
	case carried > 0 && len(in.slots) == 0:
		// The rest of a long packet: its level stands, and its voice has
		// waited one more tick.
		in.wait += tick
	case fillers > 0:
		in.level = in.last // concealment or comfort noise
	default:
		in.level = mixer.Silent
	}
	return in.level
}

// audio returns this tick's 20 ms of PCM, decoding it if prepare did not.
func (in *audioInput) audio(log *slog.Logger) []int16 {
	if !in.decoded {
		in.decode(log)
	}
	return in.frame
}

// skip notes that this tick's audio was not needed (the input is not a
// talker): nothing is decoded, the timeline still advances 20 ms, and the
// decoder, having missed packets, is reset when next used.
func (in *audioInput) skip() {
	if in.decoded {
		return
	}
	in.claims.interrupt()
	for _, sl := range in.slots {
		in.owed += sl.n
		if sl.act == playPacket || sl.act == playFEC {
			in.stale = true
		}
	}
	in.slots = in.slots[:0]
	in.consume(nil)
}

// decode turns this tick's slots into samples and fills frame. While the
// sender's levels are trusted, the levels its packets claimed are weighed
// against the audio decoded (see levelClaims).
func (in *audioInput) decode(log *slog.Logger) {
	in.decoded = true
	if in.owed > 0 {
		// Time skipped while not mixed plays as silence: the decoder did
		// not follow it.
		n := len(in.fifo)
		in.fifo = in.fifo[:n+min(in.owed, cap(in.fifo)-n)]
		clear(in.fifo[n:])
		in.owed = 0
	}
	start, slots := len(in.fifo), len(in.slots)
	var claimed float64
	var claimedN int
	for _, sl := range in.slots {
		n := in.decodeSlot(log, sl)
		if room := cap(in.fifo) - len(in.fifo); n > room {
			n = room // a malformed stream: never grow
		}
		in.fifo = append(in.fifo, in.pcm[:n]...)
		if sl.act != playPacket {
			continue
		}
		if in.claims.fresh > 0 {
			in.claims.fresh--
		} else if sl.pkt.hasLevel && len(sl.pkt.payload) > dtxMaxBytes {
			claimed += levelPower[min(sl.pkt.level, mixer.Silent)] * float64(n)
			claimedN += n
		}
	}
	in.slots = in.slots[:0]
	if slots > 0 && in.claims.ignore == 0 && (claimedN > 0 || in.claims.claimed > 0) {
		in.claims.frame(claimed, claimedN, energy(in.fifo[start:]))
	}
	in.consume(in.frame)
}

// decodeSlot decodes one slot into pcm and returns its sample count (the
// slot's length: what the decoder gives is cut or padded to it).
func (in *audioInput) decodeSlot(log *slog.Logger, sl slot) int {
	want := min(sl.n, len(in.pcm))
	if in.stale && sl.act == playPacket {
		if dec, err := in.codec.newDecoder(); err == nil {
			in.dec.Close()
			in.dec = dec
			in.stale = false
			in.claims.restart()
		}
	}
	var n int
	var err error
	switch {
	case in.stale:
		// Concealment or FEC on a decoder that missed packets would be
		// noise: silence until the next packet resets it.
	case sl.act == playPacket:
		n, err = in.dec.Decode(sl.pkt.payload, in.pcm)
	case sl.act == playFEC:
		n, err = in.dec.RecoverFEC(sl.pkt.payload, in.pcm, want)
	default: // playConceal, playDTX
		n, err = in.dec.Conceal(in.pcm, want)
	}
	if err != nil {
		in.decodeErrs++
		if in.count != nil {
			in.count.audioDecodeErrors.Add(1)
		}
		in.errLog.Warn(log, "audio decode errors", "err", err, "errors", in.decodeErrs)
		// Keep the stream going with concealment; if even that fails the
		// slot is silent.
		if n, err = in.dec.Conceal(in.pcm, want); err != nil {
			n = 0
		}
	}
	clear(in.pcm[min(n, want):want])
	return want
}

// consume takes this tick's 20 ms off the front of the input's timeline:
// decoded samples first, then samples never decoded. dst, if given,
// receives the decoded ones, padded with silence.
func (in *audioInput) consume(dst []int16) {
	take := min(len(in.fifo), mixer.FrameSamples)
	if dst != nil {
		copy(dst, in.fifo[:take])
		clear(dst[take:])
	}
	in.fifo = in.fifo[:copy(in.fifo, in.fifo[take:])]
	in.owed = max(in.owed-(mixer.FrameSamples-take), 0)
}

func (in *audioInput) close() { in.dec.Close() }

// voiceTarget is the depth, in frames, the input's jitter buffer is asked
// to hold above its own (0: its own).
func (in *audioInput) voiceTarget() int { return in.jb.target }

// setVoiceTarget asks the jitter buffer to hold frames of depth (so that
// the voice waits for late pictures); it grows to it by concealing a frame
// now and then and shrinks back as packets arrive.
func (in *audioInput) setVoiceTarget(frames int) { in.jb.target = frames }
