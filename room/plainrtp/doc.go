// Package plainrtp is the plain-RTP connection of a room's participants:
// the media of a SIP phone or room system, RTP/AVP over UDP (RFC 3550,
// RFC 3551) or SRTP (RTP/SAVP, RFC 3711) keyed in the SDP (SDES, RFC
// 4568), audio and video. The SIP signalling lives elsewhere; this package
// takes its SDP and carries the media, through the endpoint contract of
// package room/endpoint.
//
// An Engine holds the media port range (RTP on an even port, RTCP on the
// next; a session with video takes a second pair for it) and the
// addresses to bind and to put in SDP. Engine.Offer takes an offer and
// opens a Session: Session.Answer is the SDP answer,
// Session.Update answers a later offer (re-INVITE: a new address, hold
// and unhold), Session.Attach makes the session a room participant's
// connection, Session.Close ends it and gives its port pairs back.
//
// Negotiation (RFC 3264): the first audio stream over RTP/AVP, or over
// RTP/SAVP with an a=crypto line in AES_CM_128_HMAC_SHA1_80 or _32 (one
// key, no MKI), with a codec Tessera speaks is answered, every other
// audio stream refused with port 0. Its codec is the first of the offer's
// order among PCMU (payload type 0), PCMA (8), G.722 (9, RTP clock 8000
// for 16 kHz audio) and Opus (opus/48000/2 on its dynamic payload type).
// A later offer keeps the codec while it still lists it; one that drops
// it changes the codec to the new offer's first, and the room reads the
// microphone (fresh jitter buffer and decoder) and sends the mix in the
// new codec from its next tick. A telephone-event (RFC 4733) in the offer is
// answered, at the codec's clock if offered so; comfort noise (RFC 3389)
// is not answered, and CN packets that arrive anyway are dropped. The
// answer mirrors the offer's direction. What Tessera sends follows a=ptime
// (G.711 and G.722 frames joined into packets of a multiple of 20 ms, up to 120 ms;
// Opus packets are 20 ms) and stops while the party holds the call
// (sendonly or inactive, or a c= address of 0.0.0.0).
//
// The session packetizes the room's mix with its own SSRC, sequence and
// timestamp at the codec's clock (frames the room skipped advance the
// timestamp). It hands the room only the codec's packets of the party's
// microphone, through a bounded queue that drops and counts; DTMF digits
// reach SessionOptions.OnDigit once per event, and Session.SendDigits
// sends keys the other way as telephone-events on the audio stream. Garbage is counted and
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
// Video: the first video stream over the audio's profile (RTP/AVP, or
// RTP/SAVP with its own a=crypto line and key) that offers H.264 in
// packetization mode 1 or VP8 is answered, with the first of those in the
// offer's order, or else H.264 in single NAL unit mode (packetization
// mode 0, also what no packetization-mode means); other video streams
// are refused with port 0. The party's largest picture is its H.264
// level's frame size (H.264 Table A-1; no profile-level-id means level
// 1.0) or an explicit max-fs, capped by the largest picture its
// a=imageattr recv sets for the format allow (RFC 6236: values, ranges,
// lists; "*" caps nothing); the room sends it the best tier of the
// composite that fits (endpoint.Media's MaxPictureSize), or no composite
// at all if none fits (the party's camera is still shown). The answer
// states what Tessera sends: H.264 constrained baseline
// (profile-level-id 42e0 with level 3.1, or the offer's when higher) in
// the packetization mode chosen, and the keyframe requests it takes
// (a=rtcp-fb nack pli, ccm fir: those the offer lists, both if it lists
// none). The composite is packetized (RFC 6184: STAP-A and FU-A, or in
// mode 0 one NAL unit per packet; RFC 7741) into packets of at most 1200
// bytes (the room's H.264 slices each fit one; in mode 0 a NAL unit that
// does not is dropped and counted, and the room asked for a keyframe)
// with the session's video SSRC, a 90 kHz timestamp from each picture's duration, the
// marker bit on a picture's last packet; pictures the room skipped leave
// a sequence gap and advance the time; nothing is sent while the party
// holds the video. The party's camera (its negotiated payload type only)
// goes to the room through a bounded queue that drops and counts; the
// room's keyframe requests reach the party as an RTCP PLI (and a FIR for
// H.264); its bitrate limits are not passed on. The party's PLI or FIR
// on the video RTCP port asks the room for a keyframe of its composite.
// Video latches to its own source like audio, sends its own sender
// reports, and its RTP keeps the call alive as audio's does. A
// re-INVITE keeps the video codec; one without video stops the video, and
// a session set up without video takes none later.
//
// For a call Tessera places, Engine.NewOffer opens a session and gives
// Tessera's offer (RTP/AVP, G.722, PCMU and PCMA with
// telephone-event/8000);
// Session.Answered takes the callee's answer and starts the media, in
// the codec the callee picked among those offered. From then on the
// session is as one that answered (later offers go to Update).
//
// Stats counts packets and bytes each way and what was dropped, per
// medium.
package plainrtp
