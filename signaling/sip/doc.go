// Package sip is Tessera's SIP user agent: SIP phones, softphones and
// room systems dial into rooms with it, over UDP or TCP.
//
// A call to sip:<room>@host joins room <room> (its number) as a
// participant named after the From header's display name, or its user
// part; sip:<room>*<pin>@host gives the PIN of a room that has one. The
// call is answered with 100 Trying, 180 Ringing (for Config.Ring) and a
// 200 OK carrying the SDP answer of the media layer (Media), which makes
// the participant's audio connection. The call ends with a BYE from
// either side: Tessera sends one when the participant is kicked, the
// room is destroyed, the media stops (no RTP for the media layer's
// timeout) or the server closes. A CANCEL before the 200 OK gets the
// INVITE a 487 and leaves nobody in the room. Within a call, a re-INVITE
// or UPDATE with a new offer goes to the media (hold and unhold); INFO
// with application/dtmf-relay gives DTMF keys, as RTP telephone-events
// do, to Config.OnDigit. OPTIONS is answered 200 with Allow and Accept,
// in a dialog or outside one.
//
// A call to a room that has a PIN, dialled without one, is answered (200
// OK, ACK) without joining: the caller hears a prompt, two short 1 kHz
// beeps every 3 s, and keys the PIN in DTMF (RTP telephone-events or
// INFO), ending it with # or typing all its digits (* starts over). The
// right PIN plays three short rising tones (600, 900, 1200 Hz) and joins
// the room, the call then going on as any other; a wrong one plays a low
// 300 Hz tone, counts as a wrong PIN of the caller's address for the
// lockout, and the prompt starts again. After three wrong PINs, or
// Config.PinWait (30 s) without a complete one, Tessera plays three
// descending tones (900, 600, 400 Hz) and hangs up. The tones are 48 kHz
// PCM encoded in the call's codec and sent at 20 ms pace
// (MediaCall.Prompt) by a goroutine of the call, which ends before the
// room's mix takes over or the call ends. The keys of the PIN do not
// reach Config.OnDigit. A BYE during the prompt ends the call with
// nobody joined.
//
// Refusals carry a status code and a reason phrase that says why: 400 for
// a request lacking a header it needs (and for a datagram that does not
// parse as SIP but reads as a request), 403 for a wrong PIN in the URI
// (too many wrong ones from one address lock it out for a while), 404 for
// no such room, 415 for a body of an unknown type, 480 when the server is
// full, 486 when the room is, 488 for an offer with no usable audio (or
// no offer, when the media layer cannot make one), 503 with Retry-After for an address sending INVITEs
// faster than its token bucket allows (Config.InviteRate, InviteBurst),
// 422 with Min-SE for a session interval below Config.MinSE, 405 with
// Allow for any other method.
//
// A Server owns every call: one goroutine per answered call, ended by
// Close, which sends each call its BYE and waits for every goroutine the
// server started and every request being handled. The rooms (Rooms) and
// the media (Media, MediaCall) are reached through small interfaces, so
// that a *room.Manager and the plain-RTP media layer plug in.
//
// Server.Dial calls out: a room calls a sip: or sips: URI. The INVITE
// carries the media layer's offer (an Offerer: PlainRTP offers G.722, PCMU
// and PCMA) and goes to the URI's host, or to Config.Outbound (an outbound
// proxy or SIP trunk), from Config.From (default sip:tessera@ the address
// Tessera sends from); a 401 or 407 is answered with digest
// authentication from Config.Username and Password. Each step reaches the
// room as a call event (room.NotifyCall): dialing as Dial returns,
// ringing on 180 or 183, answered on 200 (ACK; the callee joins the room
// named after the URI's user, its media attached), busy on 486, 600 or
// 603, failed on any other refusal or after Config.DialTimeout without an
// answer (then CANCEL). An answered call is then like one that came in
// (re-INVITE, UPDATE, INFO, BYE either way) and ends as hungup, with its
// reason. Close cancels the calls still ringing and hangs up the others.
//
// The media layer answers what the offer carries: audio, and video from
// a room system (its camera a tile, the composite back at a size its
// level allows; SIP INFO picture_fast_update asks for a keyframe), over
// RTP/AVP or SDES-keyed RTP/SAVP. With Config.TLS and TLSConfig the
// server also takes SIP over TLS.
//
// Session timers (RFC 4028): an INVITE with Session-Expires gets it back
// in the 200 OK (raised to Config.MinSE, 90 s by default, for a caller
// that does not support timers; 422 with Min-SE for one that does and
// asks for less), with Supported: timer and, when the caller supports
// timers, Require: timer. The caller refreshes (refresher=uac) unless it
// leaves that to Tessera and allows UPDATE: then Tessera sends an
// offerless UPDATE at half the interval (refresher=uac: the parameter
// names the roles of the transaction it is in), and a refresh that fails
// ends the call. Calls Tessera places ask for Config.SessionExpires
// (1800 s) with the callee as refresher; the callee's 2xx decides, a 422
// is retried once with its Min-SE, and a 2xx without Session-Expires
// means no timer. Each re-INVITE or UPDATE answered 2xx
// restarts the timer, and its 200 carries Session-Expires again; when
// the interval passes without one (less min(32 s, a third of it)),
// Tessera sends a BYE and the participant leaves. Tessera does not
// refresh by re-INVITE: a caller (or callee) that wants Tessera to
// refresh but does not take UPDATE gets no session timer.
//
// Dial-out over TLS: a sips: URI, or one with transport=tls, goes over
// TLS (port 5061 unless the URI names one), trusting the certificate
// authorities of Config.DialTLS (the system's by default); it needs the
// TLS listener, which the callee's requests come back to, and Dial
// refuses it without one.
//
// An INVITE without SDP (delayed offer, as PBX trunks may send) is
// answered with Tessera's offer in the 200 OK; the answer comes in the
// ACK, and only then does the caller join (delayed.go). An ACK without
// one gets a BYE.
//
// In a cluster (Config.Locator set), an INVITE for a room not open on
// this node is redirected with 302 to the SIP address of the node that
// hosts it (redirect.go), or taken here when the room is placed here and
// opens; 404 when it exists nowhere, 480 when its host takes no SIP
// calls, 503 when the directory cannot be read.
//
// Not there yet: a spoken PIN prompt (the prompt is tones).
package sip
