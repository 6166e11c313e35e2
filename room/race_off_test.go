//go:build !race

package room

const raceEnabled = false

const timeSlack = 1
