package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeFallbacks: the binary serves SSE, HTTP streaming, long polling
// and herald.js at their configured paths.
func TestServeFallbacks(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.STOMPListen = ""
	cfg.MQTTListen = ""
	cfg.EventsPath, cfg.PollPath = "/sse", "/lp"
	cfg.ShutdownTimeout = 5 * time.Second
	base, stop, done := startServe(t, cfg, io.Discard)

	resp, body := get(t, base+"/herald.js")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(body, "export function connect") {
		t.Errorf("/herald.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, base+"/herald.d.ts"); resp.StatusCode != 200 {
		t.Errorf("/herald.d.ts: %d", resp.StatusCode)
	}
	if _, body := get(t, base+"/config.js"); !strings.Contains(body, `export const pollPath = "/lp";`) || !strings.Contains(body, `eventsPath = "/sse"`) {
		t.Errorf("config.js does not name the paths:\n%s", body)
	}

	r, err := http.Post(base+"/lp", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusCreated {
		t.Errorf("POST /lp: %d", r.StatusCode)
	}
	if resp, _ := get(t, base+"/poll"); resp.StatusCode != 404 {
		t.Errorf("the default /poll is still served: %d", resp.StatusCode)
	}

	sse, err := http.Get(base + "/sse?topic=wsone/notify")
	if err != nil {
		t.Fatal(err)
	}
	if sse.StatusCode != 200 || !strings.HasPrefix(sse.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("/sse: %d %s", sse.StatusCode, sse.Header.Get("Content-Type"))
	}
	if line, _ := bufio.NewReader(sse.Body).ReadString('\n'); !strings.HasPrefix(line, "retry: ") {
		t.Errorf("first line %q", line)
	}
	// Shutdown ends the stream too; the client closes its side on EOF.
	ended := make(chan struct{})
	go func() {
		io.Copy(io.Discard, sse.Body)
		sse.Body.Close()
		close(ended)
	}()
	stop()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	<-ended
}
