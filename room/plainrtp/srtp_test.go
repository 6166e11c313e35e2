package plainrtp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// srtpPhone is the test phone with SDES keys: it encrypts with its own
// and decrypts with the one the answer gives.
type srtpPhone struct {
	*phone
	key      []byte
	enc, dec *srtp.Context
}

func newSRTPPhone(t *testing.T) *srtpPhone {
	key := make([]byte, masterLen)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	enc, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpPhone{phone: newPhone(t), key: key, enc: enc}
}

// savpOffer is an RTP/SAVP offer of PCMU with a first crypto line in a
// suite Tessera does not take, then the phone's key (tag 7).
func (p *srtpPhone) savpOffer() string {
	o := p.offer("0", "a=crypto:1 AEAD_AES_256_GCM inline:"+base64.StdEncoding.EncodeToString(make([]byte, 44)),
		"a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:"+base64.StdEncoding.EncodeToString(p.key)+"|2^31")
	return strings.Replace(o, "RTP/AVP", "RTP/SAVP", 1)
}

// takeAnswer reads the answer's key for tag 7 and readies decryption.
func (p *srtpPhone) takeAnswer(t *testing.T, answer string) {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		t.Fatal(err)
	}
	md := sd.MediaDescriptions[0]
	if got := strings.Join(md.MediaName.Protos, "/"); got != "RTP/SAVP" {
		t.Fatalf("answer protocol %s, want RTP/SAVP:\n%s", got, answer)
	}
	line, ok := md.Attribute("crypto")
	c, err := parseCryptoLine(line)
	if !ok || err != nil || c.tag != 7 || c.suite != "AES_CM_128_HMAC_SHA1_80" || len(c.key) != masterLen || bytes.Equal(c.key, p.key) {
		t.Fatalf("answer's a=crypto:%s (%v): want tag 7 in AES_CM_128_HMAC_SHA1_80 with a key of Tessera's own", line, err)
	}
	if p.dec, err = srtp.CreateContext(c.key[:16], c.key[16:], c.profile); err != nil {
		t.Fatal(err)
	}
}

func (p *srtpPhone) sendSRTP(t *testing.T, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: p.ts,
		SSRC: 0xfeed}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p.seq++
	p.ts += 160
	out, err := p.enc.EncryptRTP(nil, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.raw(p.rtp, out)
	return out
}

// An RTP/SAVP call keyed with SDES: the answer picks the offer's usable
// crypto line and gives a key of its own; the phone's SRTP reaches the
// room decrypted, the mix reaches the phone encrypted with the answer's
// key, sender reports come as SRTCP, and a forged packet (from the
// phone's address or another) is dropped, counted and not latched to.
func TestSRTPCall(t *testing.T) {
	e := testEngine(t, Config{ReportInterval: 200 * time.Millisecond})
	p := newSRTPPhone(t)
	s, err := e.Offer(p.savpOffer(), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	p.to = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.Port()))
	p.takeAnswer(t, s.Answer())
	link := newFakeLink()
	if err := s.Attach(t.Context(), &fakeMember{link: link}); err != nil {
		t.Fatal(err)
	}

	payload := bytes.Repeat([]byte{0x55}, 160)
	for range 5 {
		p.sendSRTP(t, payload)
	}
	// Forgeries: a genuine packet with its tag broken, from the phone and
	// from a stranger; and plain RTP.
	forged := p.sendSRTP(t, payload)
	forged[len(forged)-1] ^= 0xff
	p.raw(p.rtp, forged)
	stranger := listen(t)
	p.raw(stranger, forged)
	p.send(stranger, 0, 5000, false, payload)
	if !eventually(3*time.Second, func() bool { _, _, pkts := link.snapshot(); return len(pkts) == 6 }) {
		_, _, pkts := link.snapshot()
		t.Fatalf("the room got %d packets, want the 6 genuine ones", len(pkts))
	}
	_, _, pkts := link.snapshot()
	for i, pkt := range pkts {
		if !bytes.Equal(pkt.Payload, payload) || pkt.PayloadType != 0 {
			t.Fatalf("packet %d reached the room as pt %d, %d bytes, not the phone's plain payload", i, pkt.PayloadType, len(pkt.Payload))
		}
	}
	if st := s.Stats(); st.Bad != 3 {
		t.Errorf("stats %+v: want the 3 forgeries counted bad", st)
	}

	// The mix goes to the phone (not the stranger), under the answer's key.
	mix := bytes.Repeat([]byte{0x2a}, 160)
	if err := s.WriteFrame(endpoint.Frame{Data: mix, Duration: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = p.rtp.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := p.rtp.Read(buf)
	if err != nil {
		t.Fatalf("the phone got no mix: %v", err)
	}
	if bytes.Contains(buf[:n], mix[:16]) {
		t.Error("the mix travels in the clear")
	}
	plain, err := p.dec.DecryptRTP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("the phone cannot decrypt the mix with the answer's key: %v", err)
	}
	var got rtp.Packet
	if err := got.Unmarshal(plain); err != nil || !bytes.Equal(got.Payload, mix) {
		t.Fatalf("decrypted mix: %v, %d bytes", err, len(got.Payload))
	}

	// A sender report, as SRTCP.
	_ = p.rtcp.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err = p.rtcp.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP: %v", err)
	}
	dec, err := p.dec.DecryptRTCP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("RTCP does not authenticate as SRTCP with the answer's key: %v", err)
	}
	if pkts, err := rtcp.Unmarshal(dec); err != nil || len(pkts) == 0 {
		t.Fatalf("decrypted RTCP: %v", err)
	}

	// A re-INVITE may not drop SRTP.
	if _, err := s.Update(p.offer("0")); !errors.Is(err, ErrSecurityChange) || !errors.Is(err, endpoint.ErrNoMedia) {
		t.Errorf("plain re-offer on an SRTP call: %v, want ErrSecurityChange", err)
	}
	// The same keys again: the call goes on.
	if _, err := s.Update(p.savpOffer()); err != nil {
		t.Errorf("same-key re-offer: %v", err)
	}
}

// RTP/SAVP offers Tessera cannot key are refused as having no usable
// audio; a key that is not base64 or has the wrong length is a bad SDP.
func TestSRTPOffersRefused(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	savp := func(extra ...string) string {
		return strings.Replace(p.offer("0", extra...), "RTP/AVP", "RTP/SAVP", 1)
	}
	key := base64.StdEncoding.EncodeToString(make([]byte, masterLen))
	for _, tc := range []struct {
		name  string
		offer string
		want  error
	}{
		{"no crypto line", savp(), ErrNoUsableAudio},
		{"unknown suite only", savp("a=crypto:1 F8_128_HMAC_SHA1_80 inline:" + key), ErrNoUsableAudio},
		{"an MKI", savp("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:4"), ErrNoUsableAudio},
		{"key not base64", savp("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!"), ErrInvalidSDP},
		{"short key", savp("a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" + base64.StdEncoding.EncodeToString(make([]byte, 16))), ErrInvalidSDP},
	} {
		if s, err := e.Offer(tc.offer, SessionOptions{}); !errors.Is(err, tc.want) {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if total, used := e.Ports(); used != 0 {
		t.Errorf("%d of %d port pairs still taken", used, total)
	}
}
