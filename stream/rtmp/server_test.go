package rtmp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
)

// rtmpServer is an RTMP server on loopback made of gortmplib's server
// side: it accepts publishers and hands each connection to the test, which
// sees the messages with the timestamps the Pusher gave them (nginx
// rebases its recordings to zero).
type rtmpServer struct {
	l      net.Listener
	scheme string
	conns  chan *publisher
	wg     sync.WaitGroup
}

// publisher is one accepted publishing connection.
type publisher struct {
	nc net.Conn
	sc *gortmplib.ServerConn
}

// startRTMPServer starts a server; with tlsCfg, an RTMPS one.
func startRTMPServer(t testing.TB, tlsCfg *tls.Config) *rtmpServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "rtmp"
	if tlsCfg != nil {
		l, scheme = tls.NewListener(l, tlsCfg), "rtmps"
	}
	s := &rtmpServer{l: l, scheme: scheme, conns: make(chan *publisher, 8)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			sc := &gortmplib.ServerConn{RW: nc}
			if sc.Initialize() != nil || sc.AcceptConn() != nil || !sc.Publish || sc.AcceptAction() != nil {
				nc.Close()
				continue
			}
			s.conns <- &publisher{nc: nc, sc: sc}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.wg.Wait()
		close(s.conns)
		for p := range s.conns {
			p.nc.Close()
		}
	})
	return s
}

func (s *rtmpServer) url(key string) string {
	return s.scheme + "://" + s.l.Addr().String() + "/live/" + key
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tessera test ingest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
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
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}
