package rtc

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// pionPair connects a plain pion sender with track to a plain pion
// receiver over loopback; the receiver's incoming track comes on the
// channel once its first packet arrives.
func pionPair(t testing.TB, track webrtc.TrackLocal) <-chan *webrtc.TrackRemote {
	t.Helper()
	return connectTo(t, nil, track)
}

// connectTo connects tx (nil: a plain pion sender) with track to a plain
// pion receiver over loopback, as pionPair.
func connectTo(t testing.TB, tx *webrtc.PeerConnection, track webrtc.TrackLocal) <-chan *webrtc.TrackRemote {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	if tx == nil {
		var err error
		if tx, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
			t.Fatal(err)
		}
	}
	rx, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Close(); _ = rx.Close() })
	if _, err := tx.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	got := make(chan *webrtc.TrackRemote, 1)
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { got <- tr })
	offer, err := tx.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(tx)
	if err := tx.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := rx.SetRemoteDescription(*tx.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := rx.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done = webrtc.GatheringCompletePromise(rx)
	if err := rx.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := tx.SetRemoteDescription(*rx.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	tx.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("not connected")
	}
	return got
}

// The viewer's stream carries the room's shared payloads unchanged, under
// its own numbering: sequence numbers run on across pictures, jump by the
// count of frames withheld, the marker ends each picture, and the
// timestamp moves by each frame's duration (withheld ones included) in
// 90 kHz ticks. A frame without packets is cut by the writer itself.
func TestVideoWriterNumbersSharedPackets(t *testing.T) {
	track, err := webrtc.NewTrackLocalStaticRTP(videoCapability(CodecVP8), "video", "tessera")
	if err != nil {
		t.Fatal(err)
	}
	w := newVideoWriter(track, endpoint.NewPayloader(CodecVP8))
	remote := pionPair(t, track)
	frame := func(n int, skipped uint16) endpoint.Frame {
		var pk [][]byte
		for i := range n {
			pk = append(pk, bytes.Repeat([]byte{byte(0x10 + i)}, 100+i))
		}
		return endpoint.Frame{Packets: pk, Duration: time.Second / 30, Skipped: skipped}
	}
	frames := []endpoint.Frame{frame(3, 0), frame(1, 0), frame(2, 2), {Data: bytes.Repeat([]byte{0x5a}, 3000), Duration: time.Second / 30}}
	var tr *webrtc.TrackRemote
	for i, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			select {
			case tr = <-remote:
			case <-time.After(5 * time.Second):
				t.Fatal("nothing arrived")
			}
		}
	}
	var pkts []*rtp.Packet
	for range 3 + 1 + 2 + 3 { // the 3000-byte frame takes three packets
		_ = tr.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, _, err := tr.ReadRTP()
		if err != nil {
			t.Fatalf("after %d packets: %v", len(pkts), err)
		}
		pkts = append(pkts, p)
	}
	seq0, ts0 := pkts[0].SequenceNumber, pkts[0].Timestamp
	// picture, index in it, its last index, sequence offset, timestamp (frames)
	want := []struct{ pic, idx, last, seq, ts int }{
		{0, 0, 2, 0, 0}, {0, 1, 2, 1, 0}, {0, 2, 2, 2, 0},
		{1, 0, 0, 3, 1},
		{2, 0, 1, 6, 4}, {2, 1, 1, 7, 4}, // two withheld frames: +2 sequence, +2 durations
		{3, 0, 2, 8, 5}, {3, 1, 2, 9, 5}, {3, 2, 2, 10, 5},
	}
	for i, p := range pkts {
		wt := want[i]
		if got := int(p.SequenceNumber - seq0); got != wt.seq {
			t.Errorf("packet %d: sequence +%d, want +%d", i, got, wt.seq)
		}
		if got := p.Timestamp - ts0; got != uint32(wt.ts*3000) {
			t.Errorf("packet %d: timestamp +%d, want +%d", i, got, wt.ts*3000)
		}
		if p.Marker != (wt.idx == wt.last) {
			t.Errorf("packet %d: marker %v", i, p.Marker)
		}
		if wt.pic < 3 && !bytes.Equal(p.Payload, frames[wt.pic].Packets[wt.idx]) {
			t.Errorf("packet %d: payload changed on the way", i)
		}
	}
}
