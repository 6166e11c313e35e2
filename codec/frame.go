package codec

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Frame is a planar YUV 4:2:0 picture (I420) with tightly packed planes:
// the luma stride is Width and the chroma stride is (Width+1)/2.
//
// Frames taken from a FramePool are reference counted: Retain adds a
// reference, Release drops one, and the last Release returns the frame to
// its pool. Frames made with NewFrame are ordinary garbage-collected values
// and Release on them is a no-op.
type Frame struct {
	Width, Height int
	Y, U, V       []byte

	buf  []byte
	refs atomic.Int32
	pool *FramePool
}

// ChromaWidth is the width of the U and V planes.
func (f *Frame) ChromaWidth() int { return (f.Width + 1) / 2 }

// ChromaHeight is the height of the U and V planes.
func (f *Frame) ChromaHeight() int { return (f.Height + 1) / 2 }

// I420Size is the number of bytes of a w x h I420 picture.
func I420Size(w, h int) int {
	cw, ch := (w+1)/2, (h+1)/2
	return w*h + 2*cw*ch
}

// NewFrame allocates an unpooled w x h picture, all black.
func NewFrame(w, h int) *Frame {
	f := &Frame{}
	f.init(make([]byte, I420Size(w, h)), w, h)
	f.Fill(Black)
	return f
}

func (f *Frame) init(buf []byte, w, h int) {
	cw, ch := (w+1)/2, (h+1)/2
	f.Width, f.Height = w, h
	f.buf = buf[:I420Size(w, h)]
	f.Y = f.buf[: w*h : w*h]
	f.U = f.buf[w*h : w*h+cw*ch : w*h+cw*ch]
	f.V = f.buf[w*h+cw*ch:]
}

// Bytes is the whole picture, Y then U then V.
func (f *Frame) Bytes() []byte { return f.buf }

// Retain adds a reference to a pooled frame.
func (f *Frame) Retain() {
	if f.pool != nil {
		f.refs.Add(1)
	}
}

// Release drops a reference; the last one returns the frame to its pool.
func (f *Frame) Release() {
	if f.pool == nil {
		return
	}
	switch n := f.refs.Add(-1); {
	case n == 0:
		f.pool.put(f)
	case n < 0:
		panic("codec: Frame released more times than retained")
	}
}

// CopyFrom copies src, which must have the same size, into f.
func (f *Frame) CopyFrom(src *Frame) error {
	if src.Width != f.Width || src.Height != f.Height {
		return fmt.Errorf("%w: copy %dx%d into %dx%d", ErrFrameSize, src.Width, src.Height, f.Width, f.Height)
	}
	copy(f.buf, src.buf)
	return nil
}

// FramePool recycles frames so that a steady stream of pictures of a few
// sizes allocates nothing. It keeps at most Limit idle frames per size.
type FramePool struct {
	limit int
	mu    sync.Mutex
	free  map[[2]int][]*Frame
	stats struct{ allocs, reuses atomic.Uint64 }
}

// NewFramePool returns a pool that keeps up to limit idle frames per size
// (limit <= 0 means 8).
func NewFramePool(limit int) *FramePool {
	if limit <= 0 {
		limit = 8
	}
	return &FramePool{limit: limit, free: make(map[[2]int][]*Frame)}
}

// Get returns a w x h frame with one reference. Its content is undefined.
func (p *FramePool) Get(w, h int) *Frame {
	key := [2]int{w, h}
	p.mu.Lock()
	list := p.free[key]
	if n := len(list); n > 0 {
		f := list[n-1]
		list[n-1] = nil
		p.free[key] = list[:n-1]
		p.mu.Unlock()
		p.stats.reuses.Add(1)
		f.refs.Store(1)
		return f
	}
	p.mu.Unlock()
	p.stats.allocs.Add(1)
	f := &Frame{pool: p}
	f.init(make([]byte, I420Size(w, h)), w, h)
	f.refs.Store(1)
	return f
}

func (p *FramePool) put(f *Frame) {
	key := [2]int{f.Width, f.Height}
	p.mu.Lock()
	if len(p.free[key]) < p.limit {
		p.free[key] = append(p.free[key], f)
	}
	p.mu.Unlock()
}

// Allocs is how many frames the pool has had to allocate.
func (p *FramePool) Allocs() uint64 { return p.stats.allocs.Load() }

// Reuses is how many Gets were served from idle frames.
func (p *FramePool) Reuses() uint64 { return p.stats.reuses.Load() }
