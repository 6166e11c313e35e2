package sip

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// target reads the room (and the PIN, if any) a Request-URI dials:
// sip:<room>@host or sip:<room>*<pin>@host.
func target(uri sip.Uri) (room.RoomID, string, error) {
	user, pin, _ := strings.Cut(uri.User, "*")
	id, err := strconv.ParseUint(user, 10, 53)
	if err != nil || id == 0 {
		return 0, "", fmt.Errorf("%w: %q", ErrNoSuchRoom, uri.User)
	}
	return room.RoomID(id), pin, nil
}

// maxDisplay bounds a caller's display name, in characters.
const maxDisplay = 64

// displayName is the caller's name as the room shows it: the From
// header's display name, else its user part, without control characters.
func displayName(from *sip.FromHeader) string {
	name := strings.TrimSpace(from.DisplayName)
	if name == "" {
		name = from.Address.User
	}
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n == maxDisplay {
			break
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
