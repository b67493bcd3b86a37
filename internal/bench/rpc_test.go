package bench

import "testing"

func TestRPCClosedLoopEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "rpc", "--url", b.URL(), "--conns", "5", "--requests", "200", "--duration", "1m", "--size", "16")
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	if rep.Sent != 200 || rep.Received != 200 || rep.Errors != 0 || rep.Settings.Mode != "closed" {
		t.Fatalf("sent %d received %d errors %d mode %q", rep.Sent, rep.Received, rep.Errors, rep.Settings.Mode)
	}
	if rep.Latency == nil || rep.Latency.Count != 200 || rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.Max {
		t.Fatalf("latency %+v", rep.Latency)
	}
}

func TestRPCOpenLoopEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "rpc", "--url", b.URL(), "--conns", "5", "--rate", "2000", "--requests", "200", "--duration", "1m")
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	if rep.Sent != 200 || rep.Received != 200 || rep.Latency.Count != 200 || rep.Settings.Mode != "open" || rep.Offered != 2000 {
		t.Fatalf("sent %d received %d latency %+v mode %q", rep.Sent, rep.Received, rep.Latency, rep.Settings.Mode)
	}
}

func TestRPCUnknownMethodCountsErrors(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, _ := runMain(t, "rpc", "--url", b.URL(), "--conns", "2", "--requests", "10", "--method", "missing")
	if code != 0 || rep.Received != 10 || rep.Errors != 10 || rep.Refused != 10 || rep.Latency != nil {
		t.Fatalf("code %d, received %d, errors %d, latency %+v", code, rep.Received, rep.Errors, rep.Latency)
	}
}
