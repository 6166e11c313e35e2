// Package jsid makes random identifiers that a JavaScript number holds
// exactly: rooms, participants, and the Janus API's sessions and handles.
// Janus clients parse IDs as JSON numbers, which are IEEE 754 doubles, so
// every ID stays within 1..2^53-1.
package jsid

import (
	"crypto/rand"
	"encoding/binary"
)

// Max is the largest ID: 2^53-1, the largest integer a JavaScript number
// holds exactly.
const Max = 1<<53 - 1

// New returns a random ID in 1..Max. It draws from crypto/rand so that
// IDs cannot be guessed: over the Janus API, knowing a session's ID is
// enough to use the session.
func New() uint64 {
	var b [8]byte
	for {
		// crypto/rand.Read never returns an error: if the operating system
		// cannot supply randomness it ends the program instead.
		_, _ = rand.Read(b[:])
		if id := binary.LittleEndian.Uint64(b[:]) & Max; id != 0 {
			return id
		}
	}
}
