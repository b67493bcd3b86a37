package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/stomp/stomptest"
)

// TestServeSTOMP runs the binary's server with a STOMP listener: a STOMP
// client over TCP drives the LED demo through its RPC prefix and sees the
// notification, then is told of the shutdown.
func TestServeSTOMP(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.STOMPListen = "127.0.0.1:0"
	cfg.MQTTListen = ""
	cfg.ShutdownTimeout = 5 * time.Second
	var logs logBuffer
	_, stop, done := startServe(t, cfg, &logs)
	m := regexp.MustCompile(`msg="stomp listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no STOMP listener in the log:\n%s", logs.String())
	}
	c := stomptest.Dial(t, m[1])
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "n", "destination", "/topic/wsone.notify")
	c.Send("SUBSCRIBE", "", "id", "r", "destination", "/temp-queue/led", "receipt", "ready")
	c.Receipt("ready")
	c.Send("SEND", "", "destination", "/rpc/on", "reply-to", "/temp-queue/led", "correlation-id", "1")
	got := map[string]string{}
	for range 2 {
		f := c.Expect("MESSAGE")
		got[f.Value("subscription")] = string(f.Body)
	}
	if got["r"] != "LED is now on (was off)" || got["n"] != "[127.0.0.1] - LED is now on (was off)" {
		t.Fatalf("reply and notification: %v", got)
	}
	stop()
	rest := c.Closed()
	if len(rest) != 1 || rest[0].Value("message") != "server shutting down" {
		t.Errorf("frames at shutdown: %v", rest)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
