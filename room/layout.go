package room

import "github.com/tessera-mcu/tessera/mixer"

// The room's own names for what its API takes from the mixer, so that
// callers (the signalling) need not import it.

// Layout is how the composite arranges the room's pictures.
type Layout = mixer.LayoutKind

// Layouts.
const (
	LayoutGrid         = mixer.LayoutGrid
	LayoutSpeaker      = mixer.LayoutSpeaker
	LayoutPresentation = mixer.LayoutPresentation
)

// ParseLayout reads a layout's name ("grid", "speaker", "presentation").
func ParseLayout(name string) (Layout, error) { return mixer.ParseLayout(name) }

// AudioConfig tunes a room's talker selection (K, thresholds, hangover).
type AudioConfig = mixer.AudioConfig

// SampleRate is the rate the room mixes at, in Hz.
const SampleRate = mixer.SampleRate
