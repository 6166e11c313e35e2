package room

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
)

// RoomID names a room. Like Janus's IDs it fits in 53 bits, so JavaScript
// clients keep it exact.
type RoomID uint64

// ParticipantID names a participant, unique within the process.
type ParticipantID uint64

func (id RoomID) String() string        { return strconv.FormatUint(uint64(id), 10) }
func (id ParticipantID) String() string { return strconv.FormatUint(uint64(id), 10) }

// maxID is the largest ID a JavaScript number holds exactly (2^53 - 1).
const maxID = 1<<53 - 1

// randomID returns a random non-zero 53-bit number.
func randomID() uint64 {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		if id := binary.LittleEndian.Uint64(b[:]) & maxID; id != 0 {
			return id
		}
	}
}
