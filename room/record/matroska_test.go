package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// A small EBML reader, independent of the writer's code, to check the
// structure of the files: element boundaries, patched sizes, pointers.

type elem struct {
	id      uint32
	off     int // of the ID
	data    int // of the data
	size    int // -1: unknown
	end     int // end of the data (for unknown sizes: where the next sibling starts)
	payload []byte
}

func readVint(b []byte) (v uint64, n int, err error) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, errors.New("bad vint")
	}
	n = 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(b) < n {
		return 0, 0, errors.New("short vint")
	}
	v = uint64(b[0] & (0xff >> n))
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}

func readElemHeader(b []byte, off int) (elem, error) {
	if off >= len(b) {
		return elem{}, errors.New("eof")
	}
	_, idn, err := readVint(b[off:])
	if err != nil {
		return elem{}, fmt.Errorf("id at %d: %w", off, err)
	}
	var id uint32
	for _, c := range b[off : off+idn] {
		id = id<<8 | uint32(c)
	}
	size, sn, err := readVint(b[off+idn:])
	if err != nil {
		return elem{}, fmt.Errorf("size at %d: %w", off+idn, err)
	}
	e := elem{id: id, off: off, data: off + idn + sn, size: int(size)}
	if size == 1<<(7*sn)-1 {
		e.size = -1
	}
	return e, nil
}

// children lists the elements in b[from:to]. An element of unknown size
// ends at the first following element whose ID is in stop (or at to).
func children(t *testing.T, b []byte, from, to int, stop ...uint32) []elem {
	t.Helper()
	var out []elem
	for off := from; off < to; {
		e, err := readElemHeader(b, off)
		if err != nil {
			t.Fatalf("element at %d: %v", off, err)
		}
		if e.size >= 0 {
			e.end = e.data + e.size
			if e.end > to {
				t.Fatalf("element %x at %d: size %d runs past %d", e.id, off, e.size, to)
			}
		} else {
			e.end = to
			for o := e.data; len(stop) > 0 && o < to; {
				c, err := readElemHeader(b, o)
				if err != nil {
					t.Fatalf("child at %d: %v", o, err)
				}
				if bytes.Contains(u32s(stop), u32b(c.id)) {
					e.end = o
					break
				}
				if c.size < 0 {
					t.Fatalf("nested unknown size at %d", o)
				}
				o = c.data + c.size
			}
		}
		e.payload = b[e.data:e.end]
		out = append(out, e)
		off = e.end
	}
	return out
}

func u32b(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u32s(vs []uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, u32b(v)...)
	}
	return b
}

func find(es []elem, id uint32) []elem {
	var out []elem
	for _, e := range es {
		if e.id == id {
			out = append(out, e)
		}
	}
	return out
}

func one(t *testing.T, es []elem, id uint32) elem {
	t.Helper()
	f := find(es, id)
	if len(f) != 1 {
		t.Fatalf("%d elements %x, want 1", len(f), id)
	}
	return f[0]
}

func uintOf(e elem) uint64 {
	var v uint64
	for _, c := range e.payload {
		v = v<<8 | uint64(c)
	}
	return v
}

// mkvFile is a parsed file.
type mkvFile struct {
	b        []byte
	segment  elem
	top      []elem // children of the Segment
	clusters []elem
}

func parseMKV(t *testing.T, b []byte) mkvFile {
	t.Helper()
	top := children(t, b, 0, len(b))
	if len(top) != 2 || top[0].id != idEBML || top[1].id != idSegment {
		t.Fatalf("top level: %+v", top)
	}
	seg := top[1]
	f := mkvFile{b: b, segment: seg}
	f.top = children(t, b, seg.data, seg.end, idCluster, idCues)
	f.clusters = find(f.top, idCluster)
	return f
}

type block struct {
	track byte
	ts    int64 // absolute, ms
	key   bool
	data  []byte
}

func (f mkvFile) blocks(t *testing.T, c elem) []block {
	t.Helper()
	kids := children(t, f.b, c.data, c.end)
	base := int64(uintOf(one(t, kids, idTimestamp)))
	var out []block
	for _, k := range find(kids, idSimpleBlock) {
		p := k.payload
		if p[0]&0x80 == 0 {
			t.Fatalf("track number vint %x", p[0])
		}
		rel := int16(binary.BigEndian.Uint16(p[1:]))
		out = append(out, block{track: p[0] & 0x7f, ts: base + int64(rel), key: p[3]&0x80 != 0, data: p[4:]})
	}
	return out
}

func avContent(t *testing.T) []sample {
	return interleave(encoded(t, "vp8"), encoded(t, "opus"))
}

var avOptions = Options{
	Format: WebM,
	Video:  &VideoTrack{Codec: "vp8", Width: testW, Height: testH},
	Audio:  &AudioTrack{SampleRate: 48000, Channels: 1},
}

// TestMatroskaStructure checks a closed file: every size patched, SeekHead
// pointing at Info, Tracks and Cues, each Cluster opening with a keyframe
// and indexed, the Duration filled in.
func TestMatroskaStructure(t *testing.T) {
	content := avContent(t)
	mf := &memFile{}
	w, err := New(mf, avOptions)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, content)

	// While recording: unknown sizes, no Duration, no Cues.
	open := parseMKV(t, bytes.Clone(mf.b))
	if open.segment.size != -1 {
		t.Errorf("open Segment size %d, want unknown", open.segment.size)
	}
	for _, c := range open.clusters {
		if c.size != -1 {
			t.Fatalf("open Cluster at %d has size %d, want unknown", c.off, c.size)
		}
	}
	if len(find(open.top, idCues)) != 0 {
		t.Error("Cues before Close")
	}
	info := children(t, open.b, one(t, open.top, idInfo).data, one(t, open.top, idInfo).end)
	if len(find(info, idDuration)) != 0 || len(find(info, idVoid)) != 1 {
		t.Errorf("open Info %+v: want a Void in place of Duration", info)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := parseMKV(t, mf.b)
	if f.segment.size != len(mf.b)-f.segment.data {
		t.Errorf("Segment size %d, want %d", f.segment.size, len(mf.b)-f.segment.data)
	}
	var ids []uint32
	for _, e := range f.top {
		if e.id != idCluster {
			ids = append(ids, e.id)
		}
	}
	if want := []uint32{idSeekHead, idVoid, idInfo, idTracks, idCues}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("Segment children %x, want %x (and Clusters)", ids, want)
	}
	// SeekHead entries point at the elements they name.
	sh := one(t, f.top, idSeekHead)
	seeks := find(children(t, f.b, sh.data, sh.end), idSeek)
	if len(seeks) != 3 {
		t.Fatalf("%d Seek entries, want 3", len(seeks))
	}
	for _, s := range seeks {
		kids := children(t, f.b, s.data, s.end)
		id := binary.BigEndian.Uint32(one(t, kids, idSeekID).payload)
		pos := int(uintOf(one(t, kids, idSeekPosition)))
		e, err := readElemHeader(f.b, f.segment.data+pos)
		if err != nil || e.id != id {
			t.Errorf("Seek to %x at %d finds %x (%v)", id, pos, e.id, err)
		}
	}
	// Duration.
	info = children(t, f.b, one(t, f.top, idInfo).data, one(t, f.top, idInfo).end)
	if got := uintOf(one(t, info, idTimestampScale)); got != 1000000 {
		t.Errorf("TimestampScale %d", got)
	}
	if d := math.Float64frombits(uintOf(one(t, info, idDuration))); math.Abs(d-15000) > 1 {
		t.Errorf("Duration %v ms, want 15000", d)
	}
	if app := string(one(t, info, idMuxingApp).payload); app != "Tessera" {
		t.Errorf("MuxingApp %q", app)
	}
	// Clusters: known sizes, each opening with a video keyframe, 8 of them
	// (a keyframe every 2 s).
	if len(f.clusters) != 8 {
		t.Errorf("%d clusters, want 8", len(f.clusters))
	}
	var last int64 = -1
	for _, c := range f.clusters {
		if c.size < 0 {
			t.Fatalf("Cluster at %d still has unknown size", c.off)
		}
		bs := f.blocks(t, c)
		if bs[0].track != 1 || !bs[0].key || bs[0].data[0]&1 != 0 {
			t.Errorf("Cluster at %d opens with %+v, want a video keyframe", c.off, bs[0])
		}
		for _, b := range bs {
			if b.track == 2 {
				if !b.key {
					t.Errorf("audio block at %d without the keyframe flag", b.ts)
				}
				if b.ts < last {
					t.Errorf("audio ts %d after %d", b.ts, last)
				}
				last = b.ts
			}
		}
	}
	// Cues: one per cluster, pointing at it, with its timestamp.
	cues := one(t, f.top, idCues)
	points := find(children(t, f.b, cues.data, cues.end), idCuePoint)
	if len(points) != len(f.clusters) {
		t.Fatalf("%d CuePoints for %d clusters", len(points), len(f.clusters))
	}
	for i, p := range points {
		kids := children(t, f.b, p.data, p.end)
		tp := children(t, f.b, one(t, kids, idCueTrackPositions).data, one(t, kids, idCueTrackPositions).end)
		pos := int(uintOf(one(t, tp, idCueClusterPosition)))
		if f.segment.data+pos != f.clusters[i].off || uintOf(one(t, tp, idCueTrack)) != 1 {
			t.Errorf("CuePoint %d: cluster position %d track %d", i, pos, uintOf(one(t, tp, idCueTrack)))
		}
		ckids := children(t, f.b, f.clusters[i].data, f.clusters[i].end)
		if uintOf(one(t, kids, idCueTime)) != uintOf(one(t, ckids, idTimestamp)) {
			t.Errorf("CuePoint %d time differs from its cluster's", i)
		}
	}
	if got := w.Close(); !errors.Is(got, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", got)
	}
	if got := w.WriteAudio([]byte{0xf8}, time.Hour); !errors.Is(got, ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", got)
	}
}

// TestMatroskaTracks checks the track entries, including the Opus
// CodecDelay and SeekPreRoll and the H.264 CodecPrivate.
func TestMatroskaTracks(t *testing.T) {
	video := encoded(t, "h264")
	mf := &memFile{}
	w, err := New(mf, Options{
		Format: Matroska,
		Video:  &VideoTrack{Codec: "h264", Width: testW, Height: testH},
		Audio:  &AudioTrack{SampleRate: 48000, Channels: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.b) != 0 {
		t.Fatalf("H.264 header written before the first keyframe: %d bytes", len(mf.b))
	}
	writeAll(t, w, video[:3])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := parseMKV(t, mf.b)
	hdr := children(t, f.b, 0, f.segment.off)
	ebml := children(t, f.b, hdr[0].data, hdr[0].end)
	if dt := string(one(t, ebml, idDocType).payload); dt != "matroska" {
		t.Errorf("DocType %q", dt)
	}
	tracks := one(t, f.top, idTracks)
	entries := find(children(t, f.b, tracks.data, tracks.end), idTrackEntry)
	if len(entries) != 2 {
		t.Fatalf("%d track entries", len(entries))
	}
	v := children(t, f.b, entries[0].data, entries[0].end)
	a := children(t, f.b, entries[1].data, entries[1].end)
	if uintOf(one(t, v, idTrackNumber)) != 1 || uintOf(one(t, a, idTrackNumber)) != 2 {
		t.Error("track numbers: want video 1, audio 2")
	}
	if id := string(one(t, v, idCodecID).payload); id != "V_MPEG4/ISO/AVC" {
		t.Errorf("video CodecID %q", id)
	}
	cp := one(t, v, idCodecPrivate).payload
	want, err := avcConfig(video[0].data)
	if err != nil || !bytes.Equal(cp, want) || cp[0] != 1 || cp[4] != 0xff {
		t.Errorf("CodecPrivate % x, want % x (%v)", cp, want, err)
	}
	vv := children(t, f.b, one(t, v, idVideo).data, one(t, v, idVideo).end)
	if uintOf(one(t, vv, idPixelWidth)) != testW || uintOf(one(t, vv, idPixelHeight)) != testH {
		t.Error("pixel size")
	}
	if id := string(one(t, a, idCodecID).payload); id != "A_OPUS" {
		t.Errorf("audio CodecID %q", id)
	}
	if d := uintOf(one(t, a, idCodecDelay)); d != 6500000 {
		t.Errorf("CodecDelay %d ns, want 6500000", d)
	}
	if d := uintOf(one(t, a, idSeekPreRoll)); d != 80000000 {
		t.Errorf("SeekPreRoll %d ns, want 80000000", d)
	}
	if head := one(t, a, idCodecPrivate).payload; !bytes.HasPrefix(head, []byte("OpusHead\x01\x02\x38\x01")) {
		t.Errorf("OpusHead % x", head)
	}
	aa := children(t, f.b, one(t, a, idAudio).data, one(t, a, idAudio).end)
	if math.Float64frombits(uintOf(one(t, aa, idSamplingFrequency))) != 48000 || uintOf(one(t, aa, idChannels)) != 2 {
		t.Error("audio settings")
	}
	// The blocks hold length-prefixed NAL units, not Annex-B.
	bs := f.blocks(t, f.clusters[0])
	for i, b := range bs {
		var n int
		for p := b.data; len(p) > 0; n++ {
			l := int(binary.BigEndian.Uint32(p))
			if l == 0 || 4+l > len(p) {
				t.Fatalf("block %d: bad NAL length %d of %d bytes", i, l, len(p))
			}
			p = p[4+l:]
		}
		if n == 0 {
			t.Errorf("block %d holds no NAL unit", i)
		}
	}
	if !bs[0].key || bs[1].key {
		t.Errorf("keyframe flags %v %v", bs[0].key, bs[1].key)
	}
}

// vp8Frame is a fake VP8 frame: only the frame tag's key bit matters to
// the writer.
func vp8Frame(key bool, n int) []byte {
	b := make([]byte, n)
	if !key {
		b[0] = 1
	}
	return b
}

// TestClusterCuts checks the other reasons for a new Cluster: the 16-bit
// relative timestamp running out without a keyframe, and the one-second
// clusters of an audio-only file.
func TestClusterCuts(t *testing.T) {
	t.Run("overflow", func(t *testing.T) {
		mf := &memFile{}
		w, err := New(mf, Options{Format: WebM, Video: &VideoTrack{Codec: "vp8", Width: 16, Height: 16}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 700 { // 70 s, one keyframe
			if err := w.WriteVideo(vp8Frame(i == 0, 10), i == 0, time.Duration(i)*100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f := parseMKV(t, mf.b)
		var starts []int64
		for _, c := range f.clusters {
			bs := f.blocks(t, c)
			starts = append(starts, bs[0].ts)
			for _, b := range bs {
				if b.ts-bs[0].ts > 32767 {
					t.Errorf("block at %d in cluster at %d", b.ts, bs[0].ts)
				}
			}
		}
		if len(starts) != 3 || starts[0] != 0 {
			t.Errorf("clusters start at %v, want 3 starting at 0", starts)
		}
		cues := one(t, f.top, idCues)
		if n := len(find(children(t, f.b, cues.data, cues.end), idCuePoint)); n != 1 {
			t.Errorf("%d CuePoints, want 1 (one keyframe)", n)
		}
	})
	t.Run("audio-only", func(t *testing.T) {
		mf := &memFile{}
		w, err := New(mf, Options{Format: WebM, Audio: &AudioTrack{}})
		if err != nil {
			t.Fatal(err)
		}
		writeAll(t, w, until(encoded(t, "opus"), 5*time.Second))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f := parseMKV(t, mf.b)
		if len(f.clusters) != 5 {
			t.Errorf("%d clusters for 5 s, want 5", len(f.clusters))
		}
		for _, c := range f.clusters {
			if bs := f.blocks(t, c); len(bs) != 50 || bs[0].track != 1 {
				t.Errorf("cluster of %d blocks on track %d, want 50 on track 1", len(bs), bs[0].track)
			}
		}
		cues := one(t, f.top, idCues)
		if n := len(find(children(t, f.b, cues.data, cues.end), idCuePoint)); n != 5 {
			t.Errorf("%d CuePoints, want 5", n)
		}
	})
}

// TestUnseekable: without seeking, Close still writes the Cues and leaves
// the sizes unknown.
func TestUnseekable(t *testing.T) {
	sf := &seqFile{}
	w, err := New(sf, avOptions)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, until(avContent(t), 3*time.Second))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := parseMKV(t, sf.Bytes())
	if f.segment.size != -1 || f.clusters[0].size != -1 {
		t.Error("sizes patched without seeking")
	}
	if len(find(f.top, idCues)) != 1 {
		t.Error("no Cues")
	}
}

// TestClamp: timestamps that go backwards are moved forward and counted.
func TestClamp(t *testing.T) {
	mf := &memFile{}
	w, err := New(mf, Options{Format: WebM, Video: &VideoTrack{Codec: "vp8", Width: 16, Height: 16}, Audio: &AudioTrack{}})
	if err != nil {
		t.Fatal(err)
	}
	pkt := []byte{0xf8, 0xff, 0xfe}
	steps := []struct {
		video bool
		pts   time.Duration
	}{
		{true, 0}, {false, 0}, {false, 20 * time.Millisecond}, {false, 10 * time.Millisecond},
		{true, 100 * time.Millisecond}, {true, 50 * time.Millisecond}, {false, 40 * time.Millisecond},
	}
	for i, s := range steps {
		if s.video {
			err = w.WriteVideo(vp8Frame(i == 0, 20), i == 0, s.pts)
		} else {
			err = w.WriteAudio(pkt, s.pts)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Clamped != 2 {
		t.Errorf("Clamped %d, want 2", st.Clamped)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := parseMKV(t, mf.b)
	var v, a []int64
	for _, c := range f.clusters {
		for _, b := range f.blocks(t, c) {
			if b.track == 1 {
				v = append(v, b.ts)
			} else {
				a = append(a, b.ts)
			}
		}
	}
	if fmt.Sprint(v) != "[0 100 101]" || fmt.Sprint(a) != "[0 20 21 40]" {
		t.Errorf("video %v audio %v, want [0 100 101] and [0 20 21 40]", v, a)
	}
}

// TestNoKeyframeEver: an H.264 recording that never saw a keyframe still
// closes into a well-formed (empty) file.
func TestNoKeyframeEver(t *testing.T) {
	video := encoded(t, "h264")
	mf := &memFile{}
	w, err := New(mf, Options{Video: &VideoTrack{Codec: "h264", Width: testW, Height: testH}, Audio: &AudioTrack{}})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, interleave(video[1:10], until(encoded(t, "opus"), 500*time.Millisecond)))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.DroppedVideo != 9 || st.DroppedAudio != 25 || st.VideoFrames != 0 || st.AudioPackets != 0 {
		t.Errorf("stats %+v", st)
	}
	f := parseMKV(t, mf.b)
	if len(f.clusters) != 0 || f.segment.size != len(mf.b)-f.segment.data {
		t.Errorf("clusters %d, segment size %d", len(f.clusters), f.segment.size)
	}
}
