package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the idle scenario re-execute the test binary as its
// workers: they arrive with workerEnv set and run Main instead of tests.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startServer runs an in-process benchmark server for one test.
func startServer(t *testing.T) *benchServer {
	t.Helper()
	b, err := newBenchServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return b
}

// runMain runs Main with --json --quiet and decodes the report.
func runMain(t *testing.T, args ...string) (Report, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(append(args, "--json", "--quiet"), &stdout, &stderr)
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("Main(%q) = %d, report %q: %v; stderr: %s", args, code, stdout.String(), err, stderr.String())
	}
	return rep, code, stderr.String()
}

func TestMainUsage(t *testing.T) {
	t.Parallel()
	var out, errw bytes.Buffer
	if code := Main(nil, &out, &errw); code != 2 || !strings.Contains(errw.String(), "usage: herald bench") {
		t.Errorf("no args: code %d, stderr %q", code, errw.String())
	}
	errw.Reset()
	if code := Main([]string{"--help"}, &out, &errw); code != 0 || !strings.Contains(errw.String(), "scenarios:") {
		t.Errorf("--help: code %d", code)
	}
	errw.Reset()
	if code := Main([]string{"nope"}, &out, &errw); code != 2 || !strings.Contains(errw.String(), `unknown scenario "nope"`) {
		t.Errorf("unknown scenario: code %d, stderr %q", code, errw.String())
	}
	if code := Main([]string{"chat", "--conns", "0"}, &out, &errw); code != 2 {
		t.Errorf("bad flag value: code %d", code)
	}
	if out.Len() != 0 {
		t.Errorf("usage errors wrote to stdout: %q", out.String())
	}
}

func TestMainTextOutput(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	var out, errw bytes.Buffer
	code := Main([]string{"chat", "--url", b.URL(), "--conns", "3", "--messages", "5", "--quiet"}, &out, &errw)
	if code != 0 {
		t.Fatalf("code %d: %s%s", code, out.String(), errw.String())
	}
	// Reference 001's lines, then the summary.
	for _, want := range []string{
		"Opened 3 of 3 connections to " + strings.TrimPrefix(strings.TrimSuffix(b.URL(), "/ws"), "ws://") + " in ",
		"Sent/Received 5/15 messages in ",
		"Closed 3 connections to ",
		"chat: 3 of 3 connections, 15 deliveries in ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
