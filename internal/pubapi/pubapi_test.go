package pubapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

// recorder publishes into a slice, numbering messages per topic.
type recorder struct {
	msgs []*message.Message
	err  error
}

func (r *recorder) publish(_ context.Context, m *message.Message) error {
	if r.err != nil {
		return r.err
	}
	m.Epoch = "e1"
	m.Seq = uint64(len(r.msgs) + 1)
	r.msgs = append(r.msgs, m)
	return nil
}

type call struct {
	method, body, ctype, auth, remote string
	hdr                               map[string]string
}

func do(t *testing.T, h http.Handler, c call) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	r := httptest.NewRequest(c.method, "/api/publish", strings.NewReader(c.body))
	if c.ctype != "-" {
		if c.ctype == "" {
			c.ctype = "application/json"
		}
		r.Header.Set("Content-Type", c.ctype)
	}
	if c.auth != "" {
		r.Header.Set("Authorization", c.auth)
	}
	if c.remote != "" {
		r.RemoteAddr = c.remote
	}
	for k, v := range c.hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var body map[string]any
	json.Unmarshal(w.Body.Bytes(), &body)
	return w, body
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestRefusals(t *testing.T) {
	rec := &recorder{}
	h := New(Options{Keys: []string{"k1", "k2-longer"}, MaxBody: 200, MaxBatch: 3, Publish: rec.publish})
	const ok = `{"topic":"a","data":1}`
	tests := []struct {
		name   string
		c      call
		status int
		code   string
		msg    string // substring of the message
	}{
		{"GET", call{method: "GET", auth: "Bearer k1"}, 405, "method_not_allowed", "POST"},
		{"no key", call{body: ok}, 401, "unauthorized", "Authorization: Bearer"},
		{"basic auth", call{body: ok, auth: "Basic azE6"}, 401, "unauthorized", "required"},
		{"wrong key", call{body: ok, auth: "Bearer k3"}, 401, "unauthorized", "not valid"},
		{"key prefix", call{body: ok, auth: "Bearer k"}, 401, "unauthorized", "not valid"},
		{"text body", call{body: ok, auth: "Bearer k1", ctype: "text/plain"}, 415, "unsupported_media_type", "application/json"},
		{"no content type", call{body: ok, auth: "Bearer k1", ctype: "-"}, 415, "unsupported_media_type", ""},
		{"too large", call{body: `{"topic":"a","data":"` + strings.Repeat("x", 300) + `"}`, auth: "Bearer k1"}, 413, "too_large", "200 bytes"},
		{"empty", call{body: " ", auth: "Bearer k1"}, 400, "bad_request", "empty"},
		{"bad JSON", call{body: `{"topic":`, auth: "Bearer k1"}, 400, "bad_request", "invalid JSON"},
		{"trailing data", call{body: ok + ok, auth: "Bearer k1"}, 400, "bad_request", "after the value"},
		{"unknown field", call{body: `{"topic":"a","dta":1}`, auth: "Bearer k1"}, 400, "bad_request", "dta"},
		{"wrong type", call{body: `{"topic":5}`, auth: "Bearer k1"}, 400, "bad_request", "topic"},
		{"no topic", call{body: `{"data":1}`, auth: "Bearer k1"}, 400, "bad_request", `"topic" is required`},
		{"wildcard topic", call{body: `{"topic":"a/+","data":1}`, auth: "Bearer k1"}, 400, "bad_request", `topic "a/+"`},
		{"bad encoding", call{body: `{"topic":"a","data":"x","encoding":"hex"}`, auth: "Bearer k1"}, 400, "bad_request", "hex"},
		{"base64 object", call{body: `{"topic":"a","data":{},"encoding":"base64"}`, auth: "Bearer k1"}, 400, "bad_request", "base64 string"},
		{"bad base64", call{body: `{"topic":"a","data":"!!","encoding":"base64"}`, auth: "Bearer k1"}, 400, "bad_request", "not valid base64"},
		{"empty batch", call{body: `[]`, auth: "Bearer k1"}, 400, "bad_request", "empty"},
		{"batch too long", call{body: `[` + ok + `,` + ok + `,` + ok + `,` + ok + `]`, auth: "Bearer k1"}, 400, "bad_request", "at most 3"},
		{"bad message in batch", call{body: `[` + ok + `,{"topic":""}]`, auth: "Bearer k1"}, 400, "bad_request", "message 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, body := do(t, h, tt.c)
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if w.Code != tt.status || errCode(body) != tt.code || !strings.Contains(msg, tt.msg) {
				t.Fatalf("%d %s, want %d %s containing %q", w.Code, w.Body, tt.status, tt.code, tt.msg)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
	if len(rec.msgs) != 0 {
		t.Fatalf("refused requests published %d messages", len(rec.msgs))
	}
	if w, _ := do(t, h, call{body: ok}); w.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestPublishOneAndBatch(t *testing.T) {
	rec := &recorder{}
	h := New(Options{Keys: []string{"k1", "k2"}, Publish: rec.publish})
	w, body := do(t, h, call{auth: "Bearer k2", ctype: "application/json; charset=utf-8",
		body: `{"topic":"orders/42","data":{"status":"shipped"},"headers":{"z":"1","a":"2"}}`})
	if w.Code != 200 || body["topic"] != "orders/42" || body["epoch"] != "e1" || body["seq"] != float64(1) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	m := rec.msgs[0]
	if m.ContentType != "application/json" || string(m.Data) != `{"status":"shipped"}` {
		t.Fatalf("message %q %q", m.ContentType, m.Data)
	}
	if len(m.Headers) != 2 || m.Headers[0].Key != "a" || m.Headers[1] != (message.Header{Key: "z", Value: "1"}) {
		t.Fatalf("headers %v, want sorted", m.Headers)
	}

	w, _ = do(t, h, call{auth: "bearer k1",
		body: `[{"topic":"t/text","data":"héllo"},{"topic":"t/bin","data":"AAH/","encoding":"base64"},{"topic":"t/null"}]`})
	var results []Result
	json.Unmarshal(w.Body.Bytes(), &results)
	if w.Code != 200 || len(results) != 3 || results[0].Topic != "t/text" || results[2].Seq != 4 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	text, bin, null := rec.msgs[1], rec.msgs[2], rec.msgs[3]
	if text.ContentType != "text/plain; charset=utf-8" || string(text.Data) != "héllo" {
		t.Errorf("text: %q %q", text.ContentType, text.Data)
	}
	if bin.ContentType != "application/octet-stream" || string(bin.Data) != "\x00\x01\xff" {
		t.Errorf("binary: %q %q", bin.ContentType, bin.Data)
	}
	if null.ContentType != "application/json" || string(null.Data) != "null" {
		t.Errorf("no data: %q %q", null.ContentType, null.Data)
	}
}

func TestPublishFailure(t *testing.T) {
	rec := &recorder{err: errors.New("server closed")}
	h := New(Options{Keys: []string{"k"}, Publish: rec.publish})
	w, body := do(t, h, call{auth: "Bearer k", body: `{"topic":"a","data":1}`})
	if w.Code != 503 || errCode(body) != "unavailable" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestDisabledWithoutKeys: the secure default.
func TestDisabledWithoutKeys(t *testing.T) {
	rec := &recorder{}
	for _, keys := range [][]string{nil, {""}} {
		h := New(Options{Keys: keys, Publish: rec.publish})
		w, body := do(t, h, call{body: `{"topic":"a","data":1}`, remote: "127.0.0.1:5000"})
		if w.Code != 404 || errCode(body) != "disabled" {
			t.Fatalf("keys %q: %d %s", keys, w.Code, w.Body)
		}
	}
}

// TestLoopbackWithoutKeys: opened for loopback only, and never for a
// request relayed by a proxy.
func TestLoopbackWithoutKeys(t *testing.T) {
	rec := &recorder{}
	h := New(Options{Loopback: true, Publish: rec.publish})
	const ok = `{"topic":"a","data":1}`
	for _, tt := range []struct {
		remote string
		hdr    map[string]string
		status int
	}{
		{"127.0.0.1:5000", nil, 200},
		{"[::1]:5000", nil, 200},
		{"192.0.2.7:5000", nil, 403},
		{"127.0.0.1:5000", map[string]string{"X-Forwarded-For": "192.0.2.7"}, 403},
		{"127.0.0.1:5000", map[string]string{"Forwarded": "for=192.0.2.7"}, 403},
	} {
		if w, _ := do(t, h, call{body: ok, remote: tt.remote, hdr: tt.hdr}); w.Code != tt.status {
			t.Errorf("%s %v: %d %s, want %d", tt.remote, tt.hdr, w.Code, w.Body, tt.status)
		}
	}
}
