package room

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/mixer"
)

// RoomStats is a snapshot of a room's counters.
type RoomStats struct {
	ID           RoomID `json:"id"`
	Participants int    `json:"participants"`
	// Viewers counts the hidden participants (JoinRequest.Viewer), whom
	// Participants leaves out.
	Viewers         int               `json:"viewers"`
	Talkers         int               `json:"talkers"`
	Ticks           uint64            `json:"ticks"`
	SkippedTicks    uint64            `json:"skipped_ticks"`
	AudioEncoders   int64             `json:"audio_encoders"`
	MaxEncoders     int64             `json:"max_audio_encoders"`
	EncodersCreated uint64            `json:"audio_encoders_created"`
	EncodeErrors    uint64            `json:"encode_errors"`
	MixErrors       uint64            `json:"mix_errors"`
	VideoErrors     uint64            `json:"video_errors"`
	Inputs          []InputStats      `json:"inputs"`
	VideoTicks      int64             `json:"video_ticks"`
	VideoSkipped    uint64            `json:"video_skipped_ticks"`
	VideoOutputs    []OutputStats     `json:"video_outputs"`
	VideoInputs     []VideoInputStats `json:"video_inputs"`
	// ByKind counts the participants by the kind of their media
	// connection (endpoint.Media.Kind); those without one yet count as
	// KindNone.
	ByKind map[string]int `json:"participants_by_kind"`
	// Busy is the time the room's ticks took on its worker since the room
	// started (audio and video: decoding the talkers, mixing, composing,
	// encoding). Camera decoding runs on the decode pool and is not in
	// it.
	Busy time.Duration `json:"busy_ns"`
}

// Kinds of participants besides their connections' own (see
// RoomStats.ByKind).
const (
	// KindNone: the participant has no media connection (yet).
	KindNone = "none"
	// kindOther is the kind of a connection that names none.
	kindOther = "other"
)

// InputStats describes one participant's audio path.
type InputStats struct {
	Participant  ParticipantID `json:"participant"`
	Packets      uint64        `json:"packets"`
	QueueDropped uint64        `json:"queue_dropped"`
	Late         uint64        `json:"late"`
	Lost         uint64        `json:"lost"`
	// FEC counts lost packets rebuilt from the next packet's in-band FEC
	// (where that packet carries none, libopus conceals instead).
	FEC       uint64 `json:"fec_used"`
	Concealed uint64 `json:"concealed"`
	// Stretched counts slots concealed on purpose to deepen the buffer
	// (to wait for this participant's late pictures).
	Stretched    uint64 `json:"stretched"`
	DecodeErrors uint64 `json:"decode_errors"`
	// LevelMismatches counts the frames whose RFC 6464 level claimed far
	// more than their audio held; LevelDistrusted, the times the input's
	// claims were set aside for it (the input's level is then measured).
	LevelMismatches uint64 `json:"level_mismatches"`
	LevelDistrusted uint64 `json:"level_distrusted"`
	Buffered        int    `json:"buffered"`
	// BufferedMs is the media time of the buffered packets.
	BufferedMs  int    `json:"buffered_ms"`
	Sent        uint64 `json:"sent"`
	SendDropped uint64 `json:"send_dropped"`
	BitrateBps  int    `json:"estimated_bitrate_bps"`
}

// Stats returns the room's counters, as of now.
func (r *Room) Stats(ctx context.Context) (RoomStats, error) {
	var s RoomStats
	err := r.exec(ctx, func() { s = r.collectStats() })
	return s, err
}

// collectStats gathers the room's counters (room goroutine).
func (r *Room) collectStats() RoomStats {
	s := RoomStats{
		ID: r.id, Participants: r.listedCount(), Viewers: len(r.parts) - r.listedCount(), Ticks: r.stats.ticks.Load(), SkippedTicks: r.stats.skippedTicks.Load(),
		AudioEncoders: r.stats.encoders.Load(), MaxEncoders: r.stats.maxEncoders.Load(),
		EncodersCreated: r.stats.encodersCreated.Load(), EncodeErrors: r.stats.encodeErrors.Load(),
		MixErrors: r.stats.mixErrors.Load(), VideoErrors: r.stats.videoErrors.Load(),
		Busy: time.Duration(r.stats.busy.Load()),
	}
	for _, p := range r.order {
		if p.talking {
			s.Talkers++
		}
		is := InputStats{Participant: p.id}
		if in := p.in; in != nil {
			is.Packets, is.QueueDropped = in.packets.Load(), in.dropped.Load()
			is.Late, is.Lost, is.FEC, is.Concealed = in.jb.stats.late, in.jb.stats.lost, in.jb.stats.fec, in.jb.stats.concealed
			is.Stretched = in.jb.stats.stretched
			is.DecodeErrors, is.Buffered = in.decodeErrs, in.jb.buffered()
			is.BufferedMs = in.jb.samples * 1000 / mixer.SampleRate
			is.LevelMismatches, is.LevelDistrusted = in.claims.mismatches, in.claims.offences
		}
		if out := p.out; out != nil {
			is.Sent, is.SendDropped = out.sent.Load(), out.dropped.Load()
		}
		kind := KindNone
		if p.conn != nil {
			is.BitrateBps = p.conn.TargetBitrate()
			kind = p.kind
		}
		if s.ByKind == nil {
			s.ByKind = make(map[string]int)
		}
		s.ByKind[kind]++
		s.Inputs = append(s.Inputs, is)
	}
	r.videoStats(&s)
	return s
}

// slowLinkLost is how many packets a second a participant's media must
// lose for a slowlink event; slowLinkQuiet is the least time between two
// of one kind (media and direction).
const (
	slowLinkLost  = 4
	slowLinkQuiet = 5 * time.Second
)

// checkLinks publishes slowlink events, once a second: packets lost on the
// way in (the jitter buffer's and frame assembler's counts) and on the way
// out (the participant's receiver reports). The losses also go to the
// manager's counters.
func (r *Room) checkLinks(now time.Time) {
	// The manager's counts of loss, in the order of counts below.
	totals := [4]*atomic.Uint64{&r.count.lostIn[0], &r.count.lostIn[1], &r.count.lostOut[0], &r.count.lostOut[1]}
	for _, p := range r.order {
		var inAudio, inVideo uint64
		if p.in != nil {
			inAudio = p.in.jb.stats.lost
		}
		if p.vin != nil {
			inVideo = p.vin.lost.Load()
		}
		// A counter that went back belongs to a new input: no loss yet.
		counts := [4]int{
			int(max(int64(inAudio-p.loss.seen[0]), 0)), int(max(int64(inVideo-p.loss.seen[1]), 0)),
			egressLost(p.out), egressLost(p.vout),
		}
		p.loss.seen[0], p.loss.seen[1] = inAudio, inVideo
		p.loss.videoOut += counts[3] // for the tier check
		for i, lost := range counts {
			totals[i].Add(uint64(lost))
			if lost < slowLinkLost || now.Sub(p.loss.last[i]) < slowLinkQuiet {
				continue
			}
			p.loss.last[i] = now
			media := [4]string{"audio", "video", "audio", "video"}[i]
			r.publish(Event{Kind: EventSlowLink, Participant: p.id, Info: p.info(), Media: media, Uplink: i < 2, Lost: lost})
		}
	}
}

// egressLost is how many more packets the listener reported lost since the
// last look, beyond those left out on purpose (room goroutine). Reports
// trail the skips they count, so only a rise above the most seen so far is
// loss.
func egressLost(e *Output) int {
	if e == nil {
		return 0
	}
	excess := int64(e.reportedLost.Load()) - int64(e.withheld.Load())
	if excess <= e.excess {
		return 0
	}
	n := excess - e.excess
	e.excess = excess
	return int(n)
}
