package bench

import (
	"os"
	"strconv"
	"testing"
)

func TestIdleEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "idle", "--url", b.URL(), "--conns", "50", "--pid", strconv.Itoa(os.Getpid()),
		"--metrics", b.MetricsURL(), "--hold", "10ms")
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	i := rep.Idle
	if rep.Opened != 50 || i == nil || i.Subscribed != 50 || i.PID != os.Getpid() || i.RSSBefore <= 0 || i.RSSAfter <= 0 {
		t.Fatalf("opened %d, idle %+v", rep.Opened, i)
	}
	// The server is in this process; other tests run beside it, so only
	// the presence of the figures is checked.
	if i.Goroutines <= 0 || i.HeapInuse <= 0 || i.Connections < 50 {
		t.Fatalf("metrics not read: %+v", i)
	}
}

func TestIdleWorkerProcesses(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "idle", "--url", b.URL(), "--conns", "30", "--procs", "2", "--hold", "10ms",
		"--pid", strconv.Itoa(os.Getpid()))
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	if rep.Conns != 30 || rep.Opened != 30 || rep.Idle == nil || rep.Idle.Subscribed != 30 || rep.Connect == nil || rep.Connect.Count != 30 {
		t.Fatalf("report %+v idle %+v connect %+v", rep, rep.Idle, rep.Connect)
	}
	if rep.Settings.Procs != 2 {
		t.Fatalf("settings %+v", rep.Settings)
	}
}
