//go:build race

package room

// raceEnabled relaxes wall-clock assertions: the race detector slows pion
// and the Go side of the media path several times over. The suite also runs
// this package without it, where the targets hold as stated.
const raceEnabled = true

// timeSlack multiplies the time limits of wall-clock assertions.
const timeSlack = 3
