package room

// readAudio reads a participant's microphone from src until the track
// ends (on the track's own goroutine).
func (r *Room) readAudio(id ParticipantID, conn Connection, src RTPReader, codec micCodec, levelExt uint8) {
	in, err := newAudioInput(codec)
	if err != nil {
		r.log.Error("cannot create audio input", "participant", id, "err", err)
		return
	}
	in.count = r.count
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.conn != conn || p.viewer {
			in.close() // left, or hung up, meanwhile; a viewer is not heard
			return
		}
		// A renegotiation that brings a new track replaces the old one,
		// whose reader ends with its track.
		if p.in != nil {
			p.in.close()
		}
		p.in = in
	})
	defer r.readerPanic(id, "audio")
	in.read(src, levelExt)
}

// readerPanic, deferred by a track's reader, recovers a panic in it: the
// track is no longer read (the input goes quiet), and the room and the
// process go on.
func (r *Room) readerPanic(id ParticipantID, media string) {
	if v := recover(); v != nil {
		recovered(v, &panics.reader, r.log, "track reader panicked; its input stops", "participant", id, "media", media)
	}
}

// readVideo reads a participant's camera, or one layer of it (rid set),
// from src until the track ends (on the track's own goroutine). The
// layers of a simulcast camera share one input, which decodes one of
// them at a time.
func (r *Room) readVideo(id ParticipantID, conn Connection, src RTPReader, codecName, rid string, fb SenderFeedback) {
	if r.video == nil || r.decode == nil {
		return
	}
	w := r.decode.bind()
	type joined struct {
		in *videoInput
		l  *layer
	}
	var (
		in *videoInput
		l  *layer
	)
	if rid == "" {
		in = newVideoInput(codecName, w, fb, r.log.With("participant", id))
		l = in.cur
	} else {
		in = newVideoInput(codecName, w, nil, r.log.With("participant", id, "simulcast", true))
		l = in.addLayer(rid, fb)
	}
	in.count = r.count
	registered := make(chan joined, 1)
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.conn != conn || p.viewer {
			registered <- joined{} // a viewer is not seen
			return
		}
		if old := p.vin; old != nil {
			// Another layer of the camera joins its input; a new camera
			// (or a layer of a new one) replaces it.
			if rid != "" && old.joins(conn, codecName, rid) {
				registered <- joined{old, old.addLayer(rid, fb)}
				return
			}
			go old.close() // waits for a decode in flight: not on the tick
		}
		in.conn = conn
		p.vin = in
		registered <- joined{in, l}
	})
	var got joined
	select {
	case got = <-registered:
	case <-r.done:
	}
	if got.in != in {
		in.close()
		r.decode.unbind(w)
		if got.in == nil {
			return
		}
		in, l = got.in, got.l
	}
	// The input stays bound to its worker until its last reader ends.
	in.recvMu.Lock()
	in.readers++
	in.recvMu.Unlock()
	defer func() {
		in.recvMu.Lock()
		in.readers--
		last := in.readers == 0
		in.recvMu.Unlock()
		if last {
			r.decode.unbind(in.worker)
		}
	}()
	defer r.readerPanic(id, "video")
	in.readLayer(l, src)
}

// connState follows what a participant's connection reports (room
// goroutine).
func (r *Room) connState(id ParticipantID, conn Connection, s ConnState) {
	p := r.parts[id]
	if p == nil || p.conn != conn {
		return
	}
	switch s {
	case ConnUp:
		if !p.setup {
			p.setup = true
			if o := r.viewerOutput(p); o != nil {
				// Whatever was sent before the connection was up never
				// left: the viewer starts on a fresh keyframe.
				p.vready = false
				o.requestKeyframe(keyframeNewViewer)
			}
			r.log.Info("media connected", "participant", id)
			r.publish(Event{Kind: EventMediaUp, Participant: id, Info: p.info()})
			r.publish(Event{Kind: EventUpdated, Participant: id, Info: p.info()})
		}
	case ConnFailed, ConnClosed:
		reason := "closed"
		if s == ConnFailed {
			reason = "ice-failed"
		}
		p.setup = false
		r.log.Info("media ended", "participant", id, "reason", reason)
		r.publish(Event{Kind: EventHangup, Participant: id, Info: p.info(), Reason: reason})
	}
}
