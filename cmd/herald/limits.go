package main

import (
	"time"

	"github.com/heraldhq/herald"
)

// LimitsConfig is the limits: section (herald.Limits, plus the timeouts
// against clients that connect and then say nothing). Zeros mean the
// defaults: no limit for the connection counts and rates.
type LimitsConfig struct {
	MaxConnections      int           `yaml:"max_connections"`
	MaxConnectionsPerIP int           `yaml:"max_connections_per_ip"`
	HandshakesPerSecond int           `yaml:"handshakes_per_second"`
	HandshakeBurst      int           `yaml:"handshake_burst"`
	HandshakesPerIP     int           `yaml:"handshakes_per_second_per_ip"`
	HandshakeBurstPerIP int           `yaml:"handshake_burst_per_ip"`
	MessagesPerSecond   int           `yaml:"messages_per_second"`
	MessageBurst        int           `yaml:"message_burst"`
	MaxSubscriptions    int           `yaml:"max_subscriptions"`
	ReadHeaderTimeout   time.Duration `yaml:"read_header_timeout"`
	ConnectTimeout      time.Duration `yaml:"connect_timeout"`
}

// defaultReadHeaderTimeout bounds how long a client may take to send a
// request's headers, TLS handshake included (slowloris).
const defaultReadHeaderTimeout = 10 * time.Second

func init() {
	settings = append(settings,
		intSetting("limits.max_connections", "no limit", "open connections, all clients together (HTTP 503, STOMP ERROR, MQTT CONNACK 0x97/0x03 beyond)", func(c *Config) *int { return &c.Limits.MaxConnections }),
		intSetting("limits.max_connections_per_ip", "no limit", "open connections per client address", func(c *Config) *int { return &c.Limits.MaxConnectionsPerIP }),
		intSetting("limits.handshakes_per_second", "no limit", "new connections accepted per second, all clients together (HTTP 429 beyond)", func(c *Config) *int { return &c.Limits.HandshakesPerSecond }),
		intSetting("limits.handshake_burst", "one second's worth", "new connections accepted at once", func(c *Config) *int { return &c.Limits.HandshakeBurst }),
		intSetting("limits.handshakes_per_second_per_ip", "no limit", "new connections accepted per second from one client address (HTTP 429 beyond)", func(c *Config) *int { return &c.Limits.HandshakesPerIP }),
		intSetting("limits.handshake_burst_per_ip", "one second's worth", "new connections accepted at once from one client address", func(c *Config) *int { return &c.Limits.HandshakeBurstPerIP }),
		intSetting("limits.messages_per_second", "no limit", "inbound messages per second per connection (close 1008, STOMP ERROR, MQTT DISCONNECT 0x96 beyond)", func(c *Config) *int { return &c.Limits.MessagesPerSecond }),
		intSetting("limits.message_burst", "one second's worth", "inbound messages per connection at once", func(c *Config) *int { return &c.Limits.MessageBurst }),
		intSetting("limits.max_subscriptions", "1024", "subscriptions per connection; negative for no limit", func(c *Config) *int { return &c.Limits.MaxSubscriptions }),
		durationSetting("limits.read_header_timeout", "10s", "time a client has to send the HTTP request headers, TLS handshake included", func(c *Config) *time.Duration { return &c.Limits.ReadHeaderTimeout }),
		durationSetting("limits.connect_timeout", "10s", "time a STOMP or MQTT client has to send CONNECT, TLS handshake included", func(c *Config) *time.Duration { return &c.Limits.ConnectTimeout }),
	)
}

// validateLimits checks the limits: section.
func (c *Config) validateLimits(bad func(key, format string, a ...any)) {
	l := &c.Limits
	for key, n := range map[string]int{
		"limits.max_connections": l.MaxConnections, "limits.max_connections_per_ip": l.MaxConnectionsPerIP,
		"limits.handshakes_per_second": l.HandshakesPerSecond, "limits.handshake_burst": l.HandshakeBurst,
		"limits.handshakes_per_second_per_ip": l.HandshakesPerIP, "limits.handshake_burst_per_ip": l.HandshakeBurstPerIP,
		"limits.messages_per_second": l.MessagesPerSecond, "limits.message_burst": l.MessageBurst,
	} {
		if n < 0 {
			bad(key, "%d is negative (0 means no limit)", n)
		}
	}
	for key, d := range map[string]time.Duration{
		"limits.read_header_timeout": l.ReadHeaderTimeout, "limits.connect_timeout": l.ConnectTimeout,
	} {
		if d < 0 {
			bad(key, "%v is negative (0 means the default)", d)
		}
	}
}

// apply sets the limits in opts.
func (l *LimitsConfig) apply(opts *herald.Options) {
	opts.Limits = herald.Limits{
		MaxConnections: l.MaxConnections, MaxConnectionsPerIP: l.MaxConnectionsPerIP,
		HandshakesPerSecond: float64(l.HandshakesPerSecond), HandshakeBurst: l.HandshakeBurst,
		HandshakesPerSecondPerIP: float64(l.HandshakesPerIP), HandshakeBurstPerIP: l.HandshakeBurstPerIP,
		MessagesPerSecond: float64(l.MessagesPerSecond), MessageBurst: l.MessageBurst,
		MaxSubscriptions: l.MaxSubscriptions,
	}
	if l.ConnectTimeout > 0 {
		opts.STOMP.ConnectTimeout = l.ConnectTimeout
		opts.MQTT.ConnectTimeout = l.ConnectTimeout
	}
}

// readHeaderTimeout is the HTTP server's ReadHeaderTimeout.
func (l *LimitsConfig) readHeaderTimeout() time.Duration {
	if l.ReadHeaderTimeout > 0 {
		return l.ReadHeaderTimeout
	}
	return defaultReadHeaderTimeout
}
