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

// readVideo reads a participant's camera from src until the track ends
// (on the track's own goroutine).
func (r *Room) readVideo(id ParticipantID, conn Connection, src RTPReader, codecName string, fb SenderFeedback) {
	if r.video == nil || r.decode == nil {
		return
	}
	w := r.decode.bind()
	defer r.decode.unbind(w)
	in := newVideoInput(codecName, w, fb, r.log.With("participant", id))
	in.count = r.count
	registered := make(chan bool, 1)
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.conn != conn || p.viewer {
			registered <- false // a viewer is not seen
			return
		}
		if old := p.vin; old != nil {
			go old.close() // waits for a decode in flight: not on the tick
		}
		p.vin = in
		registered <- true
	})
	select {
	case ok := <-registered:
		if !ok {
			in.close()
			return
		}
	case <-r.done:
		in.close()
		return
	}
	defer r.readerPanic(id, "video")
	in.read(src)
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
