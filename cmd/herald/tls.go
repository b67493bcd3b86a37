package main

import (
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/heraldhq/herald/internal/tlsreload"
)

// TLSConfig is the tls: section. One certificate serves every listener
// (HTTP/WebSocket, STOMP, MQTT); client certificates are asked for on the
// STOMP and MQTT listeners only, since browsers would prompt their users
// for one on the HTTP listener.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	MinVersion   string `yaml:"min_version"`    // "1.2" (default) or "1.3"
	ClientCAFile string `yaml:"client_ca_file"` // CAs client certificates must chain to
	ClientAuth   string `yaml:"client_auth"`    // none (default), request or require
}

// Enabled reports whether the listeners speak TLS.
func (t *TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

var tlsVersions = map[string]uint16{"": tls.VersionTLS12, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

var clientAuthModes = map[string]tls.ClientAuthType{
	"": tls.NoClientCert, "none": tls.NoClientCert,
	"request": tls.VerifyClientCertIfGiven, "require": tls.RequireAndVerifyClientCert,
}

func init() {
	settings = append(settings,
		stringSetting("tls.cert_file", "FILE", "PEM certificate chain; with tls.key_file every listener speaks TLS (reloaded on SIGHUP)", func(c *Config) *string { return &c.TLS.CertFile }),
		stringSetting("tls.key_file", "FILE", "PEM private key of tls.cert_file", func(c *Config) *string { return &c.TLS.KeyFile }),
		stringSetting("tls.min_version", "VERSION", "oldest TLS version accepted: 1.2 or 1.3 (default 1.2)", func(c *Config) *string { return &c.TLS.MinVersion }),
		stringSetting("tls.client_ca_file", "FILE", "PEM CAs that STOMP and MQTT client certificates must chain to (reloaded on SIGHUP)", func(c *Config) *string { return &c.TLS.ClientCAFile }),
		stringSetting("tls.client_auth", "MODE", "client certificates on the STOMP and MQTT listeners: none, request or require (default none)", func(c *Config) *string { return &c.TLS.ClientAuth }),
	)
}

// validateTLS checks the tls: section.
func (c *Config) validateTLS(bad func(key, format string, a ...any)) {
	t := &c.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("tls", "cert_file and key_file go together")
	}
	if _, ok := tlsVersions[t.MinVersion]; !ok {
		bad("tls.min_version", "%q is not 1.2 or 1.3", t.MinVersion)
	}
	mode, ok := clientAuthModes[t.ClientAuth]
	if !ok {
		bad("tls.client_auth", "%q is not none, request or require", t.ClientAuth)
	}
	if !t.Enabled() && (t.ClientCAFile != "" || mode != tls.NoClientCert || t.MinVersion != "") {
		bad("tls", "has settings but no cert_file and key_file")
	}
	if mode != tls.NoClientCert && t.ClientCAFile == "" {
		bad("tls.client_auth", "%q needs client_ca_file", t.ClientAuth)
	}
}

// serverTLS holds the listeners' TLS configurations over one reloadable
// certificate.
type serverTLS struct {
	reloader *tlsreload.Reloader
	http     *tls.Config // HTTP/1.1 only: WebSocket upgrades need a hijackable connection
	tcp      *tls.Config // STOMP and MQTT, with client certificates as configured
}

// newServerTLS loads the certificate; nil without TLS.
func newServerTLS(t *TLSConfig) (*serverTLS, error) {
	if !t.Enabled() {
		return nil, nil
	}
	r, err := tlsreload.New(tlsreload.Files{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile})
	if err != nil {
		return nil, err
	}
	// Go's defaults are the modern ones (AEAD suites, X25519, no
	// renegotiation); only the floor is ours to set.
	base := &tls.Config{MinVersion: tlsVersions[t.MinVersion]}
	httpCfg := base.Clone()
	httpCfg.NextProtos = []string{"http/1.1"}
	tcpCfg := base.Clone()
	tcpCfg.ClientAuth = clientAuthModes[t.ClientAuth]
	return &serverTLS{
		reloader: r,
		http:     r.Config(httpCfg),
		tcp:      r.Config(tcpCfg),
	}, nil
}

// reloadTLS is the TLS part of a SIGHUP: the certificate (and client CA)
// files are read again; a bad file keeps the ones in use.
func reloadTLS(st *serverTLS, logger *slog.Logger) {
	if st == nil {
		logger.Info("SIGHUP: no TLS certificate to reload")
		return
	}
	if err := st.reloader.Reload(); err != nil {
		logger.Error("SIGHUP: TLS reload failed; keeping the previous certificate", "err", err)
		return
	}
	logger.Info("SIGHUP: TLS certificate reloaded", "not_after", st.reloader.Certificate().Leaf.NotAfter)
}

// forHTTP and forTCP are the listeners' configurations; nil without TLS.
func (st *serverTLS) forHTTP() *tls.Config {
	if st == nil {
		return nil
	}
	return st.http
}

func (st *serverTLS) forTCP() *tls.Config {
	if st == nil {
		return nil
	}
	return st.tcp
}

// listen opens a TCP listener on addr, speaking TLS when cfg is set.
func listen(addr string, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || cfg == nil {
		return ln, err
	}
	return tls.NewListener(ln, cfg), nil
}
