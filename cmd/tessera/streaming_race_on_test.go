//go:build race

package main

// mediaSlack multiplies the time limits of wall-clock assertions: the race
// detector slows pion and the media path several times over.
const mediaSlack = 3
