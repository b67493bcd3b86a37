package pubapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/topic"
)

// FuzzPublishBody: any body gets a JSON answer, 200 only when every
// message was valid and published, and nothing is published otherwise.
func FuzzPublishBody(f *testing.F) {
	for _, s := range []string{
		`{"topic":"a/b","data":{"x":1}}`,
		`[{"topic":"a","data":"t"},{"topic":"b","data":"AAE=","encoding":"base64","headers":{"k":"v"}}]`,
		`{"topic":"a/+"}`, `[]`, `{"topic":"a","data":"!!","encoding":"base64"}`, `[{"topic":"a"}] x`, `{"topic":"\u0000"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := &recorder{}
		h := New(Options{Keys: []string{"k"}, Publish: rec.publish})
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %q is not JSON", w.Body)
		}
		switch w.Code {
		case 200:
			if len(rec.msgs) == 0 {
				t.Fatal("200 without publishing")
			}
			for _, m := range rec.msgs {
				if topic.ValidName(m.Topic) != nil {
					t.Fatalf("published to invalid topic %q", m.Topic)
				}
			}
		case 400, 413:
			if len(rec.msgs) != 0 {
				t.Fatalf("%d with %d messages published", w.Code, len(rec.msgs))
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// FuzzAuthorization: any Authorization header and cookie gets a JSON
// answer; only the key or a token the Authenticator accepts for the
// topic publishes, and a key never reaches the Authenticator.
func FuzzAuthorization(f *testing.F) {
	for _, s := range [][2]string{
		{"Bearer k", ""}, {"bearer  k ", ""}, {"Bearer tok-chat/*", ""}, {"Bearer tok-news/*", ""},
		{"Bearer expired", ""}, {"Basic azE6", ""}, {"Bearer", "sess=tok-chat/*"}, {"", "sess=expired; a=b"},
		{"Bearer " + strings.Repeat("k", 20000), ""}, {"Bearer k\x00", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, cookie string) {
		rec, a := &recorder{}, &tokenAuth{}
		h := New(Options{Keys: []string{"k"}, Publish: rec.publish, Authenticate: a.authenticate})
		r := httptest.NewRequest("POST", "/", strings.NewReader(`{"topic":"chat/a","data":1}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header["Authorization"] = []string{authz}
		r.Header["Cookie"] = []string{cookie}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %q is not JSON", w.Body)
		}
		for _, s := range a.seen {
			if s == "k" {
				t.Fatal("the API key reached the authenticator")
			}
		}
		switch w.Code {
		case 200:
			if len(rec.msgs) != 1 {
				t.Fatalf("200 with %d messages published", len(rec.msgs))
			}
		case 401, 403:
			if len(rec.msgs) != 0 {
				t.Fatalf("%d with %d messages published", w.Code, len(rec.msgs))
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
