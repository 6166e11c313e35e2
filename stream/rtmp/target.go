package rtmp

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// target is where a Pusher publishes.
type target struct {
	// url is what gortmplib connects to: the application in the path,
	// the stream key in the fragment.
	url *url.URL
	// redacted is the push URL without the stream key and password, for
	// logs, errors and state reports.
	redacted string
}

// parseTarget reads a push URL the way ingest services hand them out:
// rtmp[s]://host[:port]/app[/more]/streamkey, the last path segment (with
// any query) being the stream key and the rest the application. The form
// rtmp[s]://host/app#streamkey is accepted too.
func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("%w: %v", ErrBadURL, redactParseError(err))
	}
	if u.Scheme != "rtmp" && u.Scheme != "rtmps" {
		return target{}, fmt.Errorf("%w: scheme %q (want rtmp or rtmps)", ErrBadURL, u.Scheme)
	}
	if u.Hostname() == "" {
		return target{}, fmt.Errorf("%w: no host", ErrBadURL)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return target{}, fmt.Errorf("%w: port %q", ErrBadURL, p)
		}
	}
	path := strings.Trim(u.Path, "/")
	app, key := path, u.Fragment
	if key == "" {
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return target{}, fmt.Errorf("%w: no stream key (want %s://host/app/streamkey)", ErrBadURL, u.Scheme)
		}
		app, key = path[:i], path[i+1:]
		if u.RawQuery != "" {
			key += "?" + u.RawQuery
		}
	}
	if app == "" || key == "" {
		return target{}, fmt.Errorf("%w: want %s://host/app/streamkey", ErrBadURL, u.Scheme)
	}
	conn := &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: "/" + app, Fragment: key}
	return target{
		url:      conn,
		redacted: u.Scheme + "://" + u.Host + "/" + app + "/…",
	}, nil
}

// redactParseError keeps url.Parse's complaint but not the URL it quotes,
// which may hold the stream key.
func redactParseError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
