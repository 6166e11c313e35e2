package sip

import (
	"fmt"
	"mime"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// validate checks what every request must carry (RFC 3261 section 8.1.1)
// and what the user agent needs of it. Messages the parser could not read
// at all never get here; see badmessage.go.
func validate(req *sip.Request) error {
	switch {
	case req.Via() == nil:
		return fmt.Errorf("%w: missing Via", ErrBadRequest)
	case req.From() == nil:
		return fmt.Errorf("%w: missing From", ErrBadRequest)
	case req.To() == nil:
		return fmt.Errorf("%w: missing To", ErrBadRequest)
	case req.CallID() == nil || strings.TrimSpace(req.CallID().Value()) == "":
		return fmt.Errorf("%w: missing Call-ID", ErrBadRequest)
	case req.CSeq() == nil:
		return fmt.Errorf("%w: missing CSeq", ErrBadRequest)
	case req.CSeq().MethodName != req.Method:
		return fmt.Errorf("%w: CSeq method %s is not the request's %s", ErrBadRequest, req.CSeq().MethodName, req.Method)
	case req.Recipient.Host == "":
		return fmt.Errorf("%w: Request-URI has no host", ErrBadRequest)
	}
	if _, ok := req.From().Params.Get("tag"); !ok {
		return fmt.Errorf("%w: From has no tag", ErrBadRequest)
	}
	if req.IsInvite() && req.Contact() == nil {
		return fmt.Errorf("%w: INVITE without Contact", ErrBadRequest)
	}
	return nil
}

// bodyType is the media type of a request's body ("" without a body).
func bodyType(req *sip.Request) (string, error) {
	if len(req.Body()) == 0 {
		return "", nil
	}
	ct := req.ContentType()
	if ct == nil {
		return "", fmt.Errorf("%w: body without Content-Type", ErrBadRequest)
	}
	t, _, err := mime.ParseMediaType(ct.Value())
	if err != nil {
		return "", fmt.Errorf("%w: Content-Type %q", ErrBadRequest, ct.Value())
	}
	return t, nil
}

// sdpOffer is the request's SDP body, nil if it has none.
func sdpOffer(req *sip.Request) ([]byte, error) {
	t, err := bodyType(req)
	if err != nil {
		return nil, err
	}
	switch t {
	case "":
		return nil, nil
	case "application/sdp":
		return req.Body(), nil
	default:
		return nil, fmt.Errorf("%w: %s (want application/sdp)", ErrUnsupportedMediaType, t)
	}
}
