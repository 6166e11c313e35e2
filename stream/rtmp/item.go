package rtmp

import (
	"sync"
	"time"
)

type kind uint8

const (
	kindVideo kind = iota + 1
	kindAudio
)

// item is one queued frame: a copy of an access unit or of a PCM chunk,
// in a pooled buffer that the Pusher's goroutine releases once it is sent
// or discarded.
type item struct {
	kind kind
	key  bool
	pts  time.Duration
	data *[]byte
	pcm  *[]int16
}

var (
	bytePool = sync.Pool{New: func() any { return new([]byte) }}
	pcmPool  = sync.Pool{New: func() any { return new([]int16) }}
)

func copyBytes(b []byte) *[]byte {
	buf := bytePool.Get().(*[]byte)
	*buf = append((*buf)[:0], b...)
	return buf
}

func copyPCM(pcm []int16) *[]int16 {
	buf := pcmPool.Get().(*[]int16)
	*buf = append((*buf)[:0], pcm...)
	return buf
}

// release returns the item's buffer to its pool.
func (it item) release() {
	if it.data != nil {
		bytePool.Put(it.data)
	}
	if it.pcm != nil {
		pcmPool.Put(it.pcm)
	}
}
