package room

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4/pkg/media"
)

// fakeEstimate is a bandwidth estimator whose estimate the test sets.
type fakeEstimate struct{ bps int }

func (f *fakeEstimate) AddStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return w
}
func (f *fakeEstimate) WriteRTCP([]rtcp.Packet, interceptor.Attributes) error { return nil }
func (f *fakeEstimate) GetTargetBitrate() int                                 { return f.bps }
func (f *fakeEstimate) OnTargetBitrateChange(func(int))                       {}
func (f *fakeEstimate) GetStats() map[string]any                              { return nil }
func (f *fakeEstimate) Close() error                                          { return nil }

// A viewer moves down a tier after two low estimates in a row, back up
// after five high ones, and not at all on a single dip.
func TestTierFollowsBandwidthEstimate(t *testing.T) {
	r, err := newRoom(Config{ID: 1}, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.video.close()
	sink := make(chan media.Sample, 1024)
	defer close(sink)
	go func() {
		for range sink {
		}
	}()
	est := &fakeEstimate{bps: 3_000_000}
	p := &Participant{id: 1, vout: &egress{ch: sink}, est: est}
	r.parts[1], r.order = p, []*Participant{p}
	r.addViewer(p, outputKey{CodecH264, 0})
	now := time.Now()
	check := func(bps int) int {
		est.bps = bps
		r.chooseTiers(now)
		return p.vkey.tier
	}
	if tier := check(900_000); tier != 0 {
		t.Fatalf("one low estimate moved the viewer to tier %d", tier)
	}
	if tier := check(3_000_000); tier != 0 {
		t.Fatal("moved on a dip")
	}
	check(900_000)
	if tier := check(900_000); tier != 1 {
		t.Fatalf("two low estimates: tier %d, want 1", tier)
	}
	if o := r.video.outputs[outputKey{CodecH264, 1}]; o == nil || o.viewers != 1 || !o.keyWanted {
		t.Fatalf("tier-1 output %+v: want one viewer and a keyframe on its way", o)
	}
	if o := r.video.outputs[outputKey{CodecH264, 0}]; o.viewers != 0 {
		t.Fatalf("tier-0 output still has %d viewers", o.viewers)
	}
	for i := range 4 {
		if tier := check(2_500_000); tier != 1 {
			t.Fatalf("moved up after %d high estimates", i+1)
		}
	}
	if tier := check(2_500_000); tier != 0 {
		t.Fatalf("five high estimates: tier %d, want 0", tier)
	}
}
