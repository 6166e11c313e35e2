package whip

import (
	"errors"
	"strconv"
	"strings"

	"github.com/tessera-mcu/tessera/room/rtc"
)

// sdpFrag is what a trickle-ice-sdpfrag body (RFC 8840) carries: the ICE
// credentials it belongs to and its candidates, each with its m-line's
// mid and index.
type sdpFrag struct {
	ufrag, pwd string
	candidates []rtc.Candidate
}

var errBadFrag = errors.New("not an SDP fragment")

// parseSDPFrag reads a trickle-ice-sdpfrag body. Candidates before any
// m-line belong to the first; an end-of-candidates line becomes an empty
// candidate.
func parseSDPFrag(body string) (sdpFrag, error) {
	var f sdpFrag
	mline := -1
	var mid string
	add := func(c string) {
		cand := rtc.Candidate{Candidate: c}
		idx := uint16(max(mline, 0))
		cand.SDPMLineIndex = &idx
		if mid != "" {
			m := mid
			cand.SDPMid = &m
		}
		f.candidates = append(f.candidates, cand)
	}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return f, errBadFrag
		}
		key, value, _ := strings.Cut(line[2:], ":")
		switch {
		case line[0] == 'm':
			mline++
			mid = strconv.Itoa(mline)
		case line[0] != 'a':
		case key == "ice-ufrag":
			f.ufrag = value
		case key == "ice-pwd":
			f.pwd = value
		case key == "mid":
			mid = value
		case key == "candidate":
			add("candidate:" + value)
		case key == "end-of-candidates":
			add("")
		}
	}
	return f, nil
}
