package tlsreload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Files names what a Reloader loads: a certificate chain and its key
// (PEM), and optionally a bundle of CAs that client certificates must
// chain to.
type Files struct {
	CertFile     string
	KeyFile      string
	ClientCAFile string
}

// state is one consistent load of the files.
type state struct {
	cert *tls.Certificate
	cas  *x509.CertPool // nil without ClientCAFile
}

// Reloader holds the current certificate; it is safe for concurrent use.
type Reloader struct {
	files Files
	mu    sync.Mutex // serializes Reload
	cur   atomic.Pointer[state]
}

// New loads files once; it fails when they cannot be loaded, so that a
// server never starts without a certificate.
func New(files Files) (*Reloader, error) {
	r := &Reloader{files: files}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the files again. On error the previous certificate and
// CA pool stay in use and the error says why.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: load certificate: %w", err)
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		// Go 1.23+ fills Leaf; older parsing is kept for safety.
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tls: parse certificate: %w", err)
		}
	}
	st := &state{cert: &cert}
	if r.files.ClientCAFile != "" {
		pem, err := os.ReadFile(r.files.ClientCAFile)
		if err != nil {
			return fmt.Errorf("tls: client CA file: %w", err)
		}
		st.cas = x509.NewCertPool()
		if !st.cas.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls: client CA file %s: %w", r.files.ClientCAFile, errNoCerts)
		}
	}
	r.cur.Store(st)
	return nil
}

var errNoCerts = errors.New("no PEM certificate in it")

// Certificate returns the certificate new handshakes present.
func (r *Reloader) Certificate() *tls.Certificate { return r.cur.Load().cert }

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load().cert, nil
}

// Config returns a server configuration on base (which it does not
// modify) whose certificate, and client CA pool when there is one, come
// from r at each handshake.
func (r *Reloader) Config(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	cfg.Certificates = nil
	cfg.GetCertificate = r.GetCertificate
	if r.files.ClientCAFile != "" {
		// ClientCAs is read from the config itself, so the reloadable
		// pool needs a per-handshake copy of it.
		tmpl := cfg.Clone()
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := tmpl.Clone()
			c.ClientCAs = r.cur.Load().cas
			return c, nil
		}
		cfg.ClientCAs = r.cur.Load().cas
	}
	return cfg
}
