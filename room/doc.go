// Package room owns Tessera's conferences: the room manager, each room's
// owner goroutine and clock, participants and their WebRTC connections,
// ingest and egress of media, keyframe and bitrate policy, and the worker
// pools pinned to CPU cores that run the mixing ticks. It knows nothing of
// JSON or of any signalling protocol.
package room
