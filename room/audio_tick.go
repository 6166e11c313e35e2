package room

import (
	"fmt"
	"time"

	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/avsync"
)

// audioTick is one 20 ms step: choose talkers, decode them, mix, encode
// each distinct mix once, hand every listener its mix.
func (r *Room) audioTick() {
	if len(r.order) == 0 && r.rec == nil && len(r.streams) == 0 {
		r.audioGap = 0
		return // nobody to hear anything: an empty room costs nothing
	}
	r.obs = r.obs[:0]
	for _, p := range r.order {
		if p.in == nil {
			continue
		}
		lvl := p.in.prepare(r.log)
		// A voice at volume 0 is as good as muted: it takes no talker slot.
		inaudible := p.muted || r.roomMute || p.volume == 0
		r.obs = append(r.obs, mixer.Observation{ID: mixer.SourceID(p.id), Level: lvl, Muted: inaudible})
		r.syncPictures(p)
	}
	sel := r.audio.Select(r.obs)
	r.loudest = 0
	if len(sel.Talkers) > 0 {
		r.loudest = sel.Talkers[0]
	}
	for _, id := range sel.Started {
		r.setTalking(ParticipantID(id), true)
	}
	for _, id := range sel.Stopped {
		r.setTalking(ParticipantID(id), false)
	}
	r.mixIn = r.mixIn[:0]
	for _, p := range r.order {
		if p.in == nil {
			continue
		}
		if isTalker(sel.Talkers, p.id) {
			r.mixIn = append(r.mixIn, mixer.Frame{ID: mixer.SourceID(p.id), PCM: p.in.audio(r.log), Gain: p.volume})
		} else {
			p.in.skip()
		}
		if p.in.claims.offended {
			p.in.claims.offended = false
			r.errLog.claims.Warn(r.log, "audio level claims far louder than the audio: ignoring them",
				"participant", p.id, "for", p.in.claims.distrustedFor(), "offences", p.in.claims.offences)
		}
	}
	mixes, err := r.audio.Mix(r.mixIn)
	if err != nil {
		r.stats.mixErrors.Add(1)
		r.errLog.mix.Warn(r.log, "mix failed", "err", err, "errors", r.stats.mixErrors.Load())
		for _, p := range r.order {
			if p.out != nil {
				p.out.skip()
			}
		}
		return
	}

	// A listener whose mix changes (a talker falls silent, or starts) now
	// hears another encoder's stream; its decoder still holds the old one's
	// state. The first frame it gets of the new one is coded without
	// inter-frame prediction, so it decodes cleanly from any state.
	clear(r.switching)
	for _, p := range r.order {
		if p.out == nil {
			continue
		}
		id, _ := mixes.For(mixer.SourceID(p.id))
		if id != p.mix {
			r.switching[id] = true
			p.mix = id
		}
	}

	// Encode each distinct mix once (in Opus; in G.711 or G.722 below,
	// when a plain-RTP listener hears it).
	clear(r.packets)
	clear(r.codecPackets)
	for _, id := range mixes.IDs() {
		enc, err := r.encoderFor(id)
		if err == nil {
			if r.switching[id] {
				enc.ForceKeyframe()
			}
			var n int
			if n, err = enc.Encode(mixes.PCM(id), r.encBuf); err == nil {
				r.packets[id] = append([]byte(nil), r.encBuf[:n]...)
				continue
			}
		}
		r.stats.encodeErrors.Add(1)
		r.errLog.encode.Warn(r.log, "audio encode failed", "err", err, "errors", r.stats.encodeErrors.Load())
	}
	for id, enc := range r.encoders {
		if _, used := r.packets[id]; !used && id != mixer.FullMix {
			delete(r.encoders, id)
			r.spare = append(r.spare, enc)
		}
	}
	r.stats.encoders.Store(int64(len(r.encoders)))
	if n := int64(len(r.encoders)); n > r.stats.maxEncoders.Load() {
		r.stats.maxEncoders.Store(n)
	}

	r.recordAudio(r.packets[mixer.FullMix])
	r.streamAudio(mixes.PCM(mixer.FullMix))

	// Every listener gets the packet of its mix.
	dur := tick * time.Duration(1+r.audioGap)
	r.audioGap = 0
	for _, p := range r.order {
		if p.out == nil {
			continue
		}
		data, ok := r.packets[p.mix] // p.mix: set above
		if p.acodec != CodecOpus && p.acodec != "" {
			data, ok = r.codecMix(p.mix, p.acodec, mixes.PCM(p.mix))
		}
		if ok {
			p.out.push(Frame{Data: data, Duration: dur, Codec: p.acodec})
		} else {
			p.out.skip() // its mix failed to encode: a lost packet
		}
	}
	r.dropIdleCodecMixes()
}

// syncPictures keeps a participant's voice and pictures together (see
// package avsync): its pictures are shown as late as its voice waits, or
// its voice waits for late pictures.
func (r *Room) syncPictures(p *participant) {
	m := avsync.Measure{VoicePlaying: p.in.playing, VoiceWait: p.in.wait}
	if p.vin != nil && r.video != nil {
		if last := p.vin.lastDecoded(); !last.IsZero() && time.Since(last) < r.video.cfg.StallTimeout {
			m.PictureLive, m.PictureWait, m.FrameInterval = true, time.Duration(p.vin.wait.Load()), r.video.period()
		}
	}
	delay, frames := p.pace.Update(avsyncConfig, m, p.in.voiceTarget())
	if m.PictureLive {
		p.vin.setPictureDelay(delay)
	}
	p.in.setVoiceTarget(frames)
}

// avsyncConfig is the lip-sync policy's bounds: the jitter buffer's and
// the pictures' (see maxPictureDelay).
var avsyncConfig = avsync.Config{Tick: tick, BaseFrames: jitterTarget, MaxFrames: maxVoiceDelayFrames,
	MaxPictureDelay: maxPictureDelay, ShrinkAfter: shrinkAfter}

func isTalker(talkers []mixer.SourceID, id ParticipantID) bool {
	for _, t := range talkers {
		if t == mixer.SourceID(id) {
			return true
		}
	}
	return false
}

// encoderFor returns the encoder of a mix, reusing an idle one if there is
// one. At most K+1 exist per room.
func (r *Room) encoderFor(id mixer.MixID) (*opus.Encoder, error) {
	if enc, ok := r.encoders[id]; ok {
		return enc, nil
	}
	if n := len(r.spare); n > 0 {
		enc := r.spare[n-1]
		r.spare = r.spare[:n-1]
		r.encoders[id] = enc
		return enc, nil
	}
	enc, err := opus.NewEncoder(opus.EncoderConfig{
		SampleRate: mixer.SampleRate, Channels: 1, Bitrate: r.cfg.AudioBitrate,
		InbandFEC: true, PacketLossPercent: 5,
	})
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	r.stats.encodersCreated.Add(1)
	r.encoders[id] = enc
	return enc, nil
}

func (r *Room) setTalking(id ParticipantID, talking bool) {
	p := r.parts[id]
	if p == nil || p.talking == talking {
		return
	}
	p.talking = talking
	if !r.cfg.AudioLevelEvents {
		return
	}
	kind := EventStoppedTalking
	if talking {
		kind = EventTalking
	}
	r.publish(Event{Kind: kind, Participant: id, Info: p.info()})
}

// checkMedia publishes media events when a participant's audio starts or
// stops arriving (no packet for a second).
func (r *Room) checkMedia(now time.Time) {
	for _, p := range r.order {
		if p.in == nil {
			continue
		}
		last := p.in.arrival.Load()
		receiving := last != 0 && now.Sub(time.Unix(0, last)) < time.Second
		if receiving != p.in.receiving {
			p.in.receiving = receiving
			r.publish(Event{Kind: EventMedia, Participant: p.id, Info: p.info(), Media: "audio", Receiving: receiving})
		}
	}
}
