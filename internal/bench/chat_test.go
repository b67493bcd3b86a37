package bench

import "testing"

func TestChatEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "chat", "--url", b.URL(), "--conns", "20", "--messages", "50", "--size", "64", "--window", "4",
		"--pid", "0", "--label", "e2e")
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	if rep.Opened != 20 || rep.Sent != 50 || rep.Expected != 1000 || rep.Received != 1000 || rep.Errors != 0 {
		t.Fatalf("opened %d sent %d received %d of %d, %d errors", rep.Opened, rep.Sent, rep.Received, rep.Expected, rep.Errors)
	}
	if rep.Label != "e2e" || rep.Unit != "deliveries" || rep.Rate <= 0 || rep.Settings.Window != 4 {
		t.Fatalf("report %+v", rep)
	}
}

func TestChatReportsRefusedConnections(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	// /nope is not a WebSocket endpoint: every handshake fails.
	rep, code, _ := runMain(t, "chat", "--url", b.URL()+"/../nope", "--conns", "2", "--messages", "1")
	if code != 1 || rep.Opened != 0 || rep.Failed != 2 || rep.Error == "" {
		t.Fatalf("code %d, report %+v", code, rep)
	}
}
