package room

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
)

// audioQueueLen bounds the packets waiting between a participant's network
// reader and the room tick: 640 ms of 20 ms packets.
const audioQueueLen = 32

// audioInput is one participant's microphone on its way into the mix. The
// network reader goroutine fills queue; everything else belongs to the room
// goroutine.
type audioInput struct {
	queue   chan audioPacket
	dropped atomic.Uint64 // queue full
	packets atomic.Uint64
	arrival atomic.Int64 // unix nanoseconds of the last packet

	jb    jitterBuffer
	dec   *opus.Decoder
	stale bool // the decoder skipped packets: reset before decoding again

	// This tick's playout.
	act     playKind
	cur     audioPacket
	pcm     []int16 // decode buffer (MaxFrameSamples)
	carry   []int16 // decoded samples beyond this tick (packets > 20 ms)
	frame   []int16 // this tick's 20 ms
	decoded bool
	level   mixer.Level
	last    mixer.Level // level of the last audible frame

	receiving  bool
	decodeErrs uint64
	errLog     logLimiter
}

func newAudioInput() (*audioInput, error) {
	dec, err := opus.NewDecoder(mixer.SampleRate, 1)
	if err != nil {
		return nil, err
	}
	return &audioInput{
		queue: make(chan audioPacket, audioQueueLen),
		dec:   dec,
		pcm:   make([]int16, opus.MaxFrameSamples),
		frame: make([]int16, mixer.FrameSamples),
		level: mixer.Silent,
		last:  mixer.Silent,
	}, nil
}

// read pulls RTP from the participant's audio track until it ends. It runs
// on its own goroutine and never blocks on the room: a full queue drops.
func (in *audioInput) read(track *webrtc.TrackRemote, levelExt uint8) {
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		in.push(pkt, levelExt)
	}
}

func (in *audioInput) push(pkt *rtp.Packet, levelExt uint8) {
	in.packets.Add(1)
	in.arrival.Store(time.Now().UnixNano())
	p := audioPacket{seq: pkt.SequenceNumber, ts: pkt.Timestamp, ssrc: pkt.SSRC, payload: pkt.Payload}
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

// prepare runs at the start of a tick: it takes in what arrived, decides
// what plays in this slot and reports the level. Inputs whose sender gives
// no RFC 6464 level are decoded here to measure one.
func (in *audioInput) prepare(log *slog.Logger) mixer.Level {
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
	if len(in.carry) >= mixer.FrameSamples {
		copy(in.frame, in.carry[:mixer.FrameSamples])
		in.carry = in.carry[mixer.FrameSamples:]
		in.decoded = true
		in.act = playPacket
		in.level = mixer.LevelOfPCM(in.frame)
		return in.level
	}
	act, pkt := in.jb.pop()
	in.act, in.cur = act, pkt
	switch act {
	case playPacket:
		if in.cur.hasLevel {
			in.level = in.cur.level
		} else {
			in.decode(log)
			in.level = mixer.LevelOfPCM(in.frame)
		}
		in.last = in.level
	case playFEC, playConceal:
		in.level = in.last
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
// talker): the decoder falls out of step and is reset when next used.
func (in *audioInput) skip() {
	if !in.decoded && (in.act == playPacket || in.act == playFEC) {
		in.stale = true
	}
}

func (in *audioInput) decode(log *slog.Logger) {
	in.decoded = true
	frame := in.frame
	if in.stale && in.act == playPacket {
		if dec, err := opus.NewDecoder(mixer.SampleRate, 1); err == nil {
			in.dec.Close()
			in.dec = dec
			in.stale = false
		}
	}
	var n int
	var err error
	switch {
	case in.act == playPacket && !in.stale:
		n, err = in.dec.Decode(in.cur.payload, in.pcm)
		if err == nil && n > mixer.FrameSamples {
			in.carry = append(in.carry[:0], in.pcm[mixer.FrameSamples:n]...)
		}
	case in.act == playFEC && !in.stale:
		n, err = in.dec.RecoverFEC(in.cur.payload, in.pcm, mixer.FrameSamples)
	case (in.act == playConceal || in.act == playDTX) && !in.stale:
		n, err = in.dec.Conceal(in.pcm, mixer.FrameSamples)
	}
	if err != nil {
		in.decodeErrs++
		in.errLog.warn(log, "audio decode errors", "err", err, "errors", in.decodeErrs)
		// Keep the stream going with concealment; if even that fails the
		// frame is silent.
		if n, err = in.dec.Conceal(in.pcm, mixer.FrameSamples); err != nil {
			n = 0
		}
	}
	n = min(n, mixer.FrameSamples)
	copy(frame, in.pcm[:n])
	clear(frame[n:])
}

func (in *audioInput) close() { in.dec.Close() }

// audioLevelExtID finds the negotiated ID of the RFC 6464 header extension
// on a receiver (0 if the sender did not agree to it).
func audioLevelExtID(r *webrtc.RTPReceiver) uint8 {
	for _, ext := range r.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			return uint8(ext.ID)
		}
	}
	return 0
}
