package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/tlsreload"
)

// TLSFiles are the PEM files of one side of a TLS connection.
type TLSFiles struct {
	CertFile string // certificate chain
	KeyFile  string // its private key
	CAFile   string // CAs the peer's certificate must chain to
}

// IsZero reports whether no file is named.
func (f TLSFiles) IsZero() bool { return f.CertFile == "" && f.KeyFile == "" && f.CAFile == "" }

// routeTLS is the embedded server's TLS on routes and on its client
// listener: mutual, every peer presents a certificate that chains to
// CAFile, and so does this node, as server and as client of the routes it
// dials (its certificate needs both the serverAuth and clientAuth
// extended key usages, or none). The certificate is read at each
// handshake from a tlsreload.Reloader, so ReloadTLS changes it for new
// connections.
func routeTLS(f TLSFiles) (*tls.Config, *tlsreload.Reloader, error) {
	if f.CertFile == "" || f.KeyFile == "" || f.CAFile == "" {
		return nil, nil, fmt.Errorf("%w: cluster.tls needs cert_file, key_file and ca_file (routes use mutual TLS)", ErrConfig)
	}
	r, err := tlsreload.New(tlsreload.Files{CertFile: f.CertFile, KeyFile: f.KeyFile, ClientCAFile: f.CAFile})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: cluster.tls: %w", ErrConfig, err)
	}
	pool, err := caPool(f.CAFile)
	if err != nil {
		return nil, nil, err
	}
	base := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert,
		RootCAs:    pool, // dialling a route: the peer's server certificate
	}
	cfg := r.Config(base) // accepting: certificate and client CAs, reloadable
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return r.Certificate(), nil }
	return cfg, r, nil
}

func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: CA file: %w", ErrConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrConfig, file)
	}
	return pool, nil
}

// secureServer applies the security settings to the embedded server's
// options: TLS on routes and on the client listener, and the route
// credentials, which the client listener asks for too (Herald's own
// in-process connection gives them; TLS does not apply to it).
func (n *Node) secureServer(o *server.Options) error {
	c := n.cfg
	if (c.Username == "") != (c.Password == "") {
		return fmt.Errorf("%w: cluster.username and cluster.password go together", ErrConfig)
	}
	if !c.TLS.IsZero() {
		cfg, r, err := routeTLS(c.TLS)
		if err != nil {
			return err
		}
		n.tls = r
		o.Cluster.TLSConfig, o.Cluster.TLSTimeout = cfg, 5
		o.TLSConfig, o.TLSTimeout, o.TLSVerify = cfg, 5, true
		o.TLS = true
	}
	if c.Username != "" {
		o.Cluster.Username, o.Cluster.Password = c.Username, c.Password
		o.Username, o.Password = c.Username, c.Password
		for _, u := range o.Routes {
			u.User = url.UserPassword(c.Username, c.Password)
		}
	}
	return nil
}

// ReloadTLS reads the route certificate and key (and the CA that inbound
// peers are checked against) again, for new connections; established
// routes keep theirs. Without cluster.tls it does nothing. On error the
// previous files stay in use.
func (n *Node) ReloadTLS() (reloaded bool, err error) {
	if n.tls == nil {
		return false, nil
	}
	if err := n.tls.Reload(); err != nil {
		return false, fmt.Errorf("cluster: tls reload: %w", err)
	}
	return true, nil
}

// clientSecurity is how the node's nats.go connection proves itself: to
// the embedded server, the route credentials; to an external NATS, the
// nats: settings.
func (c Config) clientSecurity(embedded bool) ([]nats.Option, error) {
	if embedded {
		if c.Username != "" {
			return []nats.Option{nats.UserInfo(c.Username, c.Password)}, nil
		}
		return nil, nil
	}
	var opts []nats.Option
	t := c.NATSTLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%w: nats.tls cert_file and key_file go together", ErrConfig)
	}
	if t.CAFile != "" {
		if _, err := caPool(t.CAFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.RootCAs(t.CAFile))
	}
	if t.CertFile != "" {
		opts = append(opts, nats.ClientCert(t.CertFile, t.KeyFile))
	}
	n := 0
	for _, set := range []bool{c.NATSCreds != "", c.NATSUser != "", c.NATSToken != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, fmt.Errorf("%w: nats.creds, nats.user and nats.token are exclusive", ErrConfig)
	case (c.NATSUser == "") != (c.NATSPassword == ""):
		return nil, fmt.Errorf("%w: nats.user and nats.password go together", ErrConfig)
	case c.NATSCreds != "":
		if _, err := os.Stat(c.NATSCreds); err != nil {
			return nil, fmt.Errorf("%w: nats.creds: %w", ErrConfig, err)
		}
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
	case c.NATSUser != "":
		opts = append(opts, nats.UserInfo(c.NATSUser, c.NATSPassword))
	case c.NATSToken != "":
		opts = append(opts, nats.Token(c.NATSToken))
	}
	return opts, nil
}
