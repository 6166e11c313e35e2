//go:build race

package main

// timeSlack multiplies the time limits of wall-clock assertions: the race
// detector slows pion and the media path several times over.
const timeSlack = 3
