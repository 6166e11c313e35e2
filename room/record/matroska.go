package record

import (
	"fmt"
	"math/rand/v2"
	"time"
)

const (
	// appName goes into MuxingApp and WritingApp.
	appName = "Tessera"

	// seekReserve is the room kept at the start of the Segment for the
	// SeekHead: three entries take 68 bytes, the rest is Void.
	seekReserve = 96
	// durationSize is the size of the Duration element (ID, size, 8-byte
	// float); a Void of the same size holds its place until Close.
	durationSize = 11
	// clusterHeaderSize is a Cluster's ID and 8-byte size.
	clusterHeaderSize = 12

	// audioClusterMs is how long a cluster of an audio-only file runs.
	audioClusterMs = 1000
	// maxClusterBytes starts a new cluster even without a keyframe.
	maxClusterBytes = 16 << 20

	// preStartAudio is how many audio packets (a second's worth) are held
	// while the recording waits for its first keyframe.
	preStartAudio = 50

	// opusSeekPreRoll is the SeekPreRoll the Matroska Opus mapping asks
	// for: 80 ms of audio decoded and discarded after a seek.
	opusSeekPreRoll = 80 * time.Millisecond
)

// mkvEpoch is the origin of Matroska's DateUTC.
var mkvEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// cluster is one Cluster of the file, for Cues and for patching its size.
type cluster struct {
	pos int64 // of its ID, relative to the Segment's data
	ts  int64 // ms
	cue bool  // starts with a keyframe: gets a CuePoint
}

// matroska writes Matroska and WebM files.
//
// Layout:
//
//	EBML header
//	Segment (size unknown until Close)
//	  SeekHead + Void (seekReserve bytes; Cues added on Close)
//	  Info (Duration reserved as a Void of the same size)
//	  Tracks
//	  Cluster (size unknown until Close), SimpleBlock...
//	  ...
//	  Cues (on Close)
type matroska struct {
	s     *sink
	video *VideoTrack
	audio *AudioTrack
	h264  bool
	webm  bool
	vNum  byte // track numbers; 0 when there is no such track
	aNum  byte

	// Header.
	headerDone   bool
	headerLen    int
	segData      int64 // offset of the Segment's data from the file start
	codecPrivate []byte
	date         int64
	uids         [2]uint64

	// Timeline. origin is the pts that becomes time 0: the first keyframe,
	// or the first audio packet of an audio-only file.
	started      bool
	origin       time.Duration
	lastV, lastA time.Duration
	vSeen, aSeen bool
	vEnd, aEnd   int64 // end of each track's last block, ms
	lastVTs      int64
	lastVDur     int64
	inCluster    bool
	clusterTs    int64
	clusterBytes int
	clusters     []cluster
	held         []heldPacket // audio before the first keyframe
	buf          []byte
}

type heldPacket struct {
	data []byte
	pts  time.Duration
}

var _ Writer = (*matroska)(nil)

func newMatroska(s *sink, opts Options) (*matroska, error) {
	m := &matroska{
		s:     s,
		video: opts.Video,
		audio: opts.Audio,
		webm:  opts.Format == WebM,
		date:  int64(time.Since(mkvEpoch)),
		uids:  [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1},
	}
	if m.video != nil {
		m.vNum = 1
		m.h264 = m.video.Codec == CodecH264
	}
	if m.audio != nil {
		m.aNum = m.vNum + 1
	}
	// H.264 needs the first keyframe's parameter sets for CodecPrivate;
	// everything else can start the file right away.
	if !m.h264 {
		m.buf = m.appendHeader(m.buf[:0], nil)
		m.headerDone = true
		if err := s.write(m.buf); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// finalHeader holds what Close knows and the first header did not.
type finalHeader struct {
	segSize  uint64
	duration float64 // ms; 0 leaves the Void in place
	cues     int64   // position of Cues, or -1
}

// appendHeader appends the EBML header and the Segment's head. With fin
// nil the Segment's size is unknown and there is no Duration or Cues; the
// final header differs only in those fields and has the same length.
func (m *matroska) appendHeader(b []byte, fin *finalHeader) []byte {
	docType := "matroska"
	if m.webm {
		docType = "webm"
	}
	b = appendMaster(b, idEBML, func(b []byte) []byte {
		b = appendUint(b, idEBMLVersion, 1)
		b = appendUint(b, idEBMLReadVersion, 1)
		b = appendUint(b, idEBMLMaxIDLength, 4)
		b = appendUint(b, idEBMLMaxSizeLength, 8)
		b = appendString(b, idDocType, docType)
		// Version 4 brings CodecDelay and SeekPreRoll; reading needs 2
		// (SimpleBlock).
		b = appendUint(b, idDocTypeVersion, 4)
		return appendUint(b, idDocTypeReadVersion, 2)
	})
	b = appendID(b, idSegment)
	if fin != nil {
		b = appendVintN(b, fin.segSize, 8)
	} else {
		b = appendVintN(b, unknownValue, 8)
	}
	m.segData = int64(len(b))

	info := appendMaster(nil, idInfo, func(b []byte) []byte {
		b = appendUint(b, idTimestampScale, uint64(time.Millisecond)) // block timestamps count ms
		b = appendString(b, idMuxingApp, appName)
		b = appendString(b, idWritingApp, appName)
		b = appendInt8(b, idDateUTC, m.date)
		if fin != nil && fin.duration > 0 {
			return appendFloat(b, idDuration, fin.duration)
		}
		return appendVoid(b, durationSize)
	})
	tracks := appendMaster(nil, idTracks, m.appendTracks)

	infoPos := int64(seekReserve)
	tracksPos := infoPos + int64(len(info))
	start := len(b)
	b = appendMaster(b, idSeekHead, func(b []byte) []byte {
		b = appendSeek(b, idInfo, infoPos)
		b = appendSeek(b, idTracks, tracksPos)
		if fin != nil && fin.cues >= 0 {
			b = appendSeek(b, idCues, fin.cues)
		}
		return b
	})
	b = appendVoid(b, seekReserve-(len(b)-start))
	b = append(b, info...)
	return append(b, tracks...)
}

// appendSeek appends a Seek entry; the position always takes 8 bytes so
// that the SeekHead's size does not depend on where things are.
func appendSeek(b []byte, id uint32, pos int64) []byte {
	return appendMaster(b, idSeek, func(b []byte) []byte {
		b = appendID(b, idSeekID)
		b = appendVint(b, uint64(idLen(id)))
		b = appendID(b, id)
		return appendUintN(b, idSeekPosition, uint64(pos), 8)
	})
}

func (m *matroska) appendTracks(b []byte) []byte {
	if v := m.video; v != nil {
		b = appendMaster(b, idTrackEntry, func(b []byte) []byte {
			b = appendUint(b, idTrackNumber, uint64(m.vNum))
			b = appendUintN(b, idTrackUID, m.uids[0], 8)
			b = appendUint(b, idTrackType, 1) // video
			b = appendUint(b, idFlagLacing, 0)
			b = appendString(b, idLanguage, "und")
			if m.h264 {
				b = appendString(b, idCodecID, "V_MPEG4/ISO/AVC")
				if m.codecPrivate != nil {
					b = appendBinary(b, idCodecPrivate, m.codecPrivate)
				}
			} else {
				b = appendString(b, idCodecID, "V_VP8")
			}
			return appendMaster(b, idVideo, func(b []byte) []byte {
				b = appendUint(b, idPixelWidth, uint64(v.Width))
				return appendUint(b, idPixelHeight, uint64(v.Height))
			})
		})
	}
	if a := m.audio; a != nil {
		b = appendMaster(b, idTrackEntry, func(b []byte) []byte {
			b = appendUint(b, idTrackNumber, uint64(m.aNum))
			b = appendUintN(b, idTrackUID, m.uids[1], 8)
			b = appendUint(b, idTrackType, 2) // audio
			b = appendUint(b, idFlagLacing, 0)
			b = appendString(b, idLanguage, "und") // the default would be English
			b = appendString(b, idCodecID, "A_OPUS")
			// The Matroska Opus mapping: CodecDelay is the pre-skip in
			// nanoseconds, SeekPreRoll 80 ms, CodecPrivate the OpusHead.
			b = appendUint(b, idCodecDelay, uint64(a.PreSkip)*uint64(time.Second)/opusRate)
			b = appendUint(b, idSeekPreRoll, uint64(opusSeekPreRoll))
			b = appendBinary(b, idCodecPrivate, opusHead(a))
			return appendMaster(b, idAudio, func(b []byte) []byte {
				b = appendFloat(b, idSamplingFrequency, opusRate)
				return appendUint(b, idChannels, uint64(a.Channels))
			})
		})
	}
	return b
}

// WriteVideo implements Writer. Whether a frame is a keyframe is read from
// the bitstream.
func (m *matroska) WriteVideo(frame []byte, _ bool, pts time.Duration) error {
	if err := m.s.check(); err != nil {
		return err
	}
	if m.video == nil {
		return fmt.Errorf("%w: video frame for a recording without video", ErrInvalid)
	}
	if len(frame) == 0 {
		return nil
	}
	var (
		avc      avcFrame
		keyframe bool
	)
	if m.h264 {
		avc = scanAVC(frame)
		if avc.units == 0 {
			return fmt.Errorf("%w: H.264 access unit without Annex-B start codes", ErrInvalid)
		}
		keyframe = avc.idr
	} else {
		keyframe = frame[0]&1 == 0 // VP8 frame tag: frame type 0 is a key frame
	}
	if !m.started {
		if !keyframe {
			m.s.st.droppedVideo.Add(1)
			return nil
		}
		if m.h264 {
			cp, err := avcConfig(frame)
			if err != nil {
				// An IDR without parameter sets cannot open the file.
				m.s.st.droppedVideo.Add(1)
				return nil
			}
			m.codecPrivate = cp
		}
		m.started, m.origin = true, pts
	}
	pts = clampPTS(pts, &m.lastV, &m.vSeen, &m.s.st)
	ts := toMs(pts - m.origin)
	size := len(frame)
	if m.h264 {
		size = avc.length
	}
	b := m.startBlock(m.vNum, keyframe, ts, size)
	if m.h264 {
		b = appendAVC(b, frame)
	} else {
		b = append(b, frame...)
	}
	if err := m.flush(b); err != nil {
		return err
	}
	if ts > m.lastVTs {
		m.lastVDur = ts - m.lastVTs
	}
	m.lastVTs = ts
	m.vEnd = ts + m.lastVDur
	m.s.st.video.Add(1)
	m.updateDuration()
	if m.held != nil {
		return m.writeHeld()
	}
	return nil
}

// WriteAudio implements Writer.
func (m *matroska) WriteAudio(packet []byte, pts time.Duration) error {
	if err := m.s.check(); err != nil {
		return err
	}
	if m.audio == nil {
		return fmt.Errorf("%w: audio packet for a recording without audio", ErrInvalid)
	}
	if len(packet) == 0 {
		return nil
	}
	pts = clampPTS(pts, &m.lastA, &m.aSeen, &m.s.st)
	if !m.started {
		if m.video != nil {
			m.holdAudio(packet, pts)
			return nil
		}
		m.started, m.origin = true, pts
	}
	return m.writeAudio(packet, pts)
}

// holdAudio keeps an audio packet that came before the first keyframe:
// the keyframe may carry an earlier pts (video encoding takes longer than
// audio), and audio from its pts on belongs in the file. Only the last
// preStartAudio packets are kept.
func (m *matroska) holdAudio(packet []byte, pts time.Duration) {
	var buf []byte
	if len(m.held) == preStartAudio {
		buf = m.held[0].data
		copy(m.held, m.held[1:])
		m.held = m.held[:len(m.held)-1]
		m.s.st.droppedAudio.Add(1)
	}
	m.held = append(m.held, heldPacket{data: append(buf[:0], packet...), pts: pts})
}

// writeHeld writes the held audio from the origin on, after the keyframe.
func (m *matroska) writeHeld() error {
	for _, h := range m.held {
		if err := m.writeAudio(h.data, h.pts); err != nil {
			return err
		}
	}
	m.held = nil
	return nil
}

func (m *matroska) writeAudio(packet []byte, pts time.Duration) error {
	if pts < m.origin {
		// Older than the keyframe the recording starts with.
		m.s.st.droppedAudio.Add(1)
		return nil
	}
	ts := toMs(pts - m.origin)
	b := m.startBlock(m.aNum, true, ts, len(packet))
	if err := m.flush(append(b, packet...)); err != nil {
		return err
	}
	n := opusSamples(packet)
	if n == 0 {
		n = defaultOpusSamples
	}
	m.aEnd = ts + int64(n)*1000/opusRate
	m.s.st.audio.Add(1)
	m.updateDuration()
	return nil
}

// toMs converts a time from the origin to block timestamps (ms), rounded
// to the nearest.
func toMs(d time.Duration) int64 {
	return int64((d + time.Millisecond/2) / time.Millisecond)
}

// startBlock returns the write buffer holding everything that must precede
// a block of size bytes on track at ts: the header if it is still owed, a
// new Cluster if one is due, and the SimpleBlock's own header.
func (m *matroska) startBlock(track byte, key bool, ts int64, size int) []byte {
	b := m.buf[:0]
	if !m.headerDone {
		b = m.appendHeader(b, nil)
		m.headerLen = len(b)
	}
	rel := ts - m.clusterTs
	isVideo := track == m.vNum && m.video != nil
	due := !m.inCluster || rel < -32768 || rel > 32767 || m.clusterBytes > maxClusterBytes
	if m.video != nil {
		// Every keyframe opens a cluster, so clusters are the seek points.
		due = due || (isVideo && key)
	} else {
		due = due || rel >= audioClusterMs
	}
	if due {
		pos := m.s.pos + int64(len(b)) - m.segData
		m.clusters = append(m.clusters, cluster{pos: pos, ts: ts, cue: key && (isVideo || m.video == nil)})
		b = appendID(b, idCluster)
		b = appendVintN(b, unknownValue, 8)
		b = appendUint(b, idTimestamp, uint64(ts))
		m.inCluster, m.clusterTs, m.clusterBytes = true, ts, 0
		rel = 0
	}
	b = appendID(b, idSimpleBlock)
	b = appendVint(b, uint64(4+size))
	var flags byte
	if key {
		flags |= 0x80
	}
	return append(b, 0x80|track, byte(uint16(rel)>>8), byte(rel), flags)
}

// flush writes the buffer startBlock began, in one write.
func (m *matroska) flush(b []byte) error {
	m.buf = b
	if err := m.s.write(b); err != nil {
		return err
	}
	if !m.headerDone {
		m.headerDone = true
		m.clusterBytes = len(b) - m.headerLen
	} else {
		m.clusterBytes += len(b)
	}
	return nil
}

func (m *matroska) endMs() int64 { return max(m.vEnd, m.aEnd) }

func (m *matroska) updateDuration() {
	m.s.st.duration.Store(int64(time.Duration(m.endMs()) * time.Millisecond))
}

// Stats implements Writer.
func (m *matroska) Stats() Stats { return m.s.st.stats() }

// Close implements Writer: it writes the Cues, then patches the Cluster
// sizes, the Segment size, the Duration and the SeekHead.
func (m *matroska) Close() error {
	if m.s.closed {
		return ErrClosed
	}
	m.s.st.droppedAudio.Add(uint64(len(m.held))) // no keyframe ever came
	m.held = nil
	if m.s.err == nil {
		m.finish()
	}
	return m.s.close()
}

func (m *matroska) finish() {
	if !m.headerDone {
		// No keyframe ever came (H.264): an empty but well-formed file.
		m.buf = m.appendHeader(m.buf[:0], nil)
		if m.s.write(m.buf) != nil {
			return
		}
		m.headerDone = true
	}
	cues := int64(-1)
	if b := m.appendCues(m.buf[:0]); len(b) > 0 {
		cues = m.s.pos - m.segData
		if m.s.write(b) != nil {
			return
		}
		m.buf = b
	}
	if !m.s.seekOK {
		return // the sizes stay unknown, which readers accept
	}
	end := m.s.pos - m.segData
	var size [8]byte
	for i, c := range m.clusters {
		next := end
		if cues >= 0 {
			next = cues
		}
		if i+1 < len(m.clusters) {
			next = m.clusters[i+1].pos
		}
		putVint8(size[:], uint64(next-c.pos-clusterHeaderSize))
		if m.s.patch(m.segData+c.pos+4, size[:]) != nil {
			return
		}
	}
	prevLen := len(m.appendHeader(nil, nil))
	h := m.appendHeader(nil, &finalHeader{
		segSize:  uint64(min(end, maxVint)),
		duration: float64(m.endMs()),
		cues:     cues,
	})
	if len(h) != prevLen {
		// Cannot happen: every patched field has a fixed size.
		m.s.fail(fmt.Errorf("internal error: final header is %d bytes, first was %d", len(h), prevLen))
		return
	}
	m.s.patch(0, h)
}

// appendCues appends the Cues: one CuePoint per cluster that starts with a
// keyframe (every cluster of an audio-only file). It appends nothing when
// there are none, as Cues may not be empty.
func (m *matroska) appendCues(b []byte) []byte {
	track := m.vNum
	if m.video == nil {
		track = m.aNum
	}
	n := 0
	for _, c := range m.clusters {
		if c.cue {
			n++
		}
	}
	if n == 0 {
		return b
	}
	return appendMaster(b, idCues, func(b []byte) []byte {
		for _, c := range m.clusters {
			if !c.cue {
				continue
			}
			b = appendMaster(b, idCuePoint, func(b []byte) []byte {
				b = appendUint(b, idCueTime, uint64(c.ts))
				return appendMaster(b, idCueTrackPositions, func(b []byte) []byte {
					b = appendUint(b, idCueTrack, uint64(track))
					return appendUint(b, idCueClusterPosition, uint64(c.pos))
				})
			})
		}
		return b
	})
}
