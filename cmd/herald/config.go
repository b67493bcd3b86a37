package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/heraldhq/herald"
)

// Config is the binary's configuration: herald.Options plus what the
// binary itself needs. Every key can be set in the YAML file, in the
// environment and on the command line (see settings); zero values of the
// server options mean the library's default.
type Config struct {
	Listen          string        `yaml:"listen"`
	STOMPListen     string        `yaml:"stomp_listen"`
	MQTTListen      string        `yaml:"mqtt_listen"`
	WSPath          string        `yaml:"ws_path"`
	EventsPath      string        `yaml:"events_path"`
	StreamPath      string        `yaml:"stream_path"`
	PollPath        string        `yaml:"poll_path"`
	Static          string        `yaml:"static"`
	Demo            bool          `yaml:"demo"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Log             LogConfig     `yaml:"log"`

	AllowedOrigins     []string      `yaml:"allowed_origins"`
	MaxMessageSize     int           `yaml:"max_message_size"`
	QueueMessages      int           `yaml:"queue_messages"`
	QueueBytes         int           `yaml:"queue_bytes"`
	SlowConsumer       string        `yaml:"slow_consumer"`
	MaxInFlight        int           `yaml:"max_in_flight"`
	HistorySize        int           `yaml:"history_size"`
	HistoryTTL         time.Duration `yaml:"history_ttl"`
	PingInterval       time.Duration `yaml:"ping_interval"`
	IdleTimeout        time.Duration `yaml:"idle_timeout"`
	WriteTimeout       time.Duration `yaml:"write_timeout"`
	RequestTimeout     time.Duration `yaml:"request_timeout"`
	Workers            int           `yaml:"workers"`
	DisableCompression bool          `yaml:"disable_compression"`

	// Connecting to backends (backends.go).
	Gateway GatewayConfig `yaml:"gateway"`
	RPC     RPCConfig     `yaml:"rpc"`
	API     APIConfig     `yaml:"api"`
	Hooks   HooksConfig   `yaml:"hooks"`

	Auth AuthConfig `yaml:"auth"` // authentication and roles (auth.go)

	// State on disk (durable.go).
	DataDir       string           `yaml:"data_dir"`
	Durability    DurabilityConfig `yaml:"durability"`
	DurableTopics []string         `yaml:"durable_topics"`
	// Transport security and limits (tls.go, limits.go).
	TLS    TLSConfig    `yaml:"tls"`
	Limits LimitsConfig `yaml:"limits"`
	GC     GCConfig     `yaml:"gc"` // the Go collector (gc.go)

	// Clustering (cluster.go).
	Cluster ClusterConfig `yaml:"cluster"`
	NATS    NATSConfig    `yaml:"nats"`

	TrustedProxies []string `yaml:"trusted_proxies"`
}

// LogConfig is the log: section.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// DefaultConfig is the configuration before any file, variable or flag.
func DefaultConfig() Config {
	return Config{
		Listen:          ":8080",
		STOMPListen:     ":61613",
		MQTTListen:      ":1883",
		WSPath:          "/ws",
		EventsPath:      "/events",
		StreamPath:      "/stream",
		PollPath:        "/poll",
		Demo:            true,
		ShutdownTimeout: 10 * time.Second,
		Log:             LogConfig{Level: "info", Format: "text"},
		SlowConsumer:    "disconnect",
	}
}

// slowConsumerPolicies maps the config's names to the library's policies.
var slowConsumerPolicies = map[string]herald.SlowConsumerPolicy{
	"disconnect":  herald.Disconnect,
	"drop_oldest": herald.DropOldest,
	"keep_latest": herald.KeepLatest,
}

// Options returns the server options the configuration describes.
func (c *Config) Options(logger *slog.Logger) herald.Options {
	return herald.Options{
		AllowedOrigins:     c.AllowedOrigins,
		MaxMessageSize:     c.MaxMessageSize,
		QueueMessages:      c.QueueMessages,
		QueueBytes:         c.QueueBytes,
		SlowConsumer:       slowConsumerPolicies[c.SlowConsumer],
		MaxInFlight:        c.MaxInFlight,
		HistorySize:        c.HistorySize,
		HistoryTTL:         c.HistoryTTL,
		PingInterval:       c.PingInterval,
		IdleTimeout:        c.IdleTimeout,
		WriteTimeout:       c.WriteTimeout,
		RequestTimeout:     c.RequestTimeout,
		Workers:            c.Workers,
		DisableCompression: c.DisableCompression,
		Cluster:            c.clusterOptions(),
		TrustedProxies:     c.TrustedProxies,
		Logger:             logger,
	}
}

// A setting is one configuration key as the environment and the command
// line see it. Key "a.b_c" is the variable HERALD_A_B_C and the flag
// --a-b-c.
type setting struct {
	key    string
	arg    string // the value's name in the usage text; "" for a bool
	usage  string
	set    func(c *Config, v string) error
	format func(c *Config) string // the value, for the usage text
	zero   string                 // what 0 stands for (the library's default), if anything
}

func (s setting) flagName() string { return strings.NewReplacer(".", "-", "_", "-").Replace(s.key) }

func (s setting) envName() string {
	return "HERALD_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s.key))
}

func stringSetting(key, arg, usage string, field func(*Config) *string) setting {
	return setting{key: key, arg: arg, usage: usage,
		set:    func(c *Config, v string) error { *field(c) = v; return nil },
		format: func(c *Config) string { return strconv.Quote(*field(c)) }}
}

func intSetting(key, zero, usage string, field func(*Config) *int) setting {
	return setting{key: key, arg: "N", usage: usage, zero: zero,
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*field(c) = n
			return nil
		},
		format: func(c *Config) string { return strconv.Itoa(*field(c)) }}
}

func durationSetting(key, zero, usage string, field func(*Config) *time.Duration) setting {
	return setting{key: key, arg: "DURATION", usage: usage, zero: zero,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration such as 30s, 5m or 1h30m", v)
			}
			*field(c) = d
			return nil
		},
		format: func(c *Config) string { return field(c).String() }}
}

func boolSetting(key, usage string, field func(*Config) *bool) setting {
	return setting{key: key, usage: usage,
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			*field(c) = b
			return nil
		},
		format: func(c *Config) string { return strconv.FormatBool(*field(c)) }}
}

// listSetting takes comma-separated values, so that one variable or flag
// can carry the whole list.
func listSetting(key, arg, usage string, field func(*Config) *[]string) setting {
	return setting{key: key, arg: arg, usage: usage,
		set: func(c *Config, v string) error {
			var list []string
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					list = append(list, item)
				}
			}
			*field(c) = list
			return nil
		},
		format: func(c *Config) string { return strconv.Quote(strings.Join(*field(c), ",")) }}
}

// settings lists every key but "config" itself, in the usage's order.
var settings = []setting{
	stringSetting("listen", "ADDR", "address to listen on, host:port (port 0 picks a free one)", func(c *Config) *string { return &c.Listen }),
	stringSetting("stomp_listen", "ADDR", "address of the STOMP over TCP listener, host:port; empty for none", func(c *Config) *string { return &c.STOMPListen }),
	stringSetting("mqtt_listen", "ADDR", "address of the MQTT over TCP listener, host:port; empty for none", func(c *Config) *string { return &c.MQTTListen }),
	stringSetting("ws_path", "PATH", "path of the WebSocket endpoint", func(c *Config) *string { return &c.WSPath }),
	stringSetting("events_path", "PATH", "path of the Server-Sent Events endpoint", func(c *Config) *string { return &c.EventsPath }),
	stringSetting("stream_path", "PATH", "path of the native protocol over HTTP streaming (WebSocket fallback)", func(c *Config) *string { return &c.StreamPath }),
	stringSetting("poll_path", "PATH", "path of the native protocol over long polling (WebSocket fallback)", func(c *Config) *string { return &c.PollPath }),
	stringSetting("static", "DIR", "serve your own files from DIR at / (the demo moves to /demo/)", func(c *Config) *string { return &c.Static }),
	boolSetting("demo", "serve the LED and chat demo pages", func(c *Config) *bool { return &c.Demo }),
	listSetting("allowed_origins", "LIST", "comma-separated browser origins allowed besides the server's own (\"*.example.com\", \"https://app.example.com\")", func(c *Config) *[]string { return &c.AllowedOrigins }),
	durationSetting("shutdown_timeout", "", "how long a shutdown waits for clients to be closed", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	stringSetting("log.level", "LEVEL", "debug, info, warn or error", func(c *Config) *string { return &c.Log.Level }),
	stringSetting("log.format", "FORMAT", "text or json", func(c *Config) *string { return &c.Log.Format }),
	intSetting("max_message_size", "65536", "inbound message size limit in bytes", func(c *Config) *int { return &c.MaxMessageSize }),
	intSetting("queue_messages", "1024", "outbound messages waiting per connection", func(c *Config) *int { return &c.QueueMessages }),
	intSetting("queue_bytes", "4194304", "outbound bytes waiting per connection", func(c *Config) *int { return &c.QueueBytes }),
	stringSetting("slow_consumer", "POLICY", "when a connection's queue is full: disconnect, drop_oldest or keep_latest", func(c *Config) *string { return &c.SlowConsumer }),
	intSetting("max_in_flight", "256", "requests queued per connection", func(c *Config) *int { return &c.MaxInFlight }),
	intSetting("history_size", "100", "messages kept per topic for resume; negative keeps none", func(c *Config) *int { return &c.HistorySize }),
	durationSetting("history_ttl", "10m", "how long history is kept", func(c *Config) *time.Duration { return &c.HistoryTTL }),
	durationSetting("ping_interval", "25s", "keep-alive ping to quiet connections", func(c *Config) *time.Duration { return &c.PingInterval }),
	durationSetting("idle_timeout", "60s", "close connections silent this long", func(c *Config) *time.Duration { return &c.IdleTimeout }),
	durationSetting("write_timeout", "10s", "write deadline of connections served by goroutines (TLS)", func(c *Config) *time.Duration { return &c.WriteTimeout }),
	durationSetting("request_timeout", "30s", "deadline of a request handler", func(c *Config) *time.Duration { return &c.RequestTimeout }),
	intSetting("workers", "4 × CPUs", "goroutines running handlers", func(c *Config) *int { return &c.Workers }),
	boolSetting("disable_compression", "refuse permessage-deflate", func(c *Config) *bool { return &c.DisableCompression }),
}

// configEnv names the variable that gives the config file when --config
// does not.
const configEnv = "HERALD_CONFIG"

// LoadConfig builds the configuration of "herald serve" from, in rising
// precedence: the defaults, the YAML file (--config or HERALD_CONFIG),
// the HERALD_* environment variables and the flags in args. Empty
// variables count as unset. It returns flag.ErrHelp after printing the
// usage when args ask for help.
func LoadConfig(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("herald serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // LoadConfig reports errors itself, once
	configPath := fs.String("config", "", "")
	// Flags are only recorded here and applied last, above the file and
	// the environment, which --config must be known to read.
	type flagValue struct {
		s setting
		v string
	}
	var flags []flagValue
	for _, s := range settings {
		record := func(v string) error { flags = append(flags, flagValue{s, v}); return nil }
		if s.arg == "" {
			fs.BoolFunc(s.flagName(), s.usage, record)
		} else {
			fs.Func(s.flagName(), s.usage, record)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeServeUsage(stderr)
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}

	cfg := DefaultConfig()
	file := *configPath
	if file == "" {
		file, _ = lookupEnv(configEnv)
	}
	if file != "" {
		if err := loadFile(file, &cfg); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v, ok := lookupEnv(s.envName()); ok && v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", s.envName(), err)
			}
		}
	}
	for _, f := range flags {
		if err := f.s.set(&cfg, f.v); err != nil {
			return Config{}, fmt.Errorf("--%s: %w", f.s.flagName(), err)
		}
	}
	return cfg, cfg.Validate()
}

// loadFile decodes the YAML file at name over cfg. Unknown keys are
// errors, so that a misspelt key does not silently leave a default.
func loadFile(name string, cfg *Config) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file sets nothing
		}
		return fmt.Errorf("config file %s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: holds more than one YAML document", name)
	}
	return nil
}

// reservedPaths are routes the endpoints must not take.
var reservedPaths = map[string]bool{"/": true, "/healthz": true, "/readyz": true, "/metrics": true, "/herald.js": true, "/herald.d.ts": true}

// Validate reports every invalid value at once.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, a ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, a...))
	}

	checkAddr := func(key, addr, example string) {
		if host, port, err := net.SplitHostPort(addr); err != nil {
			bad(key, "%q is not host:port (for example \"%s\" or \"127.0.0.1%s\")", addr, example, example)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad(key, "port %q of %q is not a number from 0 to 65535", port, addr)
		} else if strings.ContainsAny(host, " /") {
			bad(key, "host %q is not a host name or IP address", host)
		}
	}
	checkAddr("listen", c.Listen, ":8080")
	if c.STOMPListen != "" {
		checkAddr("stomp_listen", c.STOMPListen, ":61613")
	}
	if c.MQTTListen != "" {
		checkAddr("mqtt_listen", c.MQTTListen, ":1883")
	}

	taken := map[string]string{}
	for _, e := range []struct{ key, path, example string }{
		{"ws_path", c.WSPath, "/ws"}, {"events_path", c.EventsPath, "/events"},
		{"stream_path", c.StreamPath, "/stream"}, {"poll_path", c.PollPath, "/poll"},
	} {
		switch p := e.path; {
		case !strings.HasPrefix(p, "/") || path.Clean(p) != p ||
			strings.ContainsFunc(p, func(r rune) bool { return !strings.ContainsRune(pathChars, r) }):
			bad(e.key, "%q is not a clean absolute path such as \"%s\"", p, e.example)
		case reservedPaths[p]:
			bad(e.key, "%q is taken by another route", p)
		case taken[p] != "":
			bad(e.key, "%q is already the path of %s", p, taken[p])
		default:
			taken[p] = e.key
		}
	}

	if c.Static != "" {
		if st, err := os.Stat(c.Static); err != nil {
			bad("static", "%v", err)
		} else if !st.IsDir() {
			bad("static", "%s is not a directory", c.Static)
		}
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if _, ok := slowConsumerPolicies[c.SlowConsumer]; !ok {
		bad("slow_consumer", "%q is not disconnect, drop_oldest or keep_latest", c.SlowConsumer)
	}
	for _, o := range c.AllowedOrigins {
		if _, err := path.Match(o, ""); err != nil || o == "" {
			bad("allowed_origins", "%q is not a valid pattern", o)
		}
	}

	for key, n := range map[string]int{
		"max_message_size": c.MaxMessageSize, "queue_messages": c.QueueMessages,
		"queue_bytes": c.QueueBytes, "max_in_flight": c.MaxInFlight, "workers": c.Workers,
	} {
		if n < 0 {
			bad(key, "%d is negative (0 means the default)", n)
		}
	}
	for key, d := range map[string]time.Duration{
		"history_ttl": c.HistoryTTL, "ping_interval": c.PingInterval, "idle_timeout": c.IdleTimeout,
		"write_timeout": c.WriteTimeout, "request_timeout": c.RequestTimeout,
	} {
		if d < 0 {
			bad(key, "%v is negative (0 means the default)", d)
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "%v must be positive", c.ShutdownTimeout)
	}
	// A pong is what keeps a quiet client alive: a client pinged no
	// sooner than the idle timeout is closed before it can answer.
	if c.PingInterval > 0 && c.IdleTimeout > 0 && c.PingInterval >= c.IdleTimeout {
		bad("ping_interval", "%v must be shorter than idle_timeout %v", c.PingInterval, c.IdleTimeout)
	}
	c.validateBackends(bad, taken)
	c.validateAuth(bad)
	c.validateDurable(bad)
	c.validateTLS(bad)
	c.validateLimits(bad)
	c.validateGC(bad)

	c.validateCluster(bad)

	if len(errs) == 0 {
		return nil
	}
	// Maps above iterate in random order; the report should not.
	slices.Sort(errs)
	return fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
}

// pathChars are the characters allowed in ws_path: unreserved URL
// characters and "/", nothing that http.ServeMux reads as a pattern.
const pathChars = "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"

// writeServeUsage prints the flags with their variables and defaults.
func writeServeUsage(w io.Writer) {
	def := DefaultConfig()
	fmt.Fprint(w, `Usage: herald [serve] [flags]

Runs the Herald gateway. Each setting comes from, in rising precedence: its
default, the YAML config file, its environment variable, its flag.

`)
	fmt.Fprintf(w, "  --config FILE  (%s)\n        YAML config file; unknown keys are errors\n", configEnv)
	for _, s := range settings {
		name := "--" + s.flagName()
		if s.arg != "" {
			name += " " + s.arg
		}
		value := s.format(&def)
		if s.zero != "" && (value == "0" || value == "0s") {
			value = s.zero
		}
		if value == `""` {
			fmt.Fprintf(w, "  %s  (%s)\n        %s\n", name, s.envName(), s.usage)
			continue
		}
		fmt.Fprintf(w, "  %s  (%s)\n        %s (default %s)\n", name, s.envName(), s.usage, value)
	}
	fmt.Fprint(w, "\nIn the file, \"log.level\" is written as level: under log:, durations as \"30s\".\n")
}
