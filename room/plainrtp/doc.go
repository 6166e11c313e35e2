// Package plainrtp is the plain-RTP connection of a room's participants:
// the media of a SIP phone or room system, RTP/AVP over UDP (RFC 3550,
// RFC 3551) or SRTP (RTP/SAVP, RFC 3711) keyed in the SDP (SDES, RFC
// 4568), audio only. The SIP signalling lives elsewhere; this package
// takes its SDP and carries the media, through the endpoint contract of
// package room/endpoint.
//
// An Engine holds the media port range (RTP on an even port, RTCP on the
// next) and the addresses to bind and to put in SDP. Engine.Offer takes
// an offer and opens a Session: Session.Answer is the SDP answer,
// Session.Update answers a later offer (re-INVITE: a new address, hold
// and unhold), Session.Attach makes the session a room participant's
// connection, Session.Close ends it and gives its ports back.
//
// Negotiation (RFC 3264): the first audio stream over RTP/AVP, or over
// RTP/SAVP with an a=crypto line in AES_CM_128_HMAC_SHA1_80 or _32 (one
// key, no MKI), with a codec Tessera speaks is answered, every other stream refused with port
// 0. Its codec is the first of the offer's order among PCMU (payload type
// 0), PCMA (8) and Opus (opus/48000/2 on its dynamic payload type); it
// cannot change later. A telephone-event (RFC 4733) in the offer is
// answered, at the codec's clock if offered so; comfort noise (RFC 3389)
// is not answered, and CN packets that arrive anyway are dropped. The
// answer mirrors the offer's direction. What Tessera sends follows a=ptime
// (G.711 frames joined into packets of a multiple of 20 ms, up to 120 ms;
// Opus packets are 20 ms) and stops while the party holds the call
// (sendonly or inactive, or a c= address of 0.0.0.0).
//
// The session packetizes the room's mix with its own SSRC, sequence and
// timestamp at the codec's clock (frames the room skipped advance the
// timestamp). It hands the room only the codec's packets of the party's
// microphone, through a bounded queue that drops and counts; DTMF digits
// reach SessionOptions.OnDigit once per event. Garbage is counted and
// dropped. RTP is sent to the SDP address until RTP comes from another
// source, then to that source (symmetric RTP, for parties behind NAT);
// over plain RTP, whoever sends the session well-formed RTP of its codec
// is taken for the party; over SRTP only packets that authenticate with
// the party's key are looked at, latched to or counted as media (the
// rest count as bad). The answer gives a fresh key of Tessera's; a
// re-INVITE may re-key but not switch between RTP and SRTP. RTCP: a sender report every
// Config.ReportInterval, and the losses in the party's receiver reports
// go to the room. No RTP for Config.Timeout while the party is meant to
// send ends the session (ConnFailed to the room, OnEnd, Done).
//
// For a call Tessera places, Engine.NewOffer opens a session and gives
// Tessera's offer (RTP/AVP, PCMU and PCMA with telephone-event/8000);
// Session.Answered takes the callee's answer and starts the media, in
// the codec the callee picked among those offered. From then on the
// session is as one that answered (later offers go to Update).
//
// Stats counts packets and bytes each way and what was dropped.
package plainrtp
