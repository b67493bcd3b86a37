package tlsreload

import (
	"crypto/tls"
	"io"
	"os"
	"testing"

	"github.com/heraldhq/herald/internal/testutil"
)

// copyFile puts src's content at dst, as a certificate renewal would.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// echoServer serves TLS with cfg, echoing every byte, until the test ends.
func echoServer(t *testing.T, cfg *tls.Config) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func echo(t *testing.T, c *tls.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo %q: %q, %v", msg, buf, err)
	}
}

func TestReloadSwapsCertificateAndKeepsConnections(t *testing.T) {
	caA, caB := testutil.NewCA(t, "a"), testutil.NewCA(t, "b")
	a, b := caA.Server(t, "server-a"), caB.Server(t, "server-b")
	dir := t.TempDir()
	files := Files{CertFile: dir + "/cert.pem", KeyFile: dir + "/key.pem"}
	copyFile(t, a.CertFile, files.CertFile)
	copyFile(t, a.KeyFile, files.KeyFile)
	r, err := New(files)
	if err != nil {
		t.Fatal(err)
	}
	addr := echoServer(t, r.Config(&tls.Config{MinVersion: tls.VersionTLS12}))

	old, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: caA.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	echo(t, old, "before")

	copyFile(t, b.CertFile, files.CertFile)
	copyFile(t, b.KeyFile, files.KeyFile)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	echo(t, old, "after") // the established connection is untouched
	if _, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: caA.Pool()}); err == nil {
		t.Fatal("a new connection still got certificate A")
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: caB.Pool()})
	if err != nil {
		t.Fatalf("new connection with CA B: %v", err)
	}
	if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "server-b" {
		t.Errorf("new connection saw %q", cn)
	}
	c.Close()
}

func TestReloadBadFileKeepsOld(t *testing.T) {
	ca := testutil.NewCA(t, "a")
	a := ca.Server(t, "server-a")
	dir := t.TempDir()
	files := Files{CertFile: dir + "/cert.pem", KeyFile: dir + "/key.pem"}
	copyFile(t, a.CertFile, files.CertFile)
	copyFile(t, a.KeyFile, files.KeyFile)
	r, err := New(files)
	if err != nil {
		t.Fatal(err)
	}
	before := r.Certificate()
	if err := os.WriteFile(files.CertFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil {
		t.Fatal("Reload of a broken file succeeded")
	}
	if r.Certificate() != before {
		t.Fatal("a failed reload replaced the certificate")
	}
	os.Remove(files.KeyFile)
	if err := r.Reload(); err == nil || r.Certificate() != before {
		t.Fatalf("missing key: %v, certificate replaced: %v", err, r.Certificate() != before)
	}
}

func TestNewFails(t *testing.T) {
	if _, err := New(Files{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}); err == nil {
		t.Fatal("New with missing files succeeded")
	}
	ca := testutil.NewCA(t, "a")
	a := ca.Server(t, "s")
	if _, err := New(Files{CertFile: a.CertFile, KeyFile: a.KeyFile, ClientCAFile: a.KeyFile}); err == nil {
		t.Fatal("New with a client CA file holding no certificate succeeded")
	}
}

func TestClientCertificates(t *testing.T) {
	serverCA, clientCA, otherCA := testutil.NewCA(t, "srv"), testutil.NewCA(t, "cli"), testutil.NewCA(t, "other")
	s := serverCA.Server(t, "server")
	r, err := New(Files{CertFile: s.CertFile, KeyFile: s.KeyFile, ClientCAFile: clientCA.File})
	if err != nil {
		t.Fatal(err)
	}
	addr := echoServer(t, r.Config(&tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert}))
	dial := func(cert *tls.Certificate) error {
		cfg := &tls.Config{RootCAs: serverCA.Pool()}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		c.Write([]byte("x"))
		_, err = c.Read(make([]byte, 1))
		return err
	}
	good := clientCA.Client(t, "alice")
	if err := dial(&good.TLS); err != nil {
		t.Fatalf("client with a certificate of the client CA: %v", err)
	}
	bad := otherCA.Client(t, "mallory")
	if err := dial(&bad.TLS); err == nil {
		t.Fatal("client with a foreign certificate was accepted")
	}
	if err := dial(nil); err == nil {
		t.Fatal("client without a certificate was accepted")
	}
	// The CA pool reloads too: trust the other CA instead.
	copyFile(t, otherCA.File, clientCA.File)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := dial(&bad.TLS); err != nil {
		t.Fatalf("after reloading the CA file: %v", err)
	}
}
