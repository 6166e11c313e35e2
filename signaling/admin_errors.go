package signaling

import (
	"errors"
	"net/http"

	"github.com/tessera-mcu/tessera/room"
)

// roomErrorStatus maps the room's errors to the status that answers
// them: the request's fault (400), nothing there (404), not in this state
// (409), no room for more (503).
var roomErrorStatus = []struct {
	err    error
	status int
}{
	{room.ErrInvalidValue, http.StatusBadRequest},
	{room.ErrCallNotFound, http.StatusNotFound},
	{room.ErrNoSuchStream, http.StatusNotFound},
	{room.ErrClosed, http.StatusNotFound},
	{room.ErrAlreadyRecording, http.StatusConflict},
	{room.ErrNotRecording, http.StatusConflict},
	{room.ErrCallNoDTMF, http.StatusConflict},
	{room.ErrRoomFull, http.StatusServiceUnavailable},
	{room.ErrServerFull, http.StatusServiceUnavailable},
	{room.ErrTooManyStreams, http.StatusServiceUnavailable},
	{room.ErrTooManyRecordings, http.StatusServiceUnavailable},
	{room.ErrDiskLow, http.StatusServiceUnavailable},
}

// roomError answers err, a room's error, with its status (500 for one
// not listed) and its message.
func roomError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	for _, e := range roomErrorStatus {
		if errors.Is(err, e.err) {
			status = e.status
			break
		}
	}
	adminError(w, status, err.Error())
}
