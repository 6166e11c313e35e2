package room

// Viewers (JoinRequest.Viewer) are participants the room serves but does
// not show: they receive the composite and the full mix like anyone who
// is not talking, and are otherwise invisible. They live in r.parts and
// r.order like everyone (so the ticks serve them), and are left out
// where the room describes its members.

// listedCount is the number of participants that are not viewers (room
// goroutine).
func (r *Room) listedCount() int {
	n := 0
	for _, p := range r.order {
		if !p.viewer {
			n++
		}
	}
	return n
}

// aboutViewer reports whether an event concerns a viewer, which the room
// keeps to itself (room goroutine).
func (r *Room) aboutViewer(e Event) bool {
	if e.Participant == 0 || e.Kind == EventLayout { // a layout event names the pinned one
		return false
	}
	p := r.parts[e.Participant]
	return p != nil && p.viewer
}
