package gateway

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/wsframe"
)

// tlsEcho runs a TLS echo service with a fresh self-signed certificate
// for 127.0.0.1 and returns its address and a pool trusting it.
func tlsEcho(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "backend"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
				c.(*tls.Conn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().String(), pool
}

// TestTLSBackend: the gateway connects to the backend with TLS (verified
// against the route's roots) and echoes 4 MiB through it.
func TestTLSBackend(t *testing.T) {
	h := newHarness(t, core.Config{})
	addr, pool := tlsEcho(t)
	rt := h.route(t, "/tls", Route{Backend: addr, TLS: &tls.Config{RootCAs: pool}, Buffer: 64 << 10})
	w := dialWS(t, h.addr, "/tls", nil)
	data := payload(4<<20, 5)
	sent := make(chan error, 1)
	go func() { sent <- w.streamUp(data, 32<<10) }()
	got, err := w.readN(len(data))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Fatal("bytes differ through the TLS backend")
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	w.sendClose(wsframe.CloseNormal)
	if code, _ := w.closeFrame(nil); code != wsframe.CloseNormal {
		t.Fatalf("close %d, want 1000", code)
	}
	if peak := rt.peakPending.Load(); peak > 64<<10+32<<10+64<<10 {
		t.Fatalf("pending peaked at %d", peak)
	}
}

// TestTLSBackendUntrusted: a certificate the route does not trust is a
// backend that cannot be reached.
func TestTLSBackendUntrusted(t *testing.T) {
	h := newHarness(t, core.Config{})
	addr, _ := tlsEcho(t)
	h.route(t, "/tls", Route{Backend: addr, TLS: &tls.Config{RootCAs: x509.NewCertPool()}})
	w := dialWS(t, h.addr, "/tls", nil)
	if code, reason := w.closeFrame(nil); code != wsframe.CloseBadGateway || reason != "backend unavailable" {
		t.Fatalf("close %d %q, want 1014 \"backend unavailable\"", code, reason)
	}
}
