package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestAggregate(t *testing.T) {
	t.Parallel()
	h1, h2 := NewHistogram(), NewHistogram()
	for i := range 100 {
		h1.Record(int64(1000 + i))
		h2.Record(int64(5000 + i))
	}
	reps := []Report{
		{Scenario: "idle", Conns: 10, Opened: 9, Failed: 1, Errors: 1, OpenMS: 20, CloseMS: 3, Received: 5,
			ConnectHist: h1, CPU: CPU{Client: 0.25}, Idle: &IdleResult{Subscribed: 9}, Error: "1 connections failed",
			Series: []Sample{{T: 1, Conns: 9, Recv: 100}, {T: 2, Conns: 9, Recv: 50, Errors: 1}}},
		{Scenario: "idle", Conns: 11, Opened: 11, Refused: 2, OpenMS: 30, CloseMS: 2, Received: 7, Sent: 3,
			ConnectHist: h2, CPU: CPU{Client: 0.5}, Idle: &IdleResult{Subscribed: 11},
			Series: []Sample{{T: 1.01, Conns: 11, Recv: 10, Sent: 3}}},
	}
	got := Aggregate(reps)
	if got.Conns != 21 || got.Opened != 20 || got.Failed != 1 || got.Errors != 1 || got.Received != 12 || got.Sent != 3 || got.Refused != 2 {
		t.Fatalf("counts %+v", got)
	}
	if got.OpenMS != 30 || got.CloseMS != 3 || got.CPU.Client != 0.75 || got.Idle.Subscribed != 20 || got.Error != "1 connections failed" {
		t.Fatalf("times/cpu/idle %+v %+v", got, got.Idle)
	}
	if want := []Sample{{T: 1.01, Conns: 20, Recv: 110, Sent: 3}, {T: 2, Conns: 9, Recv: 50, Errors: 1}}; fmt.Sprint(got.Series) != fmt.Sprint(want) {
		t.Fatalf("series %+v, want %+v", got.Series, want)
	}
	all := NewHistogram()
	all.Merge(h1)
	all.Merge(h2)
	if got.ConnectHist.counts != all.counts || got.Connect.Count != 200 || got.Connect.P50 != all.Summary().P50 {
		t.Fatalf("connect histogram not merged: %+v", got.Connect)
	}
	if h1.Count() != 100 {
		t.Fatal("Aggregate modified an input histogram")
	}
	if r := Aggregate(nil); r.Conns != 0 {
		t.Fatal("empty aggregate")
	}
}

// Worker reports cross a pipe as JSON: what Aggregate merges must survive.
func TestAggregateAfterJSON(t *testing.T) {
	t.Parallel()
	var reps []Report
	for k := range 3 {
		h := NewHistogram()
		for i := range 10 {
			h.Record(int64((k + 1) * (i + 1) * 1000))
		}
		b, err := json.Marshal(workerMsg{Phase: "done", Report: Report{Scenario: "idle", Conns: 10, Opened: 10, ConnectHist: h}})
		if err != nil {
			t.Fatal(err)
		}
		var m workerMsg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		reps = append(reps, m.Report)
	}
	got := Aggregate(reps)
	if got.Opened != 30 || got.Connect.Count != 30 || got.Connect.Max != 30 || got.Connect.Min != 1 {
		t.Fatalf("%+v", got.Connect)
	}
}

func TestReportOutput(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	h.Record(250_000)
	r := &Report{Scenario: "rpc", Label: "pinned", Conns: 2, Opened: 2, Received: 100, ElapsedMS: 50, Unit: "responses",
		LatencyHist: h, Idle: &IdleResult{RSSBefore: 1 << 20, RSSAfter: 2 << 20, BytesPerConn: 1500, Subscribed: 2}}
	r.finish()
	if r.Rate != 2000 || r.Latency.P50 != 250 {
		t.Fatalf("rate %v latency %+v", r.Rate, r.Latency)
	}
	var text bytes.Buffer
	writeText(&text, r)
	for _, want := range []string{"rpc [pinned]: 2 of 2 connections, 100 responses in 50 ms = 2000 responses/s", "p50 250.0", "1500 bytes per connection"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := writeJSON(&js, r, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), "latency_hist") || !strings.Contains(js.String(), `"latency_us":{`) || strings.Count(js.String(), "\n") != 1 {
		t.Fatalf("json: %s", js.String())
	}
}
