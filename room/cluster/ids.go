package cluster

import (
	"fmt"
	"strconv"
)

// NodeID names one Tessera node of the cluster. It is chosen by the
// operator (or derived from the host name) and must be unique among the
// nodes sharing a Redis prefix; a restarted node may reuse its ID.
type NodeID string

// maxNodeID bounds the length of a node ID.
const maxNodeID = 64

// Valid reports whether id is usable in keys and channel names: 1 to 64
// letters, digits, '.', '_' or '-'.
func (id NodeID) Valid() error {
	if len(id) == 0 || len(id) > maxNodeID {
		return fmt.Errorf("%w: %q (1 to %d characters)", ErrBadID, string(id), maxNodeID)
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q (letters, digits, '.', '_', '-')", ErrBadID, string(id))
		}
	}
	return nil
}

// RoomID is a room's number, as the Janus API names rooms.
type RoomID uint64

func (r RoomID) String() string { return strconv.FormatUint(uint64(r), 10) }

func parseRoomID(s string) (RoomID, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	return RoomID(v), err
}
