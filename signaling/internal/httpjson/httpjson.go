// Package httpjson writes JSON HTTP responses for the signalling APIs (the
// admin API and the Janus API's HTTP transport).
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write sends v as a JSON response with the given status. An error
// writing the body means the client has gone; there is no one left to
// tell, so it is dropped.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
