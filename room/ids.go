package room

import (
	"strconv"

	"github.com/tessera-mcu/tessera/internal/jsid"
)

// RoomID names a room. Like Janus's IDs it fits in 53 bits, so JavaScript
// clients keep it exact.
type RoomID uint64

// ParticipantID names a participant, unique within the process.
type ParticipantID uint64

func (id RoomID) String() string        { return strconv.FormatUint(uint64(id), 10) }
func (id ParticipantID) String() string { return strconv.FormatUint(uint64(id), 10) }

// maxID is the largest ID a JavaScript number holds exactly (2^53 - 1).
const maxID = jsid.Max

// randomID returns a random ID in 1..maxID.
func randomID() uint64 { return jsid.New() }
