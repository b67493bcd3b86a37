package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

// env is a lookupEnv backed by a map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "herald.yaml")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

const fullFile = `
listen: 127.0.0.1:9000
stomp_listen: 127.0.0.1:9613
mqtt_listen: 127.0.0.1:9883
ws_path: /socket
events_path: /sse
stream_path: /rt/stream
poll_path: /rt/poll
demo: false
shutdown_timeout: 3s
log:
  level: debug
  format: json
allowed_origins: ["*.example.com", "https://app.example.org"]
max_message_size: 1024
queue_messages: 10
queue_bytes: 4096
slow_consumer: keep_latest
max_in_flight: 8
history_size: -1
history_ttl: 1m
ping_interval: 5s
idle_timeout: 20s
write_timeout: 2s
request_timeout: 4s
workers: 3
disable_compression: true
`

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	staticDir := t.TempDir()
	def := DefaultConfig()
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		file    string // config file content; "" for no file
		fileEnv bool   // name the file with HERALD_CONFIG rather than --config
		env     map[string]string
		args    []string
		want    Config
		wantErr string // substring of the error; "" for success
	}{
		{name: "defaults", want: def},
		{
			name: "file only",
			file: fullFile,
			want: Config{
				Listen: "127.0.0.1:9000", STOMPListen: "127.0.0.1:9613", WSPath: "/socket", Demo: false, ShutdownTimeout: 3 * time.Second,
				MQTTListen: "127.0.0.1:9883",
				EventsPath: "/sse", StreamPath: "/rt/stream", PollPath: "/rt/poll",
				Log:            LogConfig{Level: "debug", Format: "json"},
				AllowedOrigins: []string{"*.example.com", "https://app.example.org"},
				MaxMessageSize: 1024, QueueMessages: 10, QueueBytes: 4096, SlowConsumer: "keep_latest",
				MaxInFlight: 8, HistorySize: -1, HistoryTTL: time.Minute, PingInterval: 5 * time.Second,
				IdleTimeout: 20 * time.Second, WriteTimeout: 2 * time.Second, RequestTimeout: 4 * time.Second,
				Workers: 3, DisableCompression: true,
			},
		},
		{
			name:    "file named by HERALD_CONFIG",
			file:    "listen: 127.0.0.1:9001\n",
			fileEnv: true,
			want:    with(func(c *Config) { c.Listen = "127.0.0.1:9001" }),
		},
		{
			name: "env only",
			env: map[string]string{
				"HERALD_LISTEN": "127.0.0.1:9002", "HERALD_WS_PATH": "/rt", "HERALD_STATIC": staticDir,
				"HERALD_DEMO": "false", "HERALD_ALLOWED_ORIGINS": " a.example.com , ,b.example.com,",
				"HERALD_LOG_LEVEL": "warn", "HERALD_LOG_FORMAT": "json", "HERALD_HISTORY_TTL": "90s",
				"HERALD_SLOW_CONSUMER": "drop_oldest", "HERALD_WORKERS": "7", "HERALD_DISABLE_COMPRESSION": "1",
				"HERALD_SHUTDOWN_TIMEOUT": "1m", "HERALD_STOMP_LISTEN": "127.0.0.1:9614",
				"HERALD_MQTT_LISTEN": "127.0.0.1:9884",
			},
			want: with(func(c *Config) {
				c.Listen, c.WSPath, c.Static, c.Demo = "127.0.0.1:9002", "/rt", staticDir, false
				c.AllowedOrigins = []string{"a.example.com", "b.example.com"}
				c.Log = LogConfig{Level: "warn", Format: "json"}
				c.HistoryTTL, c.SlowConsumer, c.Workers, c.DisableCompression = 90*time.Second, "drop_oldest", 7, true
				c.ShutdownTimeout = time.Minute
				c.STOMPListen = "127.0.0.1:9614"
				c.MQTTListen = "127.0.0.1:9884"
			}),
		},
		{
			name: "flags only",
			args: []string{"--listen", "127.0.0.1:9003", "-ws-path=/x", "--demo=false", "--max-message-size", "512", "--disable-compression", "--stomp-listen=", "--mqtt-listen="},
			want: with(func(c *Config) {
				c.Listen, c.WSPath, c.Demo, c.MaxMessageSize, c.DisableCompression = "127.0.0.1:9003", "/x", false, 512, true
				c.STOMPListen = "" // disabled
				c.MQTTListen = ""
			}),
		},
		{
			name: "flag beats env beats file",
			file: "listen: 127.0.0.1:1\nws_path: /file\nworkers: 1\nlog:\n  level: debug\n",
			env:  map[string]string{"HERALD_LISTEN": "127.0.0.1:2", "HERALD_WS_PATH": "/env"},
			args: []string{"--listen=127.0.0.1:3"},
			want: with(func(c *Config) {
				c.Listen, c.WSPath, c.Workers, c.Log.Level = "127.0.0.1:3", "/env", 1, "debug"
			}),
		},
		{
			name: "the last of a repeated flag wins",
			args: []string{"--listen=127.0.0.1:4", "--listen=127.0.0.1:5"},
			want: with(func(c *Config) { c.Listen = "127.0.0.1:5" }),
		},
		{
			name: "empty variables count as unset",
			file: "listen: 127.0.0.1:6\n",
			env:  map[string]string{"HERALD_LISTEN": "", "HERALD_WORKERS": ""},
			want: with(func(c *Config) { c.Listen = "127.0.0.1:6" }),
		},
		{
			name: "an empty file sets nothing",
			file: "# nothing here\n",
			want: def,
		},
		{name: "unknown key in the file", file: "lisen: :8080\n", wantErr: "field lisen not found"},
		{name: "unknown nested key", file: "log:\n  lvl: debug\n", wantErr: "line 2: field lvl not found"},
		{name: "bad duration in the file", file: "history_ttl: 5x\n", wantErr: "line 1: cannot unmarshal !!str `5x` into time.Duration"},
		{name: "bare number is no duration", file: "ping_interval: 25\n", wantErr: "cannot unmarshal !!int `25` into time.Duration"},
		{name: "bad duration in the env", env: map[string]string{"HERALD_IDLE_TIMEOUT": "soon"}, wantErr: `HERALD_IDLE_TIMEOUT: "soon" is not a duration`},
		{name: "bad duration flag", args: []string{"--request-timeout=1parsec"}, wantErr: `--request-timeout: "1parsec" is not a duration`},
		{name: "bad number in the env", env: map[string]string{"HERALD_WORKERS": "four"}, wantErr: `HERALD_WORKERS: "four" is not a whole number`},
		{name: "bad bool flag", args: []string{"--demo=maybe"}, wantErr: `--demo: "maybe" is not true or false`},
		{name: "two documents", file: "listen: :1\n---\nlisten: :2\n", wantErr: "more than one YAML document"},
		{name: "missing file", args: []string{"--config", "/nonexistent/herald.yaml"}, wantErr: "no such file"},
		{name: "unknown flag", args: []string{"--lisen=:1"}, wantErr: "flag provided but not defined: -lisen"},
		{name: "stray argument", args: []string{"listen"}, wantErr: `unexpected argument "listen"`},
		{name: "invalid values are all reported", file: "listen: nowhere\nlog:\n  format: xml\n", wantErr: "listen: \"nowhere\" is not host:port (for example \":8080\" or \"127.0.0.1:8080\")\n  log.format: \"xml\" is not text or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{}
			for k, v := range tt.env {
				vars[k] = v
			}
			args := tt.args
			if tt.file != "" {
				name := writeConfig(t, tt.file)
				if tt.fileEnv {
					vars[configEnv] = name
				} else {
					args = append([]string{"--config", name}, args...)
				}
			}
			got, err := LoadConfig(args, env(vars), &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("config\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadConfigFlagBeatsEnvForTheFile(t *testing.T) {
	t.Parallel()
	fromEnv := writeConfig(t, "listen: 127.0.0.1:1\n")
	fromFlag := writeConfig(t, "listen: 127.0.0.1:2\n")
	got, err := LoadConfig([]string{"--config", fromFlag}, env(map[string]string{configEnv: fromEnv}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Listen != "127.0.0.1:2" {
		t.Fatalf("listen %q: --config should win over %s", got.Listen, configEnv)
	}
}

func TestLoadConfigHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := LoadConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error %v, want flag.ErrHelp", err)
	}
	// Every setting is documented with its flag and its variable.
	for _, s := range settings {
		if !strings.Contains(out.String(), "--"+s.flagName()) || !strings.Contains(out.String(), s.envName()) {
			t.Errorf("usage lacks --%s or %s", s.flagName(), s.envName())
		}
	}
}

// TestSettingsCoverConfig makes sure a field added to Config gets a
// variable and a flag too: every YAML key must have a setting.
func TestSettingsCoverConfig(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	for _, s := range settings {
		if keys[s.key] {
			t.Errorf("setting %q listed twice", s.key)
		}
		keys[s.key] = true
	}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			key := prefix + strings.Split(f.Tag.Get("yaml"), ",")[0]
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				walk(key+".", f.Type)
				continue
			}
			if !keys[key] {
				t.Errorf("config key %q has no setting (environment variable and flag)", key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func TestValidate(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"any port", func(c *Config) { c.Listen = "127.0.0.1:0" }, ""},
		{"IPv6", func(c *Config) { c.Listen = "[::1]:8080" }, ""},
		{"no port", func(c *Config) { c.Listen = "localhost" }, `listen: "localhost" is not host:port`},
		{"port too big", func(c *Config) { c.Listen = ":65536" }, `port "65536"`},
		{"named port", func(c *Config) { c.Listen = ":http" }, `port "http"`},
		{"no STOMP listener", func(c *Config) { c.STOMPListen = "" }, ""},
		{"STOMP listener without a port", func(c *Config) { c.STOMPListen = "localhost" }, `stomp_listen: "localhost" is not host:port (for example ":61613" or "127.0.0.1:61613")`},
		{"STOMP port too big", func(c *Config) { c.STOMPListen = "127.0.0.1:99999" }, `stomp_listen: port "99999"`},
		{"no MQTT listener", func(c *Config) { c.MQTTListen = "" }, ""},
		{"MQTT listener without a port", func(c *Config) { c.MQTTListen = "localhost" }, `mqtt_listen: "localhost" is not host:port (for example ":1883" or "127.0.0.1:1883")`},
		{"relative ws_path", func(c *Config) { c.WSPath = "ws" }, `ws_path: "ws" is not a clean absolute path`},
		{"unclean ws_path", func(c *Config) { c.WSPath = "/a/../ws" }, "not a clean absolute path"},
		{"trailing slash", func(c *Config) { c.WSPath = "/ws/" }, "not a clean absolute path"},
		{"pattern characters", func(c *Config) { c.WSPath = "/{ws}" }, "not a clean absolute path"},
		{"ws_path on a route", func(c *Config) { c.WSPath = "/metrics" }, `ws_path: "/metrics" is taken`},
		{"ws_path at the root", func(c *Config) { c.WSPath = "/" }, `ws_path: "/" is taken`},
		{"events_path unclean", func(c *Config) { c.EventsPath = "events" }, `events_path: "events" is not a clean absolute path such as "/events"`},
		{"poll_path on the client", func(c *Config) { c.PollPath = "/herald.js" }, `poll_path: "/herald.js" is taken`},
		{"stream_path twice", func(c *Config) { c.StreamPath = "/ws" }, `stream_path: "/ws" is already the path of ws_path`},
		{"paths moved together", func(c *Config) {
			c.WSPath, c.EventsPath, c.StreamPath, c.PollPath = "/rt/ws", "/rt/sse", "/rt/s", "/rt/p"
		}, ""},
		{"missing static", func(c *Config) { c.Static = "/nonexistent/site" }, "static: stat /nonexistent/site: no such file"},
		{"static is a file", func(c *Config) { c.Static = file }, "is not a directory"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose"`},
		{"log level in capitals", func(c *Config) { c.Log.Level = "DEBUG" }, ""},
		{"slow consumer", func(c *Config) { c.SlowConsumer = "drop-oldest" }, `slow_consumer: "drop-oldest"`},
		{"bad origin pattern", func(c *Config) { c.AllowedOrigins = []string{"[a-"} }, `allowed_origins: "[a-"`},
		{"negative queue", func(c *Config) { c.QueueBytes = -1 }, "queue_bytes: -1 is negative"},
		{"negative history keeps none", func(c *Config) { c.HistorySize = -1 }, ""},
		{"negative duration", func(c *Config) { c.IdleTimeout = -time.Second }, "idle_timeout: -1s is negative"},
		{"no shutdown time", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout: 0s must be positive"},
		{"ping after idle", func(c *Config) { c.PingInterval, c.IdleTimeout = time.Minute, time.Minute }, "ping_interval: 1m0s must be shorter than idle_timeout"},
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

func TestOptions(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.SlowConsumer = "keep_latest"
	c.HistorySize = -1
	c.PingInterval = 5 * time.Second
	c.AllowedOrigins = []string{"*.example.com"}
	o := c.Options(nil)
	if o.SlowConsumer != herald.KeepLatest || o.HistorySize != -1 || o.PingInterval != 5*time.Second ||
		!reflect.DeepEqual(o.AllowedOrigins, c.AllowedOrigins) {
		t.Fatalf("options %+v do not mirror %+v", o, c)
	}
}
