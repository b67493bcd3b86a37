// Package httphook asks an HTTP backend whether a connection, a
// subscription or a publication is allowed: the standalone binary's
// OnConnect and Authorize hooks, for applications not written in Go.
// Answers are cached for a while, failures never: when the backend
// cannot answer in time, the request is refused (fail closed).
//
// # Connect
//
//	POST <connect_url>   (with the configured handshake headers, e.g. Cookie)
//	{"remote_addr": "...", "protocol": "herald.v1", "transport": "websocket",
//	 "path": "/ws", "login": "...", "passcode": "..."}
//
// 2xx accepts, with an optional body {"subject": "alice", "claims": {...}};
// 401 refuses as unauthenticated, 403 as forbidden (a JSON {"message"}
// becomes the reason).
//
// # Authorize
//
//	POST <authorize_url>   (with the same headers, from the handshake)
//	{"action": "subscribe" | "publish", "topic": "orders/+",
//	 "client": {"id", "subject", "claims", "remote_addr", "protocol", "transport"}}
//
// 2xx allows; 401 or 403 refuses.
//
// # Caching
//
// An answer (accept or refuse) is kept for the configured TTL, or for the
// backend's Cache-Control max-age; "no-store" keeps nothing. Connect
// answers are keyed by the client's IP address and credentials (the
// forwarded headers, login, passcode) and endpoint; authorize answers by
// identity (subject and claims), action and topic.
package httphook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald"
)

// Defaults for Options' zero fields.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultCacheTTL  = 30 * time.Second
	DefaultCacheSize = 10000
)

// Options configure the hooks.
type Options struct {
	ConnectURL   string // "" for no connect hook
	AuthorizeURL string // "" for no authorize hook
	// Timeout bounds one call; default 5s.
	Timeout time.Duration
	// CacheTTL is how long an answer is kept; default 30s, negative
	// keeps none.
	CacheTTL time.Duration
	// CacheSize bounds the entries kept per hook; default 10000.
	CacheSize int
	// ForwardHeaders names handshake headers sent along (Cookie,
	// Authorization).
	ForwardHeaders []string
	Client         *http.Client
}

// Hooks calls the backend.
type Hooks struct {
	o        Options
	hdrs     []string
	connects cache[herald.Identity]
	authz    cache[struct{}]
}

// New checks o.
func New(o Options) (*Hooks, error) {
	for _, u := range []string{o.ConnectURL, o.AuthorizeURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("httphook: %q is not an http(s) URL", u)
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	h := &Hooks{o: o}
	h.connects.max, h.authz.max = o.CacheSize, o.CacheSize
	for _, k := range o.ForwardHeaders {
		h.hdrs = append(h.hdrs, textproto.CanonicalMIMEHeaderKey(k))
	}
	return h, nil
}

// Apply installs the configured hooks in opts.
func (h *Hooks) Apply(opts *herald.Options) {
	if h.o.ConnectURL != "" {
		opts.OnConnect = h.Connect
	}
	if h.o.AuthorizeURL != "" {
		opts.Authorize = h.Authorize
	}
}

type connectBody struct {
	RemoteAddr string `json:"remote_addr"`
	Protocol   string `json:"protocol"`
	Transport  string `json:"transport"`
	Path       string `json:"path,omitempty"`
	Login      string `json:"login,omitempty"`
	Passcode   string `json:"passcode,omitempty"`
}

// Connect is the OnConnect hook.
func (h *Hooks) Connect(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
	key := h.key(hostOf(r.RemoteAddr), r.Protocol, r.Transport, r.Path, r.Login, r.Passcode, h.forwarded(r.Header))
	if id, err, ok := h.connects.get(key); ok {
		return id, err
	}
	body := connectBody{RemoteAddr: r.RemoteAddr, Protocol: r.Protocol, Transport: r.Transport, Path: r.Path, Login: r.Login, Passcode: r.Passcode}
	status, data, ttl, err := h.post(ctx, h.o.ConnectURL, body, r.Header)
	if err != nil {
		return herald.Identity{}, fmt.Errorf("%w: the authentication backend did not answer", herald.ErrUnauthorized)
	}
	var id herald.Identity
	var res error
	switch {
	case status >= 200 && status < 300:
		var ans struct {
			Subject string         `json:"subject"`
			Claims  map[string]any `json:"claims"`
		}
		if len(bytes.TrimSpace(data)) > 0 && json.Unmarshal(data, &ans) != nil {
			return herald.Identity{}, fmt.Errorf("%w: the authentication backend's answer is not JSON", herald.ErrUnauthorized)
		}
		id = herald.Identity{Subject: ans.Subject, Claims: ans.Claims}
	case status == http.StatusUnauthorized:
		res = refusal(herald.ErrUnauthorized, data)
	case status == http.StatusForbidden:
		res = refusal(herald.ErrForbidden, data)
	default:
		return herald.Identity{}, fmt.Errorf("%w: the authentication backend failed (HTTP %d)", herald.ErrUnauthorized, status)
	}
	h.connects.put(key, id, res, h.ttl(ttl))
	return id, res
}

type authorizeBody struct {
	Action string     `json:"action"`
	Topic  string     `json:"topic"`
	Client clientJSON `json:"client"`
}

type clientJSON struct {
	ID         string         `json:"id"`
	Subject    string         `json:"subject,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	RemoteAddr string         `json:"remote_addr"`
	Protocol   string         `json:"protocol"`
	Transport  string         `json:"transport"`
}

// Authorize is the Authorize hook.
func (h *Hooks) Authorize(ctx context.Context, c *herald.Client, a herald.Action, topic string) error {
	claims, _ := json.Marshal(c.Identity.Claims)
	who := c.Identity.Subject
	if who == "" {
		who = "anonymous@" + hostOf(c.RemoteAddr)
	}
	key := h.key(who, string(claims), a.String(), topic)
	if _, err, ok := h.authz.get(key); ok {
		return err
	}
	body := authorizeBody{Action: a.String(), Topic: topic, Client: clientJSON{
		ID: c.ID, Subject: c.Identity.Subject, Claims: c.Identity.Claims,
		RemoteAddr: c.RemoteAddr, Protocol: c.Protocol, Transport: c.Transport,
	}}
	var hdr http.Header
	if len(h.hdrs) > 0 {
		hdr = c.Header()
	}
	status, data, ttl, err := h.post(ctx, h.o.AuthorizeURL, body, hdr)
	if err != nil {
		return fmt.Errorf("%w: the authorization backend did not answer", herald.ErrForbidden)
	}
	var res error
	switch {
	case status >= 200 && status < 300:
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		res = refusal(herald.ErrForbidden, data)
	default:
		return fmt.Errorf("%w: the authorization backend failed (HTTP %d)", herald.ErrForbidden, status)
	}
	h.authz.put(key, struct{}{}, res, h.ttl(ttl))
	return res
}

// post sends body and returns the status, the body (up to 64 KiB) and
// the backend's max-age (-1 for no-store, 0 for none).
func (h *Hooks) post(ctx context.Context, u string, body any, hdr http.Header) (int, []byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return 0, nil, 0, err
	}
	for _, k := range h.hdrs {
		for _, v := range hdr[k] {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := h.o.Client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, 0, err
	}
	return resp.StatusCode, data, maxAge(resp.Header.Get("Cache-Control")), nil
}

// maxCacheAge bounds a backend's max-age, in seconds: answers are
// reconsidered at least daily.
const maxCacheAge = 24 * 60 * 60

// maxAge reads Cache-Control: -1 for no-store (or no-cache), the max-age,
// or 0 when it says neither.
func maxAge(cc string) time.Duration {
	for d := range strings.SplitSeq(cc, ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return -1
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(d[len("max-age="):]); err == nil {
				if n <= 0 {
					return -1
				}
				// Capped: a huge max-age would overflow Duration into a
				// negative (never cached) or, worse, a wrapped value.
				return time.Duration(min(n, maxCacheAge)) * time.Second
			}
		}
	}
	return 0
}

func (h *Hooks) ttl(backend time.Duration) time.Duration {
	if backend != 0 {
		return backend
	}
	return h.o.CacheTTL
}

func (h *Hooks) forwarded(hdr http.Header) string {
	var b strings.Builder
	for _, k := range h.hdrs {
		b.WriteString(k)
		b.WriteByte(0)
		for _, v := range hdr[k] {
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}

// key hashes parts, so that credentials are not kept in the clear.
func (h *Hooks) key(parts ...string) string {
	s := sha256.New()
	for _, p := range parts {
		s.Write([]byte(strconv.Itoa(len(p))))
		s.Write([]byte{0})
		s.Write([]byte(p))
	}
	return string(s.Sum(nil))
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// refusal wraps sentinel with the backend's {"message"}, if any.
func refusal(sentinel error, data []byte) error {
	var ans struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &ans) == nil && ans.Message != "" {
		return fmt.Errorf("%w: %s", sentinel, ans.Message)
	}
	return sentinel
}

// cache is a bounded map of answers with expiry times.
type cache[T any] struct {
	mu  sync.Mutex
	max int
	m   map[string]entry[T]
}

type entry[T any] struct {
	v   T
	err error
	exp time.Time
}

func (c *cache[T]) get(k string) (T, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Now().After(e.exp) {
		var zero T
		return zero, nil, false
	}
	return e.v, e.err, true
}

func (c *cache[T]) put(k string, v T, err error, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]entry[T])
	}
	if len(c.m) >= c.max {
		now := time.Now()
		for k, e := range c.m {
			if now.After(e.exp) {
				delete(c.m, k)
			}
		}
		// Still full: drop arbitrary entries (map order) to make room
		// for a tenth, rather than grow.
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[k] = entry[T]{v: v, err: err, exp: time.Now().Add(ttl)}
}
