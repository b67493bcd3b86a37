// Package rpcproxy binds request methods to an HTTP backend, so that an
// application in any language answers Herald requests: a registered
// handler (herald.Server.Handle or HandlePrefix) that POSTs each request
// to a URL and returns the answer. Being a handler, it serves every
// protocol that makes requests: native JSON-RPC, STOMP and MQTT 5
// request/response.
//
// # The exchange
//
//	POST <url>
//	Content-Type: application/json
//	X-Herald-Method: orders.create
//	X-Herald-Client-Id: <session id>
//	<each configured forwarded header of the client's handshake, e.g. Cookie>
//
//	{"method": "orders.create", "params": <the request's params or null>,
//	 "client": {"id": "...", "subject": "...", "claims": {...},
//	            "remote_addr": "...", "protocol": "herald.v1", "transport": "websocket"}}
//
// A 2xx answer's body is the result (JSON; an empty body is null). A 4xx
// or 5xx answer whose body is a JSON error object, {"code": -32602,
// "message": "..."[, "data": ...]} or the same under "error", is that
// error; any other failure is one of the codes below.
package rpcproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"time"

	"github.com/heraldhq/herald"
)

// Error codes of failures that are not the backend's own answer, in the
// JSON-RPC server error range.
const (
	CodeOverloaded   = -32005 // the route's concurrency limit was full for the whole timeout
	CodeTimeout      = -32008 // the backend did not answer within the timeout
	CodeUnavailable  = -32010 // the backend could not be reached
	CodeBackendError = -32011 // the backend answered with an error that is not a JSON error object, or with an invalid body
)

// Defaults for Route's zero fields.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxConcurrency = 64
	DefaultMaxResponse    = 4 << 20
)

// Route binds requests to an HTTP backend.
type Route struct {
	// URL receives the POSTs (http or https).
	URL string
	// Timeout bounds a request, waiting for a concurrency slot included;
	// default 10s. The server's request timeout applies too.
	Timeout time.Duration
	// MaxConcurrency bounds the requests in flight to the backend;
	// default 64. Requests beyond it wait for a slot up to the timeout.
	MaxConcurrency int
	// ForwardHeaders names handshake headers passed on (Cookie,
	// Authorization, ...). Nothing else of the client's is forwarded.
	ForwardHeaders []string
	// MaxResponse bounds the backend's answer; default 4 MiB.
	MaxResponse int64
	// Client sends the requests; default one with its own transport.
	Client *http.Client
}

// Proxy is a Route in service.
type Proxy struct {
	r    Route
	sem  chan struct{}
	hdrs []string // canonical forwarded header names
}

// New checks r and returns its proxy.
func New(r Route) (*Proxy, error) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("rpcproxy: %q is not an http(s) URL", r.URL)
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.MaxConcurrency <= 0 {
		r.MaxConcurrency = DefaultMaxConcurrency
	}
	if r.MaxResponse <= 0 {
		r.MaxResponse = DefaultMaxResponse
	}
	if r.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = r.MaxConcurrency
		r.Client = &http.Client{Transport: t}
	}
	p := &Proxy{r: r, sem: make(chan struct{}, r.MaxConcurrency)}
	for _, h := range r.ForwardHeaders {
		p.hdrs = append(p.hdrs, textproto.CanonicalMIMEHeaderKey(h))
	}
	return p, nil
}

// clientInfo is who made the request.
type clientInfo struct {
	ID         string         `json:"id"`
	Subject    string         `json:"subject,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	RemoteAddr string         `json:"remote_addr,omitempty"`
	Protocol   string         `json:"protocol,omitempty"`
	Transport  string         `json:"transport,omitempty"`
}

type envelope struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Client *clientInfo     `json:"client,omitempty"`
}

// Handle is the herald.HandlerFunc: register it with Handle or
// HandlePrefix.
func (p *Proxy) Handle(ctx context.Context, params json.RawMessage) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, p.r.Timeout)
	defer cancel()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &herald.Error{Code: CodeOverloaded, Message: "too many requests in flight to the backend"}
		}
		return nil, ctx.Err()
	}
	defer func() { <-p.sem }()

	method, _ := herald.MethodFromContext(ctx)
	env := envelope{Method: method, Params: params}
	if env.Params == nil {
		env.Params = json.RawMessage("null")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.r.URL, nil)
	if err != nil {
		return nil, err
	}
	if c, ok := herald.ClientFromContext(ctx); ok {
		env.Client = &clientInfo{
			ID: c.ID, Subject: c.Identity.Subject, Claims: c.Identity.Claims,
			RemoteAddr: c.RemoteAddr, Protocol: c.Protocol, Transport: c.Transport,
		}
		req.Header.Set("X-Herald-Client-Id", c.ID)
		if len(p.hdrs) > 0 {
			h := c.Header()
			for _, k := range p.hdrs {
				for _, v := range h[k] {
					req.Header.Add(k, v)
				}
			}
		}
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("rpcproxy: encoding the request: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Herald-Method", method)

	resp, err := p.r.Client.Do(req)
	if err != nil {
		return nil, p.failure(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, p.r.MaxResponse+1))
	if err != nil {
		return nil, p.failure(ctx, err)
	}
	if int64(len(data)) > p.r.MaxResponse {
		return nil, &herald.Error{Code: CodeBackendError, Message: "backend error: answer too large"}
	}
	data = bytes.TrimSpace(data)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if len(data) == 0 {
			return nil, nil
		}
		if !json.Valid(data) {
			return nil, &herald.Error{Code: CodeBackendError, Message: "backend error: the answer is not JSON"}
		}
		return json.RawMessage(data), nil
	}
	if e := rpcError(data); e != nil {
		return nil, e
	}
	return nil, &herald.Error{Code: CodeBackendError, Message: fmt.Sprintf("backend error: HTTP %d", resp.StatusCode), Data: map[string]int{"status": resp.StatusCode}}
}

// failure maps a transport error: our deadline is a timeout; the
// caller's cancellation passes through; anything else means the backend
// could not be reached.
func (p *Proxy) failure(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &herald.Error{Code: CodeTimeout, Message: "request timed out"}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return &herald.Error{Code: CodeUnavailable, Message: "backend unavailable"}
}

// rpcError reads a JSON error object, at the top or under "error".
func rpcError(data []byte) *herald.Error {
	type obj struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	var top struct {
		obj
		Error *obj `json:"error"`
	}
	if json.Unmarshal(data, &top) != nil {
		return nil
	}
	o := &top.obj
	if top.Error != nil {
		o = top.Error
	}
	if o.Code == nil || o.Message == "" {
		return nil
	}
	e := &herald.Error{Code: *o.Code, Message: o.Message}
	if len(o.Data) > 0 {
		e.Data = o.Data
	}
	return e
}
