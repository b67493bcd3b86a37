package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "example.com:6060", "nonsense"} {
		if ln, err := startPprof(addr, io.Discard); err == nil {
			ln.Close()
			t.Errorf("startPprof(%q) served; want it refused", addr)
		}
	}
	var log strings.Builder
	ln, err := startPprof("127.0.0.1:0", &log)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !strings.Contains(log.String(), ln.Addr().String()) {
		t.Errorf("log %q does not name %s", log.String(), ln.Addr())
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestRunPprofRefused(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == pprofEnv {
			return "0.0.0.0:6060", true
		}
		return "", false
	}
	var stderr strings.Builder
	if code := runServe(t.Context(), []string{"--listen", "127.0.0.1:0"}, &stderr, env); code != 2 {
		t.Fatalf("exit status %d, want 2; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "not a loopback address") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}
