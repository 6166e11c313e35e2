package hls

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// part is one partial segment: a moof and its mdat.
type part struct {
	data        []byte
	dur         time.Duration
	independent bool // starts with a keyframe
}

// segment is a run of parts that starts with a keyframe. A complete
// segment's bytes are its parts' bytes in order, so nothing is stored
// twice.
type segment struct {
	msn   uint64
	start time.Duration // pts of its first picture
	pdt   time.Time     // wall clock of start
	dur   time.Duration // set when done
	parts []*part
	size  int
	done  bool
}

// Content types of what the muxer serves.
const (
	PlaylistType = "application/vnd.apple.mpegurl"
	MediaType    = "video/mp4"
)

// Resource is a servable piece of the stream: the init section, a
// segment or a part. Its bytes are Chunks in order; they are never
// modified once made.
type Resource struct {
	Chunks [][]byte
	Size   int
}

// initName is the name of the init section of this stream.
func (m *Muxer) initName() string { return m.id + "-init.mp4" }

func (m *Muxer) segmentName(msn uint64) string {
	return m.id + "-" + strconv.FormatUint(msn, 10) + ".m4s"
}

func (m *Muxer) partName(msn uint64, i int) string {
	return m.id + "-" + strconv.FormatUint(msn, 10) + "." + strconv.Itoa(i) + ".m4s"
}

// Resource looks up the init section, a segment or a part by the name the
// playlist gives it. A name of another stream, a segment that left the
// window or one not made yet is ErrNotFound, except the part the
// playlist's preload hint names: a request for it waits until the part is
// made (as LL-HLS asks of a server), at most three part durations past
// the part's target length, or until ctx ends.
func (m *Muxer) Resource(ctx context.Context, name string) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	notFound := fmt.Errorf("%w: %s", ErrNotFound, name)
	if name == m.initName() && m.init != nil {
		return Resource{Chunks: [][]byte{m.init}, Size: len(m.init)}, nil
	}
	rest, ok := strings.CutPrefix(name, m.id+"-")
	if !ok {
		return Resource{}, notFound
	}
	rest, ok = strings.CutSuffix(rest, ".m4s")
	if !ok {
		return Resource{}, notFound
	}
	msnText, partText, isPart := strings.Cut(rest, ".")
	msn, err := strconv.ParseUint(msnText, 10, 64)
	if err != nil {
		return Resource{}, notFound
	}
	if isPart {
		if i, err := strconv.Atoi(partText); err == nil && m.hintedLocked(msn, i) {
			wctx, cancel := context.WithTimeout(ctx, 4*m.cfg.PartDuration)
			defer cancel()
			if err := m.waitLocked(wctx, func() bool { return !m.hintedLocked(msn, i) }); err != nil {
				return Resource{}, notFound
			}
		}
	}
	s := m.segmentLocked(msn)
	if s == nil {
		return Resource{}, notFound
	}
	if !isPart {
		if !s.done {
			return Resource{}, notFound
		}
		r := Resource{Size: s.size}
		for _, p := range s.parts {
			r.Chunks = append(r.Chunks, p.data)
		}
		return r, nil
	}
	i, err := strconv.Atoi(partText)
	if err != nil || i < 0 || i >= len(s.parts) {
		return Resource{}, notFound
	}
	return Resource{Chunks: [][]byte{s.parts[i].data}, Size: len(s.parts[i].data)}, nil
}

// hintLocked is the part a player will want next: the next part of the
// open segment, or the first of the next segment.
func (m *Muxer) hintLocked() (msn uint64, part int) {
	if n := len(m.segs); n > 0 && !m.segs[n-1].done {
		return m.segs[n-1].msn, len(m.segs[n-1].parts)
	}
	return m.nextMSN, 0
}

// hintedLocked reports whether part i of segment msn is the part not made
// yet that the preload hint names.
func (m *Muxer) hintedLocked(msn uint64, i int) bool {
	hm, hi := m.hintLocked()
	return m.init != nil && msn == hm && i == hi
}

func (m *Muxer) segmentLocked(msn uint64) *segment {
	if len(m.segs) == 0 || msn < m.segs[0].msn {
		return nil
	}
	i := msn - m.segs[0].msn
	if i >= uint64(len(m.segs)) {
		return nil
	}
	return m.segs[i]
}

// completeLocked is the number of complete segments held.
func (m *Muxer) completeLocked() int {
	n := len(m.segs)
	if n > 0 && !m.segs[n-1].done {
		n--
	}
	return n
}

// wait blocks until ready (called with m.mu held, and returning with it
// held) reports true, the muxer closes or ctx ends.
func (m *Muxer) waitLocked(ctx context.Context, ready func() bool) error {
	for !ready() {
		if m.closed {
			return ErrClosed
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
			m.mu.Lock()
		case <-ctx.Done():
			m.mu.Lock()
			if ready() {
				return nil
			}
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		}
	}
	return nil
}

// WaitReady blocks until the first segment is complete, the muxer closes
// or ctx ends.
func (m *Muxer) WaitReady(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waitLocked(ctx, func() bool { return m.completeLocked() > 0 })
}
