package plainrtp

import (
	"strconv"
	"strings"
)

// Image attributes (RFC 6236): a=imageattr:<pt> send <sets> recv <sets>
// states the picture sizes a party sends and takes for a payload type
// ("*": every one). A set is [x=<range>,y=<range>,...], a range a single
// value, a list [a,b,c], or [min:max] / [min:step:max]; a "*" list takes
// any size. Tessera reads only what the party receives, to cap the
// composite's picture size.

// maxImageSide bounds a width or height read from imageattr: larger
// values (and overflowing ones) count as this.
const maxImageSide = 1 << 16

// imageattrRecvPixels reads one a=imageattr value for payload type pt:
// the largest picture, in pixels, that any of its recv sets allows. ok
// is false when the attribute is for another payload type, has no recv
// sets, takes any size ("recv *") or does not parse: it then caps
// nothing.
func imageattrRecvPixels(value string, pt uint8) (pixels int, ok bool) {
	fields := splitTop(value, ' ')
	if len(fields) < 3 {
		return 0, false
	}
	if fields[0] != "*" {
		n, err := strconv.Atoi(fields[0])
		if err != nil || n != int(pt) {
			return 0, false
		}
	}
	recv := false
	for _, f := range fields[1:] {
		switch strings.ToLower(f) {
		case "recv":
			recv = true
			continue
		case "send":
			recv = false
			continue
		}
		if !recv {
			continue
		}
		if f == "*" {
			return 0, false
		}
		p, good := imageSetPixels(f)
		if !good {
			return 0, false
		}
		pixels = max(pixels, p)
		ok = true
	}
	return pixels, ok
}

// imageSetPixels reads one set, "[x=...,y=...,...]": the largest x times
// the largest y it allows.
func imageSetPixels(set string) (int, bool) {
	inner, found := strings.CutPrefix(set, "[")
	if inner, found = strings.CutSuffix(inner, "]"); !found {
		return 0, false
	}
	var x, y int
	for _, kv := range splitTop(inner, ',') {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "x":
			x = largestValue(strings.TrimSpace(v))
		case "y":
			y = largestValue(strings.TrimSpace(v))
		}
	}
	if x <= 0 || y <= 0 {
		return 0, false
	}
	return x * y, true
}

// largestValue is the largest value an xyrange allows (0: none, or it
// does not parse).
func largestValue(r string) int {
	inner, found := strings.CutPrefix(r, "[")
	if !found {
		return side(r)
	}
	if inner, found = strings.CutSuffix(inner, "]"); !found {
		return 0
	}
	if parts := strings.Split(inner, ":"); len(parts) > 1 {
		if len(parts) > 3 {
			return 0
		}
		lo, hi := side(parts[0]), side(parts[len(parts)-1])
		if lo <= 0 || hi < lo {
			return 0
		}
		if len(parts) == 3 {
			step := side(parts[1])
			if step <= 0 {
				return 0
			}
			return lo + (hi-lo)/step*step
		}
		return hi
	}
	best := 0
	for _, v := range strings.Split(inner, ",") {
		n := side(v)
		if n <= 0 {
			return 0
		}
		best = max(best, n)
	}
	return best
}

// side parses one width or height.
func side(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil && strings.Trim(strings.TrimSpace(s), "0123456789") == "" && strings.TrimSpace(s) != "" {
		return maxImageSide // all digits, too many of them
	}
	if err != nil || n < 0 {
		return 0
	}
	return min(n, maxImageSide)
}

// splitTop splits s at sep where no bracket is open, dropping empty
// fields (and, for a space, runs of white space).
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	emit := func(end int) {
		if f := strings.TrimSpace(s[start:end]); f != "" {
			out = append(out, f)
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '[':
			depth++
		case c == ']':
			depth = max(depth-1, 0)
		case depth == 0 && (c == sep || sep == ' ' && c == '\t'):
			emit(i)
			start = i + 1
		}
	}
	emit(len(s))
	return out
}
