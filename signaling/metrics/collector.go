package metrics

import (
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// desc is shorthand for a metric description without constant labels.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics read at scrape time.
var (
	buildInfo = desc("tessera_build_info", "Always 1; the version is in the label.", "version")

	roomsDesc        = desc("tessera_rooms", "Rooms open.")
	participantsDesc = desc("tessera_participants", "Participants in rooms, by the kind of their media connection (none: not negotiated yet).", "kind")
	talkersDesc      = desc("tessera_talkers", "Participants being mixed as talkers.")
	recordingsDesc   = desc("tessera_recordings", "Recordings in progress.")
	streamsDesc      = desc("tessera_streams", "Live streams of rooms running (RTMP pushes, HLS).")

	sessionsDesc = desc("tessera_janus_sessions", "Janus sessions open.")
	handlesDesc  = desc("tessera_janus_handles", "Janus plugin handles attached.")

	tickDesc     = desc("tessera_worker_tick_duration_seconds", "Duration of the room ticks a worker ran.", "worker")
	lateDesc     = desc("tessera_worker_late_ticks_total", "Room ticks a worker started more than half an audio frame (10 ms) after they were due.", "worker")
	skippedDesc  = desc("tessera_worker_skipped_ticks_total", "Audio frames (media=audio) and composite pictures (media=video) a worker's rooms skipped for running too late.", "worker", "media")
	busyDesc     = desc("tessera_worker_busy_ratio", "Share of the last second a worker spent running room ticks (0 to 1).", "worker")
	busyTimeDesc = desc("tessera_worker_busy_seconds_total", "Time a worker spent running room ticks.", "worker")
	workerRooms  = desc("tessera_worker_rooms", "Rooms assigned to a worker.", "worker")

	packetsDesc   = desc("tessera_media_packets_total", "RTP packets on the media port (retransmissions included).", "media", "direction")
	bytesDesc     = desc("tessera_media_bytes_total", "RTP bytes (header and payload, before SRTP) on the media port.", "media", "direction")
	nacksDesc     = desc("tessera_media_nacked_packets_total", "Packets asked for again with RTCP NACK: by receivers of Tessera's media (in), by Tessera of senders (out).", "direction")
	lostDesc      = desc("tessera_media_lost_packets_total", "Packets lost: of participants' audio on the way in (jitter buffer), of the mix and composite on the way out (receiver reports, beyond frames left out on purpose).", "media", "direction")
	sockDropsDesc = desc("tessera_media_socket_dropped_packets_total", "Datagrams the kernel dropped on the media port because its receive buffer was full (each may cost a camera a keyframe).")
	sockBufDesc   = desc("tessera_media_socket_buffer_bytes", "Receive and send buffer the media port got (0: the kernel's default).", "direction")
	sockCallsDesc = desc("tessera_media_socket_calls_total", "System calls that moved the media port's datagrams in batches (recvmmsg: in, sendmmsg: out); with tessera_media_socket_datagrams_total, the batch size.", "direction")
	sockDgDesc    = desc("tessera_media_socket_datagrams_total", "Datagrams the media port's batched system calls moved.", "direction")
	sendDropsDesc = desc("tessera_media_send_dropped_total", "Datagrams not sent: the media port's send queue was full (queue) or the socket refused them (refused).", "reason")
	incomplete    = desc("tessera_video_incomplete_frames_total", "Camera frames that arrived with packets missing before them.")
	keyReqDesc    = desc("tessera_keyframe_requests_total", "Keyframe requests (RTCP PLI or FIR): from viewers of the composite (in), from Tessera to cameras (out).", "direction")
	keyframesDesc = desc("tessera_video_keyframes_total", "Keyframes the composite encoders produced.")
	forcedDesc    = desc("tessera_video_forced_keyframes_total", "Keyframes asked of the composite encoders (a viewer's request, a new viewer, a recording).")
	decodeErrDesc = desc("tessera_decode_errors_total", "Frames a decoder refused.", "media")
	jitterMax     = desc("tessera_audio_jitter_buffer_max_seconds", "Media time held by the deepest audio jitter buffer.")
	jitterMean    = desc("tessera_audio_jitter_buffer_mean_seconds", "Mean media time held by the audio jitter buffers.")
	audioEncoders = desc("tessera_audio_encoders", "Opus encoders running (one per distinct mix).")
	videoEncoders = desc("tessera_video_encoders", "Composite encoders running, by codec and quality tier (0: the top one).", "codec", "tier")
	viewersDesc   = desc("tessera_video_viewers", "Viewers of the composite, by codec and quality tier.", "codec", "tier")
	videoInputs   = desc("tessera_video_inputs", "Cameras received, by whether they send one stream (single) or simulcast layers (simulcast).", "layers")
	decodedPixels = desc("tessera_video_decoded_pixels", "Pixels per picture of what the cameras' decoders decode, summed over cameras (for a simulcast camera, the layer its tile needs): the decoding load.")
	layerSwitches = desc("tessera_video_layer_switches_total", "Times a simulcast camera's input moved to another layer.")
	layerDropped  = desc("tessera_video_layer_dropped_packets_total", "Packets of simulcast layers received and not decoded (another layer covers the tile).")

	recBytesDesc   = desc("tessera_recording_written_bytes_total", "Bytes written to recording files.")
	recErrorsDesc  = desc("tessera_recording_write_errors_total", "Write errors, each of which ended a recording.")
	recDroppedDesc = desc("tessera_recording_dropped_frames_total", "Frames dropped because a recording's queue was full (a slow disk).")

	sipCallsDesc     = desc("tessera_sip_calls", "SIP calls up (dialled in or out).")
	sipInvitesDesc   = desc("tessera_sip_invites_total", "INVITEs that started a call, by how they ended: answered, refused (a final error response), cancelled (CANCEL while ringing), rate_limited (503 to an address sending too many).", "result")
	sipMalformedDesc = desc("tessera_sip_malformed_requests_total", "SIP requests answered 400 (malformed).")
	sipPortsDesc     = desc("tessera_sip_media_ports", "Media port pairs of SIP calls: all of -sip-media-ports (state=total) and those calls hold (state=used).", "state")

	clusterRoomsDesc    = desc("tessera_cluster_hosted_rooms", "Rooms whose lease this node holds (present only on a node of a cluster).")
	clusterRequestsDesc = desc("tessera_cluster_bus_requests_total", "Node-to-node requests over Redis: sent to other nodes (out), served for them (in).", "direction")
	clusterFailuresDesc = desc("tessera_cluster_redis_failures_total", "Writes Redis did not take: heartbeats, lease renewal rounds, published event batches.", "what")
	clusterDroppedDesc  = desc("tessera_cluster_dropped_total", "Messages dropped on a full queue: incoming requests, room events read, events of hosted handles.", "what")
	clusterLostDesc     = desc("tessera_cluster_handles_lost_total", "Relayed handles ended because the node on the other side was lost: their room's host (host), or their client's node (origin).", "side")

	panicsDesc = desc("tessera_panics_total", "Panics recovered, by where: a room tick (the room ended), a video decode or a track reader (that input stopped).", "where")
)

var allDescs = []*prometheus.Desc{buildInfo, roomsDesc, participantsDesc, talkersDesc, recordingsDesc, streamsDesc,
	sessionsDesc, handlesDesc, tickDesc, lateDesc, skippedDesc, busyDesc, busyTimeDesc, workerRooms,
	packetsDesc, bytesDesc, nacksDesc, sockDropsDesc, sockBufDesc, sockCallsDesc, sockDgDesc, sendDropsDesc, lostDesc, incomplete, keyReqDesc, keyframesDesc, forcedDesc, decodeErrDesc,
	jitterMax, jitterMean, audioEncoders, videoEncoders, viewersDesc, videoInputs, decodedPixels, layerSwitches, layerDropped, recBytesDesc, recErrorsDesc, recDroppedDesc,
	sipCallsDesc, sipInvitesDesc, sipMalformedDesc, sipPortsDesc,
	clusterRoomsDesc, clusterRequestsDesc, clusterFailuresDesc, clusterDroppedDesc, clusterLostDesc, panicsDesc}

// collector reads the sources when Prometheus scrapes.
type collector struct{ o *Options }

// Describe sends every description, whichever sources are set (a
// gateway may be set after registration).
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfo, prometheus.GaugeValue, 1, c.o.Version)
	p := room.Panics()
	for _, x := range []struct {
		where string
		n     uint64
	}{{"tick", p.Tick}, {"decode", p.Decode}, {"reader", p.Reader}} {
		counter(ch, panicsDesc, x.n, x.where)
	}
	if c.o.Rooms != nil {
		c.rooms(ch)
		c.workers(ch)
		c.counters(ch)
	}
	if m := c.o.Media; m != nil {
		s := m.Stats()
		for _, x := range []struct {
			media string
			t     rtc.Traffic
		}{{"audio", s.Audio}, {"video", s.Video}} {
			counter(ch, packetsDesc, x.t.PacketsIn, x.media, "in")
			counter(ch, packetsDesc, x.t.PacketsOut, x.media, "out")
			counter(ch, bytesDesc, x.t.BytesIn, x.media, "in")
			counter(ch, bytesDesc, x.t.BytesOut, x.media, "out")
		}
		counter(ch, nacksDesc, s.NACKsIn, "in")
		counter(ch, nacksDesc, s.NACKsOut, "out")
		counter(ch, sockDropsDesc, s.SocketDrops)
		gauge(ch, sockBufDesc, float64(s.SocketReceiveBuffer), "receive")
		gauge(ch, sockBufDesc, float64(s.SocketSendBuffer), "send")
		counter(ch, sockCallsDesc, s.ReceiveCalls, "in")
		counter(ch, sockCallsDesc, s.SendCalls, "out")
		counter(ch, sockDgDesc, s.DatagramsReceived, "in")
		counter(ch, sockDgDesc, s.DatagramsSent, "out")
		counter(ch, sendDropsDesc, s.SendQueueDrops, "queue")
		counter(ch, sendDropsDesc, s.SendErrors, "refused")
	}
	if g := c.o.Janus; g != nil {
		n := g.Counts()
		gauge(ch, sessionsDesc, float64(n.Sessions))
		gauge(ch, handlesDesc, float64(n.Handles))
	}
	if s := c.o.SIP; s != nil {
		c.sip(ch, s)
	}
	if cl := c.o.Cluster; cl != nil {
		c.cluster(ch, cl)
	}
}

// cluster reports this node's part in a cluster.
func (c *collector) cluster(ch chan<- prometheus.Metric, cl Cluster) {
	gauge(ch, clusterRoomsDesc, float64(cl.HostedRooms()))
	n, r := cl.NodeStats(), cl.Stats()
	counter(ch, clusterRequestsDesc, n.RequestsSent, "out")
	counter(ch, clusterRequestsDesc, n.RequestsServed, "in")
	counter(ch, clusterFailuresDesc, n.HeartbeatFailures, "heartbeat")
	counter(ch, clusterFailuresDesc, n.RenewalFailures, "renewal")
	counter(ch, clusterFailuresDesc, r.PublishFailures, "publish")
	counter(ch, clusterDroppedDesc, n.RequestsDropped, "requests")
	counter(ch, clusterDroppedDesc, n.EventsDropped, "room_events")
	counter(ch, clusterDroppedDesc, r.EventsDropped, "hosted_events")
	counter(ch, clusterLostDesc, r.HostsLost, "host")
	counter(ch, clusterLostDesc, r.OriginsLost, "origin")
}

// sip reports the SIP user agent's calls and media ports.
func (c *collector) sip(ch chan<- prometheus.Metric, s SIP) {
	gauge(ch, sipCallsDesc, float64(s.Calls()))
	n := s.Stats()
	counter(ch, sipInvitesDesc, n.Answered, "answered")
	counter(ch, sipInvitesDesc, n.Refused, "refused")
	counter(ch, sipInvitesDesc, n.Cancelled, "cancelled")
	counter(ch, sipInvitesDesc, n.RateLimited, "rate_limited")
	counter(ch, sipInvitesDesc, n.Redirected, "redirected")
	counter(ch, sipMalformedDesc, n.Malformed)
	total, used := s.MediaPorts()
	gauge(ch, sipPortsDesc, float64(total), "total")
	gauge(ch, sipPortsDesc, float64(used), "used")
}

// rooms reports what the rooms last published of themselves.
func (c *collector) rooms(ch chan<- prometheus.Metric) {
	recording, streams := 0, 0
	for _, s := range c.o.Rooms.Summaries() {
		if s.Recording {
			recording++
		}
		streams += s.Streams
	}
	gauge(ch, recordingsDesc, float64(recording))
	gauge(ch, streamsDesc, float64(streams))

	stats := c.o.Rooms.RoomStats()
	gauge(ch, roomsDesc, float64(len(stats)))
	// The kinds of today's connections are always reported, at zero
	// when no one uses them.
	kinds := map[string]int{room.KindNone: 0, endpoint.KindWebRTC: 0, endpoint.KindRTP: 0}
	type tierKey struct {
		codec string
		tier  int
	}
	encoders, viewers := map[tierKey]int{}, map[tierKey]int{}
	var talkers, audioEnc, inputs, maxBuffered, sumBuffered int
	var single, simulcast, pixels int
	for _, s := range stats {
		for _, in := range s.VideoInputs {
			if in.Layers > 1 {
				simulcast++
			} else {
				single++
			}
			pixels += in.LayerWidth * in.LayerHeight
		}
		for k, n := range s.ByKind {
			kinds[k] += n
		}
		talkers += s.Talkers
		audioEnc += int(s.AudioEncoders)
		for _, in := range s.Inputs {
			inputs++
			sumBuffered += in.BufferedMs
			maxBuffered = max(maxBuffered, in.BufferedMs)
		}
		for _, o := range s.VideoOutputs {
			k := tierKey{o.Codec, o.Tier}
			encoders[k]++
			viewers[k] += o.Viewers
		}
	}
	for _, k := range sortedKeys(kinds) {
		gauge(ch, participantsDesc, float64(kinds[k]), k)
	}
	gauge(ch, talkersDesc, float64(talkers))
	gauge(ch, audioEncoders, float64(audioEnc))
	for k, n := range encoders {
		tier := strconv.Itoa(k.tier)
		gauge(ch, videoEncoders, float64(n), k.codec, tier)
		gauge(ch, viewersDesc, float64(viewers[k]), k.codec, tier)
	}
	gauge(ch, videoInputs, float64(single), "single")
	gauge(ch, videoInputs, float64(simulcast), "simulcast")
	gauge(ch, decodedPixels, float64(pixels))
	gauge(ch, jitterMax, float64(maxBuffered)/1000)
	mean := 0.0
	if inputs > 0 {
		mean = float64(sumBuffered) / float64(inputs) / 1000
	}
	gauge(ch, jitterMean, mean)
}

// workers reports each room worker's ticks.
func (c *collector) workers(ch chan<- prometheus.Metric) {
	for _, w := range c.o.Rooms.Workers() {
		id := strconv.Itoa(w.ID)
		buckets := make(map[float64]uint64, len(w.Ticks.Buckets))
		for i, n := range w.Ticks.Buckets {
			buckets[room.TickBuckets[i].Seconds()] = n
		}
		ch <- prometheus.MustNewConstHistogram(tickDesc, w.Ticks.Count, w.Ticks.Sum.Seconds(), buckets, id)
		counter(ch, lateDesc, w.Late, id)
		counter(ch, skippedDesc, w.SkippedAudio, id, "audio")
		counter(ch, skippedDesc, w.SkippedVideo, id, "video")
		gauge(ch, busyDesc, w.BusyRatio, id)
		ch <- prometheus.MustNewConstMetric(busyTimeDesc, prometheus.CounterValue, w.Busy.Seconds(), id)
		gauge(ch, workerRooms, float64(w.Rooms), id)
	}
}

// counters reports the rooms' media counters.
func (c *collector) counters(ch chan<- prometheus.Metric) {
	n := c.o.Rooms.Counters()
	counter(ch, lostDesc, n.AudioLostIn, "audio", "in")
	counter(ch, lostDesc, n.AudioLostOut, "audio", "out")
	counter(ch, lostDesc, n.VideoLostOut, "video", "out")
	counter(ch, incomplete, n.VideoLostIn)
	counter(ch, keyReqDesc, n.KeyframeRequestsIn, "in")
	counter(ch, keyReqDesc, n.KeyframeRequestsOut, "out")
	counter(ch, keyframesDesc, n.Keyframes)
	counter(ch, forcedDesc, n.ForcedKeyframes)
	counter(ch, decodeErrDesc, n.AudioDecodeErrors, "audio")
	counter(ch, decodeErrDesc, n.VideoDecodeErrors, "video")
	counter(ch, recBytesDesc, n.RecordedBytes)
	counter(ch, recErrorsDesc, n.RecordWriteErrors)
	counter(ch, recDroppedDesc, n.RecordDropped)
	counter(ch, layerSwitches, n.LayerSwitches)
	counter(ch, layerDropped, n.LayerDroppedPackets)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
