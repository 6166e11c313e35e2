// Package whip serves the WebRTC HTTP ingest and egress protocols of
// RFC 9725 (WHIP) and its egress counterpart (WHEP): one HTTP POST of an
// SDP offer makes a media session, answered with 201 Created, the SDP
// answer and the session's URL; DELETE on that URL ends it; PATCH with an
// application/trickle-ice-sdpfrag body trickles the client's ICE
// candidates.
//
//	POST   /whip/{room}            publish into the room (sendonly offer)
//	POST   /whep/{room}            watch the room (recvonly offer)
//	PATCH  /whip/{room}/{session}  trickle candidates (204); an ICE restart is refused (422)
//	DELETE /whip/{room}/{session}  end the session (200)
//	OPTIONS on either              CORS preflight (204)
//
// A WHIP publisher joins its room as a participant like any other: its
// voice is mixed and its camera becomes a tile. A WHEP viewer joins as a
// hidden participant (room.JoinRequest.Viewer): it receives the composite
// at the top tier, in the video codec its offer lists first, and the full
// mix, and nobody in the room sees it.
//
// Every POST needs "Authorization: Bearer TOKEN", where TOKEN is the
// room's secret or a token minted for the room and the protocol (Tokens,
// through the admin API). Wrong tokens count against the client
// address's lockout. The session's unguessable URL is what DELETE and
// PATCH need. A session ends when its client deletes it, when its
// PeerConnection fails or closes, when its participant leaves the room
// any other way (kicked, the room destroyed), and when the server shuts
// down (Server.Close).
package whip
