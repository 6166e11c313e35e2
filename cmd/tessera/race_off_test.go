//go:build !race

package main

// timeSlack multiplies the time limits of wall-clock assertions.
const timeSlack = 1
