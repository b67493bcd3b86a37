package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

func TestValidateTLSAndLimits(t *testing.T) {
	t.Parallel()
	withTLS := func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem" }
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"TLS", withTLS, ""},
		{"TLS 1.3 with client certificates", func(c *Config) {
			withTLS(c)
			c.TLS.MinVersion, c.TLS.ClientCAFile, c.TLS.ClientAuth = "1.3", "ca.pem", "require"
		}, ""},
		{"certificate without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls: cert_file and key_file go together"},
		{"TLS 1.1", func(c *Config) { withTLS(c); c.TLS.MinVersion = "1.1" }, `tls.min_version: "1.1" is not 1.2 or 1.3`},
		{"client auth mode", func(c *Config) { withTLS(c); c.TLS.ClientAuth = "optional" }, `tls.client_auth: "optional"`},
		{"client auth without CAs", func(c *Config) { withTLS(c); c.TLS.ClientAuth = "request" }, `tls.client_auth: "request" needs client_ca_file`},
		{"client CAs without TLS", func(c *Config) { c.TLS.ClientCAFile = "ca.pem" }, "tls: has settings but no cert_file and key_file"},
		{"limits", func(c *Config) {
			c.Limits = LimitsConfig{MaxConnections: 10000, MaxConnectionsPerIP: 100, HandshakesPerSecond: 50, MessagesPerSecond: 100, MaxSubscriptions: -1}
		}, ""},
		{"negative connection limit", func(c *Config) { c.Limits.MaxConnectionsPerIP = -1 }, "limits.max_connections_per_ip: -1 is negative"},
		{"negative connect timeout", func(c *Config) { c.Limits.ConnectTimeout = -time.Second }, "limits.connect_timeout: -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadTLSAndLimits(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `
tls:
  cert_file: /etc/herald/cert.pem
  key_file: /etc/herald/key.pem
  client_ca_file: /etc/herald/clients.pem
  client_auth: request
limits:
  max_connections: 50000
  max_connections_per_ip: 200
  handshakes_per_second: 500
  read_header_timeout: 5s
`)
	cfg, err := LoadConfig([]string{"--config", file, "--limits-messages-per-second", "100", "--tls-min-version", "1.3"},
		env(map[string]string{"HERALD_LIMITS_MAX_SUBSCRIPTIONS": "64", "HERALD_LIMITS_CONNECT_TIMEOUT": "3s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{}
	want.TLS = TLSConfig{CertFile: "/etc/herald/cert.pem", KeyFile: "/etc/herald/key.pem", MinVersion: "1.3", ClientCAFile: "/etc/herald/clients.pem", ClientAuth: "request"}
	want.Limits = LimitsConfig{MaxConnections: 50000, MaxConnectionsPerIP: 200, HandshakesPerSecond: 500, MessagesPerSecond: 100,
		MaxSubscriptions: 64, ReadHeaderTimeout: 5 * time.Second, ConnectTimeout: 3 * time.Second}
	if cfg.TLS != want.TLS || cfg.Limits != want.Limits {
		t.Fatalf("got %+v %+v", cfg.TLS, cfg.Limits)
	}
	var opts herald.Options
	cfg.Limits.apply(&opts)
	if opts.Limits.MaxConnectionsPerIP != 200 || opts.Limits.MessagesPerSecond != 100 || opts.Limits.MaxSubscriptions != 64 ||
		opts.STOMP.ConnectTimeout != 3*time.Second || opts.MQTT.ConnectTimeout != 3*time.Second {
		t.Fatalf("options %+v", opts)
	}
	if cfg.Limits.readHeaderTimeout() != 5*time.Second || (&LimitsConfig{}).readHeaderTimeout() != defaultReadHeaderTimeout {
		t.Fatal("read header timeout")
	}
}
