package plainrtp

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
)

// SRTP keyed in the SDP (SDES, RFC 4568): an RTP/SAVP offer carries
// a=crypto lines, each a suite and the offerer's master key and salt; the
// answer picks one, by its tag, and gives Tessera's own key. Each side
// encrypts with its own key: Tessera decrypts with the offer's and
// encrypts with the one it made for the answer.

// cryptoSuites are the suites Tessera takes, in its order of preference
// when an offer lists several with the same tag order: the offer's order
// wins (RFC 4568 section 6.1).
var cryptoSuites = map[string]srtp.ProtectionProfile{
	"AES_CM_128_HMAC_SHA1_80": srtp.ProtectionProfileAes128CmHmacSha1_80,
	"AES_CM_128_HMAC_SHA1_32": srtp.ProtectionProfileAes128CmHmacSha1_32,
}

// masterLen is the length of a master key and salt of the AES-CM-128
// suites: 16 + 14 bytes.
const masterLen = 30

// crypto is the a=crypto line an offer's audio stream is answered with:
// the tag, the suite and the offerer's master key and salt.
type crypto struct {
	tag     int
	suite   string
	profile srtp.ProtectionProfile
	key     []byte // masterLen bytes
}

// isSAVP tells whether a media line's protocol is RTP/SAVP.
func isSAVP(protos []string) bool {
	return len(protos) == 2 && strings.EqualFold(protos[0], "RTP") && strings.EqualFold(protos[1], "SAVP")
}

// parseCrypto picks the first a=crypto line of md whose suite Tessera
// takes; ok is false when there is none. A line that does not parse is
// an error only if no other line can be used.
func parseCrypto(md *sdp.MediaDescription) (c crypto, ok bool, err error) {
	for _, a := range md.Attributes {
		if a.Key != "crypto" {
			continue
		}
		cc, perr := parseCryptoLine(a.Value)
		if perr != nil {
			err = perr
			continue
		}
		if cc.profile != 0 {
			return cc, true, nil
		}
	}
	return c, false, err
}

// parseCryptoLine reads "tag suite inline:KEY[|lifetime][|MKI:len]
// [session params]"; a suite Tessera does not take gives a zero profile.
// Lines with several keys, an MKI or session parameters are not taken.
func parseCryptoLine(v string) (crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return crypto{}, fmt.Errorf("%w: a=crypto:%s", ErrInvalidSDP, v)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return crypto{}, fmt.Errorf("%w: a=crypto tag %q", ErrInvalidSDP, f[0])
	}
	c := crypto{tag: tag, suite: f[1]}
	profile, known := cryptoSuites[strings.ToUpper(f[1])]
	if !known || len(f) > 3 || strings.Contains(f[2], ";") {
		return c, nil
	}
	inline, found := strings.CutPrefix(f[2], "inline:")
	if !found {
		return c, nil
	}
	keyText, params, _ := strings.Cut(inline, "|")
	if strings.Contains(params, ":") {
		return c, nil // an MKI: not taken
	}
	key, err := base64.StdEncoding.DecodeString(keyText)
	if err != nil {
		// Some write the key without padding.
		if key, err = base64.RawStdEncoding.DecodeString(keyText); err != nil {
			return crypto{}, fmt.Errorf("%w: a=crypto key of tag %d is not base64", ErrInvalidSDP, tag)
		}
	}
	if len(key) != masterLen {
		return crypto{}, fmt.Errorf("%w: a=crypto key of tag %d has %d bytes, want %d", ErrInvalidSDP, tag, len(key), masterLen)
	}
	c.profile, c.key = profile, key
	return c, nil
}

// cryptoAttr is the answer's a=crypto line for the offer's choice c,
// with Tessera's key.
func cryptoAttr(c crypto, local []byte) sdp.Attribute {
	return sdp.NewAttribute("crypto", fmt.Sprintf("%d %s inline:%s", c.tag, c.suite, base64.StdEncoding.EncodeToString(local)))
}

// srtpState is a session's SRTP: its own key and the contexts that
// encrypt what it sends and decrypt what it receives. Each context is
// used under its own lock (the sender, and the RTP and RTCP readers).
type srtpState struct {
	local []byte // Tessera's master key and salt

	encMu sync.Mutex
	enc   *srtp.Context
	decMu sync.Mutex
	dec   *srtp.Context
	// remote is the key dec was made with (to tell a re-key).
	remote []byte
}

// newSRTP makes a session's SRTP for the offer's choice c, with a fresh
// key of Tessera's.
func newSRTP(c crypto) (*srtpState, error) {
	local := make([]byte, masterLen)
	if _, err := rand.Read(local); err != nil {
		return nil, fmt.Errorf("%w: srtp key: %w", ErrAnswer, err)
	}
	s := &srtpState{local: local}
	enc, err := srtp.CreateContext(local[:16], local[16:], c.profile)
	if err != nil {
		return nil, fmt.Errorf("%w: srtp: %w", ErrAnswer, err)
	}
	s.enc = enc
	if err := s.rekey(c); err != nil {
		return nil, err
	}
	return s, nil
}

// rekey takes the remote party's key from a new offer (a re-INVITE may
// change it); the same key keeps the context and its rollover state.
func (s *srtpState) rekey(c crypto) error {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	if s.dec != nil && string(s.remote) == string(c.key) {
		return nil
	}
	dec, err := srtp.CreateContext(c.key[:16], c.key[16:], c.profile)
	if err != nil {
		return fmt.Errorf("%w: srtp: %w", ErrInvalidSDP, err)
	}
	s.dec, s.remote = dec, append([]byte(nil), c.key...)
	return nil
}

// encryptRTP encrypts one RTP packet (header and payload) into dst.
func (s *srtpState) encryptRTP(dst, pkt []byte) ([]byte, error) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	return s.enc.EncryptRTP(dst, pkt, nil)
}

// decryptRTP authenticates and decrypts one SRTP packet into dst.
func (s *srtpState) decryptRTP(dst, pkt []byte) ([]byte, error) {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	var h rtp.Header
	return s.dec.DecryptRTP(dst, pkt, &h)
}

// encryptRTCP encrypts one RTCP compound packet into dst.
func (s *srtpState) encryptRTCP(dst, pkt []byte) ([]byte, error) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	return s.enc.EncryptRTCP(dst, pkt, nil)
}

// decryptRTCP authenticates and decrypts one SRTCP packet into dst.
func (s *srtpState) decryptRTCP(dst, pkt []byte) ([]byte, error) {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	var h rtcp.Header
	return s.dec.DecryptRTCP(dst, pkt, &h)
}
