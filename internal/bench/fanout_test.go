package bench

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
)

func TestFanoutEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "fanout", "--url", b.URL(), "--conns", "10", "--rate", "200", "--duration", "250ms", "--size", "40")
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	// 250 ms at 200/s: publications due at 0, 5, ..., 245 ms.
	if rep.Sent != 50 || rep.Expected != 500 || rep.Received != 500 || rep.Errors != 0 {
		t.Fatalf("sent %d received %d of %d, errors %d", rep.Sent, rep.Received, rep.Expected, rep.Errors)
	}
	if rep.Latency == nil || rep.Latency.Count != 500 || rep.Offered != 2000 {
		t.Fatalf("latency %+v offered %v", rep.Latency, rep.Offered)
	}
}

func TestPublishRequestSize(t *testing.T) {
	t.Parallel()
	p := &publisher{size: 40, prefix: []byte(`,"method":"publish","params":{"topic":"t","data":"`)}
	b := p.request(nil, 1712345678901234567)
	want := `{"jsonrpc":"2.0","id":1,"method":"publish","params":{"topic":"t","data":"1712345678901234567:abcdefghijklmnopqrst"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// TestFanoutWorkers spreads the subscribers over worker processes (this
// test binary, re-executed: see TestMain) on source addresses 127.0.0.2
// and .3, for each protocol, and checks that the parent's report adds up.
func TestFanoutWorkers(t *testing.T) {
	t.Parallel()
	srv := herald.New(herald.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeSTOMP(ln)
	t.Cleanup(func() { srv.Shutdown(t.Context()); ln.Close() })
	b := startServer(t)
	events := strings.TrimSuffix(strings.Replace(b.URL(), "ws://", "http://", 1), "/ws") + "/events"
	for _, args := range [][]string{
		{"fanout", "--url", b.URL(), "--conns", "300", "--duration", "1200ms"},
		{"fanout", "--url", b.URL(), "--protocol", "mqtt", "--qos", "1", "--conns", "100"},
		{"fanout", "--url", "stomp://" + ln.Addr().String(), "--conns", "100"},
		{"sse", "--url", events, "--conns", "100"},
	} {
		// --duration, when given, comes later and wins.
		args = append([]string{args[0], "--workers", "2", "--rate", "100", "--duration", "200ms", "--size", "40",
			"--timeout", "10s", "--label", "w"}, args[1:]...)
		rep, code, stderr := runMain(t, args...)
		conns := int64(rep.Conns)
		if code != 0 || rep.Error != "" {
			t.Fatalf("%q: code %d, error %q, stderr %s", args, code, rep.Error, stderr)
		}
		// 100/s: 20 publications in 200 ms, 120 in 1200 ms, to every subscriber.
		pubs := int64(20)
		if rep.Settings.Duration == "1.2s" {
			pubs = 120
			// The run lasted over a second: the workers' progress
			// messages reached the parent's series.
			var recv float64
			for _, s := range rep.Series {
				recv += s.Recv
			}
			if recv == 0 {
				t.Fatalf("%q: no deliveries in the series %+v", args, rep.Series)
			}
		}
		if rep.Sent != pubs || rep.Opened != int(conns) || rep.Expected != pubs*conns || rep.Received != pubs*conns || rep.Errors != 0 {
			t.Fatalf("%q: opened %d sent %d received %d of %d, errors %d", args, rep.Opened, rep.Sent, rep.Received, rep.Expected, rep.Errors)
		}
		if rep.Latency == nil || rep.Latency.Count != uint64(pubs*conns) || rep.Connect == nil || rep.Connect.Count != uint64(conns) {
			t.Fatalf("%q: latency %+v connect %+v", args, rep.Latency, rep.Connect)
		}
		if rep.Settings.Procs != 2 || rep.Label != "w" {
			t.Fatalf("%q: settings %+v", args, rep.Settings)
		}
	}
}

func TestFanoutWorkerArgs(t *testing.T) {
	t.Parallel()
	c, err := ParseArgs(strings.Fields("fanout --url ws://127.0.0.1:9/ws --conns 100 --workers 3 --report x.svg --label L"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	args := fanoutWorkerArgs(c, 1, 33, 34)
	w, err := ParseArgs(args, io.Discard)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	if !w.Worker || w.Conns != 33 || w.FirstID != 34 || w.Workers != 1 || w.ReportFile != "" || !w.Quiet || !w.JSON ||
		w.Label != "L" || len(w.Sources) != 1 || w.Sources[0].String() != "127.0.0.3" || w.URL != c.URL {
		t.Fatalf("worker config %+v", w)
	}
	c, _ = ParseArgs(strings.Fields("fanout --url ws://localhost:9/ws --workers 2 --conns 4"), io.Discard)
	if _, ok := fanoutWorkerSource(c, 0); ok {
		t.Fatal("a source address for a target given by name")
	}
	if _, err := ParseArgs(strings.Fields("fanout --workers 5 --conns 4"), io.Discard); err == nil {
		t.Fatal("more workers than connections accepted")
	}
}
