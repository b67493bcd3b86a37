// Package pubapi is the HTTP publish API: POST a message, or a batch, and
// every subscriber of the topic receives it on whatever protocol it
// speaks. It is how a backend in any language pushes through Herald.
//
//	POST /api/publish
//	Authorization: Bearer <api key, or a token for the server's Authenticator>
//	Content-Type: application/json
//
//	{"topic": "orders/42", "data": {"status": "shipped"}, "headers": {"k": "v"}}
//	[{"topic": "a", "data": "text"}, {"topic": "b", "data": "AAEC", "encoding": "base64"}]
//
// data maps to message bytes exactly as the native protocol's publish
// method does (native.DecodeData): a JSON string is text, base64 with
// "encoding": "base64" is bytes, anything else is JSON. The answer is the
// message's position, {"topic","epoch","seq"}, or an array of them for a
// batch, in order. A batch is checked whole, including every topic's
// publish permission, before anything is published.
package pubapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/native"
	"github.com/heraldhq/herald/internal/topic"
)

// Defaults for Options' zero fields.
const (
	DefaultMaxBody  = 1 << 20
	DefaultMaxBatch = 1000
)

// Options configure the handler.
type Options struct {
	// Keys are the API keys accepted as "Authorization: Bearer <key>".
	Keys []string
	// Loopback, when Keys is empty, accepts requests without a key from
	// loopback addresses that carry no proxy headers (Forwarded,
	// X-Forwarded-For, X-Real-IP). Without keys and without Loopback the
	// API is disabled: every request gets 404.
	Loopback bool
	// MaxBody bounds the request body (413 beyond); default 1 MiB.
	MaxBody int64
	// MaxBatch bounds the messages of one request; default 1000.
	MaxBatch int
	// Authenticate, when set, verifies the credentials of a request that
	// does not present an API key (auth.go): a token in the Authorization
	// header, an access_token parameter or a cookie. It also enables the
	// API when Keys is empty.
	Authenticate Authenticator
	// Preflight, when set, answers CORS preflight (OPTIONS) requests, so
	// pages of allowed origins can POST with a token.
	Preflight http.HandlerFunc
	// Publish publishes a message for the server (no client, no
	// authorization hook) and fills in its position.
	Publish func(ctx context.Context, m *message.Message) error
	Logger  *slog.Logger
}

type handler struct {
	o    Options
	keys [][32]byte // SHA-256 of each key: comparisons take the same time whatever the lengths
}

// New returns the publish API handler.
func New(o Options) http.Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{o: o}
	for _, k := range o.Keys {
		if k != "" {
			h.keys = append(h.keys, sha256.Sum256([]byte(k)))
		}
	}
	return h
}

// Request is one message to publish.
type Request struct {
	Topic    string            `json:"topic"`
	Data     json.RawMessage   `json:"data"`
	Encoding string            `json:"encoding,omitempty"` // "base64" for binary data
	Headers  map[string]string `json:"headers,omitempty"`
}

// Result is a published message's position.
type Result struct {
	Topic string `json:"topic"`
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// apiError is the body of every error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.keys) == 0 && !h.o.Loopback && h.o.Authenticate == nil {
		fail(w, http.StatusNotFound, "disabled", "the publish API is disabled: no API key is configured")
		return
	}
	if r.Method == http.MethodOptions && h.o.Preflight != nil {
		h.o.Preflight(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	authorize, status, code, msg := h.authenticate(w, r)
	if status != 0 {
		if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		}
		fail(w, status, code, msg)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body exceeds %d bytes", h.o.MaxBody))
			return
		}
		fail(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error())
		return
	}
	reqs, batch, err := h.parse(body)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	msgs := make([]*message.Message, len(reqs))
	for i, rq := range reqs {
		m, err := toMessage(rq)
		if err != nil {
			if batch {
				err = fmt.Errorf("message %d: %w", i, err)
			}
			fail(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		msgs[i] = m
	}
	if authorize != nil {
		// Every topic is checked before anything is published: a batch
		// with one forbidden topic publishes nothing.
		for i, m := range msgs {
			if err := authorize(r.Context(), m.Topic); err != nil {
				msg := err.Error()
				if batch {
					msg = fmt.Sprintf("message %d: %s (nothing was published)", i, msg)
				}
				fail(w, http.StatusForbidden, "forbidden", msg)
				return
			}
		}
	}
	results := make([]Result, 0, len(msgs))
	for i, m := range msgs {
		if err := h.o.Publish(r.Context(), m); err != nil {
			h.o.Logger.Warn("publish API: publish failed", "topic", m.Topic, "err", err)
			msg := "publishing failed: " + err.Error()
			if batch {
				msg = fmt.Sprintf("message %d: %s (the %d before it were published)", i, msg, i)
			}
			fail(w, http.StatusServiceUnavailable, "unavailable", msg)
			return
		}
		results = append(results, Result{Topic: m.Topic, Epoch: m.Epoch, Seq: m.Seq})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	if batch {
		enc.Encode(results)
		return
	}
	enc.Encode(results[0])
}

// parse reads one message or a batch (a JSON array).
func (h *handler) parse(body []byte) ([]Request, bool, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false, errors.New(`the body is empty; send {"topic": ..., "data": ...} or an array of them`)
	}
	batch := body[0] == '['
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var reqs []Request
	if batch {
		if err := dec.Decode(&reqs); err != nil {
			return nil, true, jsonError(err)
		}
		if len(reqs) == 0 {
			return nil, true, errors.New("the batch is empty")
		}
		if len(reqs) > h.o.MaxBatch {
			return nil, true, fmt.Errorf("the batch has %d messages; at most %d per request", len(reqs), h.o.MaxBatch)
		}
	} else {
		var one Request
		if err := dec.Decode(&one); err != nil {
			return nil, false, jsonError(err)
		}
		reqs = []Request{one}
	}
	if dec.More() {
		return nil, batch, errors.New("invalid JSON: unexpected data after the value")
	}
	return reqs, batch, nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Errorf("invalid JSON: %s must be %s, not %s", fieldName(te.Field), te.Type, te.Value)
	}
	return fmt.Errorf("invalid JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return "field " + f
}

// toMessage checks one request and builds its message.
func toMessage(rq Request) (*message.Message, error) {
	if rq.Topic == "" {
		return nil, errors.New(`"topic" is required`)
	}
	if err := topic.ValidName(rq.Topic); err != nil {
		return nil, fmt.Errorf("topic %q: %v", rq.Topic, err)
	}
	switch rq.Encoding {
	case "":
	case "base64":
		if len(rq.Data) == 0 || rq.Data[0] != '"' {
			return nil, errors.New(`"encoding": "base64" needs "data" to be a base64 string`)
		}
	default:
		return nil, fmt.Errorf(`"encoding" %q is not supported (only "base64")`, rq.Encoding)
	}
	m := &message.Message{Topic: rq.Topic}
	if err := native.DecodeData(m, rq.Data, rq.Encoding); err != nil {
		if errors.Is(err, native.ErrBadBase64) {
			return nil, native.ErrBadBase64
		}
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(rq.Headers)) {
		m.Headers = append(m.Headers, message.Header{Key: k, Value: rq.Headers[k]})
	}
	return m, nil
}
