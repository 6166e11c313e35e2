package hls

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// partsListed is how many complete segments at the live edge keep their
// EXT-X-PART lines in the playlist (the spec asks for at least the last
// three target durations' worth).
const partsListed = 3

// PlaylistRequest is what a player asked the media playlist for.
type PlaylistRequest struct {
	// MSN and Part are the _HLS_msn and _HLS_part directives of a blocking
	// playlist reload; -1 when absent. With MSN set the answer waits until
	// the playlist holds that segment (or with Part set, that part of it).
	MSN, Part int64
	// Query, when not empty, is appended to every URI in the playlist
	// (already encoded, without '?'), so that a token in the playlist's
	// URL reaches the init section, segments and parts too.
	Query string
}

// Playlist returns the media playlist. It waits for the first complete
// segment, and for a blocking reload until the asked-for segment or part
// exists, at most three target durations (then ErrNotReady). A reload
// asking for a segment more than two ahead of the live edge is
// ErrFutureSegment. ctx bounds every wait.
func (m *Muxer) Playlist(ctx context.Context, req PlaylistRequest) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.waitLocked(ctx, m.startedLocked); err != nil {
		return nil, err
	}
	if req.MSN >= 0 {
		if uint64(req.MSN) > m.nextMSN+2 {
			return nil, fmt.Errorf("%w: segment %d asked, live edge at %d", ErrFutureSegment, req.MSN, m.nextMSN)
		}
		msn := uint64(req.MSN)
		ready := func() bool {
			if msn >= m.nextMSN {
				if req.Part < 0 || msn > m.nextMSN {
					return false
				}
				s := m.segmentLocked(msn)
				return s != nil && int64(len(s.parts)) > req.Part
			}
			s := m.segmentLocked(msn)
			if req.Part < 0 || s == nil || int64(len(s.parts)) > req.Part {
				return true
			}
			// A part past the last of a complete segment is the first
			// part of the segment after it.
			if msn+1 < m.nextMSN {
				return true
			}
			next := m.segmentLocked(msn + 1)
			return next != nil && len(next.parts) > 0
		}
		wctx, cancel := context.WithTimeout(ctx, 3*m.targetDurationLocked())
		defer cancel()
		if err := m.waitLocked(wctx, ready); err != nil {
			return nil, err
		}
	}
	return m.renderLocked(req.Query), nil
}

// startedLocked reports whether the stream has a complete segment and a
// part after it, so that the first playlist a player gets shows where the
// stream goes on (hls.js starts more reliably from such a playlist).
func (m *Muxer) startedLocked() bool {
	n := len(m.segs)
	switch complete := m.completeLocked(); {
	case complete == 0:
		return false
	case complete > 1:
		return true
	default:
		return !m.segs[n-1].done && len(m.segs[n-1].parts) > 0
	}
}

// targetDurationLocked is EXT-X-TARGETDURATION: the configured segment
// length in whole seconds, or more when a segment in the window lasted
// longer (a keyframe came late).
func (m *Muxer) targetDurationLocked() time.Duration {
	td := math.Ceil(m.cfg.SegmentDuration.Seconds())
	for _, s := range m.segs {
		if s.done {
			td = max(td, math.Round(s.dur.Seconds()))
		}
	}
	return time.Duration(td) * time.Second
}

// renderLocked writes the playlist: the last Window complete segments,
// then the parts of the open one.
func (m *Muxer) renderLocked(query string) []byte {
	uri := func(name string) string {
		if query == "" {
			return name
		}
		return name + "?" + query
	}
	complete := m.completeLocked()
	first := max(0, complete-m.cfg.Window)
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", int(m.targetDurationLocked()/time.Second))
	fmt.Fprintf(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f\n", 3*m.cfg.PartDuration.Seconds())
	fmt.Fprintf(&b, "#EXT-X-PART-INF:PART-TARGET=%.3f\n", m.cfg.PartDuration.Seconds())
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", m.segs[first].msn)
	fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", uri(m.initName()))
	for i := first; i < len(m.segs); i++ {
		s := m.segs[i]
		if m.cfg.ProgramDateTime {
			b.WriteString("#EXT-X-PROGRAM-DATE-TIME:")
			b.WriteString(s.pdt.UTC().Format("2006-01-02T15:04:05.000Z"))
			b.WriteByte('\n')
		}
		if i >= complete-partsListed {
			for j, p := range s.parts {
				fmt.Fprintf(&b, "#EXT-X-PART:DURATION=%.3f,URI=%q", p.dur.Seconds(), uri(m.partName(s.msn, j)))
				if p.independent {
					b.WriteString(",INDEPENDENT=YES")
				}
				b.WriteByte('\n')
			}
		}
		if s.done {
			fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n", s.dur.Seconds(), uri(m.segmentName(s.msn)))
		}
	}
	hm, hi := m.hintLocked()
	fmt.Fprintf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=%q\n", uri(m.partName(hm, hi)))
	return b.Bytes()
}

// ParseDirective reads a _HLS_msn or _HLS_part value: -1 when absent.
func ParseDirective(v string) (int64, error) {
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad directive %q", ErrBadRequest, v)
	}
	return n, nil
}
