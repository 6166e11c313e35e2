package sip

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tessera test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// SIP over TLS: a client that trusts the server's certificate sends
// OPTIONS on the TLS listener and gets 200 with Allow; a TLS address
// without a certificate is a configuration error.
func TestSIPOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	h := newHarness(t, Config{TLS: "127.0.0.1:0", TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, room.Config{})
	addr := tlsListenAddr(t, h)
	conn, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	req := fmt.Sprintf("OPTIONS sip:%s;transport=tls SIP/2.0\r\n"+
		"Via: SIP/2.0/TLS %s;branch=z9hG4bK-tls-1;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=t1\r\nTo: <sip:%s>\r\n"+
		"Call-ID: tls-options-1\r\nCSeq: 1 OPTIONS\r\nContact: <sip:probe@%s;transport=tls>\r\nContent-Length: 0\r\n\r\n",
		addr, local, addr, local)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	status, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer over TLS: %v", err)
	}
	var allow string
	for {
		line, err := rd.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Allow: "); ok {
			allow = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(status, "SIP/2.0 200") || !strings.Contains(allow, "INVITE") {
		t.Fatalf("OPTIONS over TLS: %q, Allow %q", status, allow)
	}

	if _, err := New(Config{TLS: "127.0.0.1:0"}, h.mgr, PlainRTP{}); err == nil {
		t.Error("a TLS listener without a certificate was accepted")
	}
}

// tlsListenAddr is the address of h's TLS listener.
func tlsListenAddr(t *testing.T, h *harness) net.Addr {
	t.Helper()
	for _, a := range h.srv.Addrs() {
		if a.Network() == "tls" {
			return a
		}
	}
	t.Fatalf("no TLS listener among %v", h.srv.Addrs())
	return nil
}

// Dial-out over TLS: one Tessera dials sips:ROOM@ the TLS listener of
// another, trusting its certificate (Config.DialTLS). The call is
// answered, the caller joins the other room, and the kick that ends the
// call on the dialling side empties both rooms. The same dial with no
// trust in the certificate fails.
func TestDialOutOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	serve := &tls.Config{Certificates: []tls.Certificate{cert}}
	callee := newHarness(t, Config{TLS: "127.0.0.1:0", TLSConfig: serve}, room.Config{})
	caller := newHarness(t, Config{TLS: "127.0.0.1:0", TLSConfig: serve, DialTLS: &tls.Config{RootCAs: pool}},
		room.Config{ID: testRoom + 1})
	calls := watchCalls(t, caller.room)
	uri := "sips:" + testRoom.String() + "@" + tlsListenAddr(t, callee).String()
	c, err := caller.srv.Dial(t.Context(), caller.room, uri)
	if err != nil {
		t.Fatal(err)
	}
	ans := calls.wait(t, c.ID, room.CallAnswered, 10*time.Second)
	if !waitFor(5*time.Second, func() bool { return len(callee.participants()) == 1 }) {
		t.Fatalf("callee room participants %q, want the caller", callee.participants())
	}
	if err := caller.room.Kick(t.Context(), ans.Call.Participant); err != nil {
		t.Fatal(err)
	}
	if hung := calls.wait(t, c.ID, room.CallHungUp, 10*time.Second); hung.Reason != "kicked" {
		t.Errorf("hung up for %q, want kicked", hung.Reason)
	}
	if !waitFor(5*time.Second, func() bool { return len(callee.participants()) == 0 }) {
		t.Errorf("callee room participants %q after the BYE over TLS", callee.participants())
	}

	untrusting := newHarness(t, Config{TLS: "127.0.0.1:0", TLSConfig: serve}, room.Config{ID: testRoom + 2})
	calls = watchCalls(t, untrusting.room)
	c, err = untrusting.srv.Dial(t.Context(), untrusting.room, uri)
	if err != nil {
		t.Fatal(err)
	}
	if failed := calls.wait(t, c.ID, room.CallFailed, 10*time.Second); failed.Reason == "" {
		t.Error("a call to an untrusted certificate failed without a reason")
	}
	if n := len(callee.participants()); n != 0 {
		t.Errorf("%d participants joined over an untrusted connection", n)
	}
}
