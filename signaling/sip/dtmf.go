package sip

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// dtmfKeys are the keys of DTMF events 0..15 (RFC 4733 section 3.2).
const dtmfKeys = "0123456789*#ABCD"

// parseDTMF reads the key of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160", the de facto format of Cisco and most
// phones) or application/dtmf (the key alone). A signal may be the key
// or its event number ("10" for *, "11" for #).
func parseDTMF(contentType string, body []byte) (rune, error) {
	signal := ""
	if contentType == "application/dtmf" {
		signal = strings.TrimSpace(string(body))
	} else {
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "Signal") {
				signal = strings.TrimSpace(v)
				break
			}
		}
	}
	if len(signal) == 1 {
		if i := strings.IndexByte(dtmfKeys, strings.ToUpper(signal)[0]); i >= 0 {
			return rune(dtmfKeys[i]), nil
		}
	}
	if n, err := strconv.Atoi(signal); err == nil && n >= 0 && n < len(dtmfKeys) {
		return rune(dtmfKeys[n]), nil
	}
	return 0, fmt.Errorf("%w: DTMF signal %q", ErrBadRequest, signal)
}
