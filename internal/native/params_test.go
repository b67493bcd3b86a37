package native

import (
	"encoding/json"
	"testing"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
)

// TestAppendMessageParamsIsJSON: names and headers with characters Go's
// quoting writes in its own syntax (\x01, \u2028) stay valid JSON.
func TestAppendMessageParamsIsJSON(t *testing.T) {
	m := &message.Message{
		Topic: "a/\x01\"é<", Seq: 7, Epoch: "ep",
		Data: []byte("{\n  \"k\": 1\n}"), ContentType: "application/json",
		Headers: []message.Header{{Key: "x\u2028", Value: "v\x7f\\"}},
	}
	var got struct {
		Topic   string
		Seq     uint64
		Epoch   string
		Data    map[string]int
		Headers map[string]string
	}
	b := AppendMessageParams(nil, m)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.Topic != m.Topic || got.Seq != 7 || got.Epoch != "ep" || got.Data["k"] != 1 || got.Headers["x\u2028"] != "v\x7f\\" {
		t.Errorf("decoded %+v", got)
	}
	note := notificationJSON(m)
	if !json.Valid(note) {
		t.Errorf("notification %s is not JSON", note)
	}
	missed := AppendMissedParams(nil, router.Gap{Topic: "t\x02", Epoch: "e", From: 1, To: 3, Reset: true})
	var g map[string]any
	if err := json.Unmarshal(missed, &g); err != nil || g["topic"] != "t\x02" || g["reset"] != true || g["to"] != 3.0 {
		t.Errorf("missed %s: %v %v", missed, g, err)
	}
}

func TestParseSinceToken(t *testing.T) {
	for _, tc := range []struct {
		filter, since string
		ok            bool
		n             int
	}{
		{"a/#", `"AQIAA2EvYgFFAwIBYwFFrAI"`, true, 2}, // a/b and a/c
		{"a/b", `"AQIAA2EvYgFFAwIBYwFFrAI"`, true, 2}, // the router ignores a/c
		{"a/b", `"garbage"`, false, 0},
		{"a/b", `""`, false, 0},
	} {
		pos, err := parseSince(tc.filter, json.RawMessage(tc.since))
		if (err == nil) != tc.ok || len(pos) != tc.n {
			t.Errorf("parseSince(%s, %s) = %v, %v", tc.filter, tc.since, pos, err)
		}
	}
}
