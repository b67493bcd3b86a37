package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/httphook"
	"github.com/heraldhq/herald/internal/rpcproxy"
)

// The sections that connect Herald to backends: the WebSocket-to-TCP
// gateway, the RPC proxy to HTTP, the HTTP publish API and the HTTP
// hooks. See docs/gateway.md and docs/http-api.md.

// GatewayConfig is the gateway: section.
type GatewayConfig struct {
	Routes []GatewayRouteConfig `yaml:"routes"`
}

// GatewayRouteConfig is one WebSocket endpoint spliced to a TCP backend.
type GatewayRouteConfig struct {
	Path           string        `yaml:"path"`
	Backend        string        `yaml:"backend"`
	Origins        []string      `yaml:"origins"`
	AuthRequired   bool          `yaml:"auth_required"`
	MaxConns       int           `yaml:"max_conns"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	Subprotocols   []string      `yaml:"subprotocols"`
	MaxMessageSize int           `yaml:"max_message_size"`
	Buffer         int           `yaml:"buffer"`
	TLS            BackendTLS    `yaml:"tls"`
}

// BackendTLS is a gateway route's tls: section.
type BackendTLS struct {
	Enabled            bool   `yaml:"enabled"`
	ServerName         string `yaml:"server_name"`
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// RPCConfig is the rpc: section.
type RPCConfig struct {
	Routes []RPCRouteConfig `yaml:"routes"`
}

// RPCRouteConfig binds a method, or every method with a prefix, to an
// HTTP backend.
type RPCRouteConfig struct {
	Method         string        `yaml:"method"`
	Prefix         string        `yaml:"prefix"`
	URL            string        `yaml:"url"`
	Timeout        time.Duration `yaml:"timeout"`
	MaxConcurrency int           `yaml:"max_concurrency"`
	ForwardHeaders []string      `yaml:"forward_headers"`
}

// APIConfig is the api: section.
type APIConfig struct {
	PublishPath   string   `yaml:"publish_path"`
	Keys          []string `yaml:"keys"`
	AllowLoopback bool     `yaml:"allow_loopback"`
	MaxBody       int      `yaml:"max_body"`
	// Tokens accepts the credentials of auth.jwt or hooks.connect_url
	// on the publish API, each topic checked against the identity's
	// publish permissions (docs/http-api.md).
	Tokens bool `yaml:"tokens"`
}

// HooksConfig is the hooks: section.
type HooksConfig struct {
	ConnectURL     string        `yaml:"connect_url"`
	AuthorizeURL   string        `yaml:"authorize_url"`
	Timeout        time.Duration `yaml:"timeout"`
	CacheTTL       time.Duration `yaml:"cache_ttl"`
	ForwardHeaders []string      `yaml:"forward_headers"`
}

// defaultPublishPath is where the publish API is when api.publish_path
// is empty.
const defaultPublishPath = "/api/publish"

// yamlSetting takes a YAML (or JSON) value, for the lists of routes: one
// variable or flag carries the whole list, e.g.
// HERALD_GATEWAY_ROUTES='[{path: /tcp/mail, backend: "127.0.0.1:143"}]'.
func yamlSetting[T any](key, usage string, field func(*Config) *T) setting {
	return setting{key: key, arg: "YAML", usage: usage,
		set: func(c *Config, v string) error {
			dec := yaml.NewDecoder(strings.NewReader(v))
			dec.KnownFields(true)
			var x T
			if err := dec.Decode(&x); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("%q is not a valid list: %v", v, err)
			}
			*field(c) = x
			return nil
		},
		format: func(c *Config) string {
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.Encode(field(c))
			if s := strings.TrimSpace(b.String()); s != "[]" {
				return s
			}
			return `""`
		}}
}

func init() {
	settings = append(settings,
		yamlSetting("gateway.routes", "WebSocket-to-TCP routes: [{path, backend, origins, auth_required, max_conns, connect_timeout, idle_timeout, subprotocols, max_message_size, buffer, tls: {enabled, server_name, ca_file, insecure_skip_verify}}]", func(c *Config) *[]GatewayRouteConfig { return &c.Gateway.Routes }),
		yamlSetting("rpc.routes", "request methods answered by HTTP backends: [{method or prefix, url, timeout, max_concurrency, forward_headers}]", func(c *Config) *[]RPCRouteConfig { return &c.RPC.Routes }),
		stringSetting("api.publish_path", "PATH", "path of the HTTP publish API (POST); empty means "+defaultPublishPath, func(c *Config) *string { return &c.API.PublishPath }),
		listSetting("api.keys", "LIST", "comma-separated API keys of the publish API (prefer the file or the variable: flags show in ps); none disables the API", func(c *Config) *[]string { return &c.API.Keys }),
		boolSetting("api.allow_loopback", "with no api.keys, let local clients publish without a key (never behind a local reverse proxy)", func(c *Config) *bool { return &c.API.AllowLoopback }),
		boolSetting("api.tokens", "accept the tokens of auth.jwt or hooks.connect_url on the publish API too, limited to the topics each identity may publish to (enables the API without api.keys)", func(c *Config) *bool { return &c.API.Tokens }),
		intSetting("api.max_body", "1048576", "largest publish API request in bytes", func(c *Config) *int { return &c.API.MaxBody }),
		stringSetting("hooks.connect_url", "URL", "HTTP backend asked whether a connection is allowed (and who it is)", func(c *Config) *string { return &c.Hooks.ConnectURL }),
		stringSetting("hooks.authorize_url", "URL", "HTTP backend asked whether a subscription or publication is allowed", func(c *Config) *string { return &c.Hooks.AuthorizeURL }),
		durationSetting("hooks.timeout", "5s", "deadline of a hook call; no answer refuses", func(c *Config) *time.Duration { return &c.Hooks.Timeout }),
		durationSetting("hooks.cache_ttl", "30s", "how long hook answers are kept (negative: not at all)", func(c *Config) *time.Duration { return &c.Hooks.CacheTTL }),
		listSetting("hooks.forward_headers", "LIST", "comma-separated handshake headers sent to the hooks (Cookie,Authorization)", func(c *Config) *[]string { return &c.Hooks.ForwardHeaders }),
	)
}

// validateBackends checks the backend sections; taken maps the paths
// already in use to their keys.
func (c *Config) validateBackends(bad func(key, format string, a ...any), taken map[string]string) {
	checkPath := func(key, p string) {
		switch {
		case !strings.HasPrefix(p, "/") || path.Clean(p) != p ||
			strings.ContainsFunc(p, func(r rune) bool { return !strings.ContainsRune(pathChars, r) }):
			bad(key, "%q is not a clean absolute path such as \"/tcp/mail\"", p)
		case reservedPaths[p]:
			bad(key, "%q is taken by another route", p)
		case taken[p] != "":
			bad(key, "%q is already the path of %s", p, taken[p])
		default:
			taken[p] = key
		}
	}
	checkURL := func(key, u string) {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(key, "%q is not an http(s) URL", u)
		}
	}

	for i, r := range c.Gateway.Routes {
		key := fmt.Sprintf("gateway.routes[%d]", i)
		checkPath(key+".path", r.Path)
		if host, port, err := net.SplitHostPort(r.Backend); err != nil || host == "" {
			bad(key+".backend", "%q is not host:port", r.Backend)
		} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			bad(key+".backend", "port %q of %q is not a number from 1 to 65535", port, r.Backend)
		}
		for _, o := range r.Origins {
			if _, err := path.Match(o, ""); err != nil || o == "" {
				bad(key+".origins", "%q is not a valid pattern", o)
			}
		}
		if r.AuthRequired && c.Hooks.ConnectURL == "" && !c.Auth.JWT.enabled() {
			bad(key+".auth_required", "needs hooks.connect_url or auth.jwt to authenticate with")
		}
		for _, p := range r.Subprotocols {
			if p == "" || p == "base64" || strings.ContainsAny(p, " ,") {
				bad(key+".subprotocols", "%q cannot be a binary subprotocol", p)
			}
		}
		if r.ConnectTimeout < 0 || r.IdleTimeout < 0 {
			bad(key, "timeouts must not be negative (0 means the default)")
		}
		if r.MaxMessageSize < 0 || r.Buffer < 0 {
			bad(key, "sizes must not be negative (0 means the default)")
		}
		t := r.TLS
		if !t.Enabled && (t.ServerName != "" || t.CAFile != "" || t.InsecureSkipVerify) {
			bad(key+".tls", "has settings but enabled is false")
		}
		if t.CAFile != "" {
			if _, err := loadCA(t.CAFile); err != nil {
				bad(key+".tls.ca_file", "%v", err)
			}
		}
	}

	seen := map[string]bool{}
	for i, r := range c.RPC.Routes {
		key := fmt.Sprintf("rpc.routes[%d]", i)
		name := "method " + r.Method
		switch {
		case (r.Method == "") == (r.Prefix == ""):
			bad(key, "needs exactly one of method and prefix")
		case r.Prefix != "":
			name = "prefix " + r.Prefix
		}
		if seen[name] {
			bad(key, "%s is bound twice", name)
		}
		seen[name] = true
		checkURL(key+".url", r.URL)
		if r.Timeout < 0 || r.MaxConcurrency < 0 {
			bad(key, "timeout and max_concurrency must not be negative (0 means the default)")
		}
	}

	if c.API.PublishPath != "" || c.API.enabled() {
		checkPath("api.publish_path", c.API.path())
	}
	for _, k := range c.API.Keys {
		if len(k) < 16 {
			bad("api.keys", "a key of %d characters is too easy to guess; use at least 16", len(k))
		}
	}
	if c.API.Tokens && c.Hooks.ConnectURL == "" && !c.Auth.JWT.enabled() {
		bad("api.tokens", "needs hooks.connect_url or auth.jwt to authenticate with")
	}
	if c.API.MaxBody < 0 {
		bad("api.max_body", "%d is negative (0 means the default)", c.API.MaxBody)
	}

	if c.Hooks.Timeout < 0 {
		bad("hooks.timeout", "%v is negative (0 means the default)", c.Hooks.Timeout)
	}
	for key, u := range map[string]string{"hooks.connect_url": c.Hooks.ConnectURL, "hooks.authorize_url": c.Hooks.AuthorizeURL} {
		if u != "" {
			checkURL(key, u)
		}
	}
}

func (a *APIConfig) enabled() bool { return len(a.Keys) > 0 || a.AllowLoopback || a.Tokens }

func (a *APIConfig) path() string {
	if a.PublishPath == "" {
		return defaultPublishPath
	}
	return a.PublishPath
}

func loadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// applyHooks installs the HTTP hooks, if configured, in opts.
func applyHooks(c *Config, opts *herald.Options) error {
	if c.Hooks.ConnectURL == "" && c.Hooks.AuthorizeURL == "" {
		return nil
	}
	h, err := httphook.New(httphook.Options{
		ConnectURL: c.Hooks.ConnectURL, AuthorizeURL: c.Hooks.AuthorizeURL,
		Timeout: c.Hooks.Timeout, CacheTTL: c.Hooks.CacheTTL, ForwardHeaders: c.Hooks.ForwardHeaders,
	})
	if err != nil {
		return err
	}
	h.Apply(opts)
	return nil
}

// mountBackends adds the gateway routes and the publish API to mux and
// binds the RPC routes on srv.
func mountBackends(c *Config, srv *herald.Server, mux *http.ServeMux, logger *slog.Logger) error {
	for _, r := range c.Gateway.Routes {
		route := herald.GatewayRoute{
			Name: r.Path, Backend: r.Backend, AllowedOrigins: r.Origins, AuthRequired: r.AuthRequired,
			MaxConns: r.MaxConns, ConnectTimeout: r.ConnectTimeout, IdleTimeout: r.IdleTimeout,
			Subprotocols: r.Subprotocols, MaxMessageSize: r.MaxMessageSize, Buffer: r.Buffer,
		}
		if r.TLS.Enabled {
			route.TLS = &tls.Config{ServerName: r.TLS.ServerName, InsecureSkipVerify: r.TLS.InsecureSkipVerify}
			if r.TLS.CAFile != "" {
				pool, err := loadCA(r.TLS.CAFile)
				if err != nil {
					return fmt.Errorf("gateway route %s: %w", r.Path, err)
				}
				route.TLS.RootCAs = pool
			}
			if r.TLS.InsecureSkipVerify {
				logger.Warn("gateway route does not verify its backend's certificate", "path", r.Path, "backend", r.Backend)
			}
		}
		mux.Handle("GET "+r.Path, srv.GatewayHandler(route))
		logger.Info("gateway route", "path", r.Path, "backend", r.Backend, "tls", r.TLS.Enabled, "auth_required", r.AuthRequired)
	}
	for _, r := range c.RPC.Routes {
		p, err := rpcproxy.New(rpcproxy.Route{URL: r.URL, Timeout: r.Timeout, MaxConcurrency: r.MaxConcurrency, ForwardHeaders: r.ForwardHeaders})
		if err != nil {
			return err
		}
		if r.Prefix != "" {
			srv.HandlePrefix(r.Prefix, p.Handle)
			logger.Info("rpc route", "prefix", r.Prefix, "url", r.URL)
		} else {
			srv.Handle(r.Method, p.Handle)
			logger.Info("rpc route", "method", r.Method, "url", r.URL)
		}
	}
	if c.API.enabled() {
		api := srv.PublishHandler(herald.PublishAPIOptions{
			Keys: c.API.Keys, AllowLoopbackWithoutKey: c.API.AllowLoopback, MaxBodyBytes: int64(c.API.MaxBody),
			KeysOnly: !c.API.Tokens,
		})
		mux.Handle("POST "+c.API.path(), api)
		if c.API.Tokens {
			mux.Handle("OPTIONS "+c.API.path(), api) // CORS preflight for pages of allowed origins
		}
		logger.Info("publish API", "path", c.API.path(), "keys", len(c.API.Keys), "tokens", c.API.Tokens, "loopback_without_key", c.API.AllowLoopback && len(c.API.Keys) == 0)
	}
	return nil
}
