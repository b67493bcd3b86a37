package main

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestServeMQTT runs the binary's server with an MQTT listener: Debian's
// mosquitto_rr calls the LED demo through MQTT 5 request/response
// ($rpc/on with a response topic) and gets the reply.
func TestServeMQTT(t *testing.T) {
	t.Parallel()
	rr := testutil.Need(t, "mosquitto_rr")
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.STOMPListen = ""
	cfg.MQTTListen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	var logs logBuffer
	_, stop, done := startServe(t, cfg, &logs)
	m := regexp.MustCompile(`msg="mqtt listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no MQTT listener in the log:\n%s", logs.String())
	}
	host, port, _ := net.SplitHostPort(m[1])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, rr, "-h", host, "-p", port, "-t", "$rpc/on", "-e", "replies/led", "-m", "").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != `"LED is now on (was off)"` {
		t.Fatalf("mosquitto_rr: %v: %s", err, out)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
