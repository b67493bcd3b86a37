package sse

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name, id, event, data, want string
	}{
		{"data only", "", "", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"id and event", "AQA", "missed", "x", "id: AQA\nevent: missed\ndata: x\n\n"},
		{"empty data", "", "ready", "", "event: ready\ndata: \n\n"},
		{"line breaks of every kind", "", "", "a\nb\r\nc\rd", "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"trailing newline", "", "", "a\n", "data: a\ndata: \n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendEvent(nil, tt.id, tt.event, []byte(tt.data))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := string(AppendRetry(nil, 1500*time.Millisecond)); got != "retry: 1500\n\n" {
		t.Errorf("retry: %q", got)
	}
}

// parse is the event-stream interpretation of the HTML standard, enough
// to check that what AppendEvent writes reads back as it was given.
type event struct{ id, typ, data string }

func parse(stream string) (events []event, retry string) {
	sc := bufio.NewScanner(strings.NewReader(stream))
	var cur event
	var data []string
	hasData := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if hasData {
				cur.data = strings.Join(data, "\n")
				if cur.typ == "" {
					cur.typ = "message"
				}
				events = append(events, cur)
			}
			cur, data, hasData = event{id: cur.id}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			cur.id = value
		case "event":
			cur.typ = value
		case "data":
			data, hasData = append(data, value), true
		case "retry":
			retry = value
		}
	}
	return events, retry
}

func FuzzAppendData(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add([]byte("{\n  \"pretty\": true\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.ContainsRune(string(data), '\r') {
			return // CR is a line break the client turns into LF: not byte-exact by design
		}
		stream := string(AppendRetry(nil, time.Second)) + string(Heartbeat) + string(AppendEvent(nil, "id1", "x", data))
		events, retry := parse(stream)
		if retry != "1000" || len(events) != 1 || events[0].data != string(data) || events[0].id != "id1" || events[0].typ != "x" {
			t.Fatalf("%q parsed as %+v retry %q", stream, events, retry)
		}
	})
}
