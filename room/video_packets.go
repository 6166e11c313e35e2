package room

import (
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// The composite goes out as one stream per output: each picture is cut
// into RTP payloads once, and every viewer's connection sends the same
// payloads under its own SSRC, sequence numbers and timestamps.

// packetize cuts one encoded picture of the output into RTP payloads
// (room goroutine).
func (o *videoOutput) packetize(data []byte) [][]byte {
	if o.pay == nil {
		o.pay = endpoint.NewPayloader(o.key.codec)
	}
	return o.pay.Payload(endpoint.PacketPayload, data)
}
