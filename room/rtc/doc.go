// Package rtc is the WebRTC connection of a room's participants: one pion
// engine per process with its codecs (Opus, VP8, H.264), header extensions,
// interceptors (NACK both ways, RTCP reports, TWCC with the GCC estimator)
// and a single media port (UDP, with ICE-TCP on the same number), whose
// datagrams move in batches (recvmmsg, and sendmmsg from one sender
// goroutine the engine owns). Offer
// answers a participant's SDP offer and attaches the connection to its room
// (the endpoint contract of package room/endpoint); AddCandidates takes
// trickled candidates, at most MaxRemoteCandidates per media session.
// Packet and byte counts of the port are kept for the metrics.
package rtc
