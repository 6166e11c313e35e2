//go:build race

package h264

const raceEnabled = true
