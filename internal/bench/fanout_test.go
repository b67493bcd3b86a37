package bench

import "testing"

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
