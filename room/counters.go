package room

import "sync/atomic"

// Counters are a manager's media counters since it started, over every
// room it has had: they only go up, whoever joins, leaves or ends a room,
// so they suit Prometheus counters. The per-room and per-participant
// counts (RoomStats) go with their room or participant.
type Counters struct {
	// Keyframes the composite encoders produced; ForcedKeyframes were
	// asked of them (a viewer's PLI, a new viewer, a recording).
	Keyframes, ForcedKeyframes uint64
	// KeyframeRequestsIn are viewers' requests for a keyframe (RTCP PLI
	// or FIR); KeyframeRequestsOut, the room's to cameras.
	KeyframeRequestsIn, KeyframeRequestsOut uint64
	// AudioDecodeErrors and VideoDecodeErrors count frames a decoder
	// refused.
	AudioDecodeErrors, VideoDecodeErrors uint64
	// LostIn counts packets lost on the way in (audio: the jitter
	// buffer's count; video: frames the assembler found incomplete);
	// LostOut, packets the listeners' receiver reports count lost beyond
	// those left out on purpose. Both are added once a second per room,
	// so the last second of a participant that leaves is not counted.
	AudioLostIn, VideoLostIn, AudioLostOut, VideoLostOut uint64
	// RecordedBytes were written to recording files; RecordWriteErrors
	// ended a recording; RecordDropped frames found the recording's queue
	// full (a slow disk).
	RecordedBytes, RecordWriteErrors, RecordDropped uint64
	// LayerSwitches counts the times a simulcast camera's input moved to
	// another layer; LayerDroppedPackets, the packets of layers that were
	// not being decoded (received and let go).
	LayerSwitches, LayerDroppedPackets uint64
}

// counters is what Counters reads: atomics the rooms add to from their
// goroutines, their readers and the decode workers.
type counters struct {
	keyframes, forcedKeyframes              atomic.Uint64
	keyframeRequestsIn, keyframeRequestsOut atomic.Uint64
	audioDecodeErrors, videoDecodeErrors    atomic.Uint64
	lostIn, lostOut                         [2]atomic.Uint64 // audio, video
	recordedBytes, recordErrors             atomic.Uint64
	recordDropped                           atomic.Uint64
	layerSwitches, layerDropped             atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Keyframes: c.keyframes.Load(), ForcedKeyframes: c.forcedKeyframes.Load(),
		KeyframeRequestsIn: c.keyframeRequestsIn.Load(), KeyframeRequestsOut: c.keyframeRequestsOut.Load(),
		AudioDecodeErrors: c.audioDecodeErrors.Load(), VideoDecodeErrors: c.videoDecodeErrors.Load(),
		AudioLostIn: c.lostIn[0].Load(), VideoLostIn: c.lostIn[1].Load(),
		AudioLostOut: c.lostOut[0].Load(), VideoLostOut: c.lostOut[1].Load(),
		RecordedBytes: c.recordedBytes.Load(), RecordWriteErrors: c.recordErrors.Load(),
		RecordDropped: c.recordDropped.Load(),
		LayerSwitches: c.layerSwitches.Load(), LayerDroppedPackets: c.layerDropped.Load(),
	}
}

// Counters returns the manager's media counters, as of now.
func (m *Manager) Counters() Counters { return m.count.snapshot() }
