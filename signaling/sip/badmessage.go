package sip

import (
	"bytes"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The SIP stack drops a datagram it cannot parse without a word, which
// leaves the sender retransmitting. readFilter looks at each datagram
// first: one that does not parse but reads as a request gets a 400 built
// from the header lines it has (RFC 3261 section 8.2.6: Via, From, To,
// Call-ID and CSeq copied), and is then dropped. TCP streams are framed
// by the stack itself and pass untouched.
func (s *Server) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(info.Transport, "udp") || len(bytes.Trim(data, "\r\n")) == 0 {
		return data, nil
	}
	if _, err := sip.ParseMessage(data); err == nil {
		return data, nil
	}
	s.stats.malformed.Add(1)
	if res := badRequest(data, s.cfg.UserAgent); res != nil {
		if pc := s.packetConn(); pc != nil && info.RemoteAddr != nil {
			_, _ = pc.WriteTo(res, info.RemoteAddr)
		}
	}
	return nil, nil // dropped, never an error: an error stops the reader
}

func (s *Server) packetConn() net.PacketConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if pc, ok := c.(net.PacketConn); ok {
			return pc
		}
	}
	return nil
}

// badRequest is the 400 to an unparseable request, nil if data is not a
// request or has no Via to answer to.
func badRequest(data []byte, server string) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	if len(lines) == 0 || !strings.HasSuffix(strings.TrimSpace(lines[0]), "SIP/2.0") || strings.HasPrefix(lines[0], "SIP/") {
		return nil
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 400 Bad Request (malformed message)\r\n")
	vias := 0
	for _, l := range lines[1:] {
		name, _, ok := strings.Cut(l, ":")
		if !ok || len(l) > 1024 {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v":
			vias++
		case "from", "f", "to", "t", "call-id", "i", "cseq":
		default:
			continue
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	if vias == 0 {
		return nil
	}
	b.WriteString("Server: " + server + "\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}
