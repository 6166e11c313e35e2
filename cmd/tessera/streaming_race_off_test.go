//go:build !race

package main

// mediaSlack multiplies the time limits of wall-clock assertions.
const mediaSlack = 1
