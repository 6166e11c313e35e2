// Package room owns Tessera's conferences: the room manager, each room's
// owner goroutine and clock, participants and the media connections
// attached to them (any kind that meets the contract of package endpoint;
// package rtc is the WebRTC one), ingest and egress of media, keyframe and
// bitrate policy, and the worker pools pinned to CPU cores that run the
// mixing ticks.
//
// It speaks no signalling protocol: package signaling (the Janus API, the
// admin API) drives it through its Go methods and turns its events into
// its own messages. It never encodes or decodes JSON itself, but its
// public state and stats types carry JSON tags: the admin API serves
// RoomStats, and the types in it, as they are; ParticipantInfo,
// RecordingInfo and PanicStats are tagged the same way.
package room
