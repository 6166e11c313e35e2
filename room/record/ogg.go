package record

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"
)

// Ogg framing (RFC 3533) as Ogg Opus (RFC 7845) uses it.
const (
	oggHeaderSize = 27
	oggMaxSegs    = 255
	// oggReserve is the room kept in front of a page's data for the
	// largest header and segment table, so a page is assembled in place.
	oggReserve = oggHeaderSize + oggMaxSegs

	oggBOS = 0x02
	oggEOS = 0x04

	// oggPageSamples: a page is written once it holds 200 ms of audio, so
	// a crash loses at most that much.
	oggPageSamples = opusRate / 5
	// maxSilenceFill bounds the silence inserted for one gap in the
	// timestamps (10 minutes); a longer jump is taken as a clock error and
	// not filled.
	maxSilenceFill = 10 * 60 * opusRate / silentSamples
)

// oggCRCTable is the CRC-32 of Ogg pages: polynomial 0x04c11db7, most
// significant bit first, initial value 0, no final inversion.
var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

// putOggHeader fills h (oggHeaderSize+len(segs) bytes) with a page header
// and segment table. The checksum is left zero.
func putOggHeader(h []byte, flags byte, granule int64, serial, seq uint32, segs []byte) {
	copy(h, "OggS")
	h[4] = 0 // stream_structure_version
	h[5] = flags
	binary.LittleEndian.PutUint64(h[6:], uint64(granule))
	binary.LittleEndian.PutUint32(h[14:], serial)
	binary.LittleEndian.PutUint32(h[18:], seq)
	binary.LittleEndian.PutUint32(h[22:], 0)
	h[26] = byte(len(segs))
	copy(h[oggHeaderSize:], segs)
}

// sealOggPage computes and stores the checksum of a whole page.
func sealOggPage(page []byte) {
	binary.LittleEndian.PutUint32(page[22:], 0)
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
}

// appendOggPage appends a page holding the single packet p, for the
// header pages.
func appendOggPage(b []byte, flags byte, granule int64, serial, seq uint32, p []byte) []byte {
	var segs []byte
	n := len(p)
	for ; n >= 255; n -= 255 {
		segs = append(segs, 255)
	}
	segs = append(segs, byte(n))
	start := len(b)
	b = append(b, make([]byte, oggHeaderSize+len(segs))...)
	putOggHeader(b[start:], flags, granule, serial, seq, segs)
	b = append(b, p...)
	sealOggPage(b[start:])
	return b
}

// oggOpus writes Ogg Opus files (RFC 7845): a page with the OpusHead, a
// page with the OpusTags, then audio pages of whole packets, each written
// as soon as it holds oggPageSamples, the last one marked end-of-stream.
type oggOpus struct {
	s       *sink
	preSkip int64
	serial  uint32
	seq     uint32
	granule int64 // samples of every packet so far: the next page's granule position

	started bool
	origin  time.Duration
	last    time.Duration
	seen    bool

	// page is the page being filled: data from oggReserve on, header and
	// segment table assembled in front of it on flush. After a flush it
	// still holds the page written last (at lastOff, from lastStart) until
	// the next packet, so Close can mark it end-of-stream.
	page      []byte
	segs      [oggMaxSegs]byte
	nseg      int
	pending   int // samples on the page
	flushed   bool
	lastOff   int64
	lastStart int
	silence   []byte
}

var _ Writer = (*oggOpus)(nil)

func newOgg(s *sink, opts Options) (*oggOpus, error) {
	a := opts.Audio
	o := &oggOpus{
		s:       s,
		preSkip: int64(a.PreSkip),
		serial:  rand.Uint32(),
		page:    make([]byte, oggReserve, oggReserve+4096),
		silence: silence(a.Channels),
	}
	// RFC 7845 section 3: the identification header alone on the first
	// page (beginning of stream), the comment header on the next, both
	// with granule position 0; audio starts on a fresh page.
	b := appendOggPage(nil, oggBOS, 0, o.serial, 0, opusHead(a))
	b = appendOggPage(b, 0, 0, o.serial, 1, opusTags(appName))
	o.seq = 2
	if err := s.write(b); err != nil {
		return nil, err
	}
	return o, nil
}

// WriteVideo implements Writer; an Ogg Opus file has no video.
func (o *oggOpus) WriteVideo([]byte, bool, time.Duration) error {
	if err := o.s.check(); err != nil {
		return err
	}
	return fmt.Errorf("%w: video frame for an Ogg Opus recording", ErrInvalid)
}

// WriteAudio implements Writer. Ogg has no timestamps: a packet's time is
// the sum of the durations before it. When pts runs ahead of that by half
// a packet or more (packets lost upstream), silent packets fill the gap,
// so the audio stays in place on the recording's timeline.
func (o *oggOpus) WriteAudio(packet []byte, pts time.Duration) error {
	if err := o.s.check(); err != nil {
		return err
	}
	if len(packet) == 0 {
		return nil
	}
	if len(packet) >= oggMaxSegs*255 {
		return fmt.Errorf("%w: opus packet of %d bytes", ErrInvalid, len(packet))
	}
	if !o.started {
		o.started, o.origin = true, pts
	}
	pts = clampPTS(pts, &o.last, &o.seen, &o.s.st)
	const frame = time.Second * silentSamples / opusRate
	if gap := pts - o.origin - samplesDur(o.granule); gap >= frame/2 {
		n := int((gap + frame/2) / frame)
		if n <= maxSilenceFill {
			for range n {
				if err := o.add(o.silence, silentSamples); err != nil {
					return err
				}
				o.s.st.silence.Add(1)
			}
		}
	}
	n := opusSamples(packet)
	if n == 0 {
		n = defaultOpusSamples
	}
	if err := o.add(packet, n); err != nil {
		return err
	}
	o.s.st.audio.Add(1)
	return nil
}

func samplesDur(n int64) time.Duration {
	return time.Duration(n) * time.Second / opusRate
}

// add puts packet p of n samples on the page, writing the page first if p
// does not fit and afterwards if it is full.
func (o *oggOpus) add(p []byte, n int) error {
	lace := len(p)/255 + 1
	if o.nseg+lace > oggMaxSegs {
		if err := o.flushPage(0); err != nil {
			return err
		}
	}
	if o.flushed {
		o.page, o.flushed = o.page[:oggReserve], false
	}
	l := len(p)
	for ; l >= 255; l -= 255 {
		o.segs[o.nseg] = 255
		o.nseg++
	}
	o.segs[o.nseg] = byte(l)
	o.nseg++
	o.page = append(o.page, p...)
	o.granule += int64(n)
	o.pending += n
	o.s.st.duration.Store(int64(samplesDur(max(o.granule-o.preSkip, 0))))
	if o.pending >= oggPageSamples {
		return o.flushPage(0)
	}
	return nil
}

// flushPage writes the page being filled, with one write.
func (o *oggOpus) flushPage(flags byte) error {
	if o.nseg == 0 && flags == 0 {
		return nil
	}
	if o.flushed { // an empty page: drop the copy of the last one
		o.page, o.flushed = o.page[:oggReserve], false
	}
	start := oggReserve - oggHeaderSize - o.nseg
	putOggHeader(o.page[start:], flags, o.granule, o.serial, o.seq, o.segs[:o.nseg])
	sealOggPage(o.page[start:])
	off := o.s.pos
	if err := o.s.write(o.page[start:]); err != nil {
		return err
	}
	o.seq++
	o.nseg, o.pending = 0, 0
	o.flushed, o.lastOff, o.lastStart = true, off, start
	return nil
}

// Stats implements Writer.
func (o *oggOpus) Stats() Stats { return o.s.st.stats() }

// Close implements Writer: the last page gets the end-of-stream flag,
// either written with it or, when it is already on disk, rewritten in
// place; without seeking, an empty end-of-stream page follows it.
func (o *oggOpus) Close() error {
	if o.s.closed {
		return ErrClosed
	}
	if o.s.err == nil {
		switch {
		case o.nseg > 0:
			o.flushPage(oggEOS)
		case o.flushed && o.s.seekOK:
			page := o.page[o.lastStart:]
			page[5] |= oggEOS
			sealOggPage(page)
			o.s.patch(o.lastOff, page[:oggHeaderSize])
		default:
			o.flushPage(oggEOS)
		}
	}
	return o.s.close()
}
