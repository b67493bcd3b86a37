package herald_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/wsframe"
)

// metric scrapes one counter from the server's metrics handler.
func metric(t *testing.T, srv *herald.Server, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s not exposed", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestSlowConsumerPolicies(t *testing.T) {
	const msgs, size = 400, 64 << 10 // 25 MiB: more than loopback socket buffers hold
	for _, tc := range []struct {
		name   string
		policy herald.SlowConsumerPolicy
	}{{"disconnect", herald.Disconnect}, {"drop-oldest", herald.DropOldest}, {"keep-latest", herald.KeepLatest}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := start(t, herald.Options{SlowConsumer: tc.policy, QueueMessages: 8})
			// The stalled client subscribes, then never reads again.
			stalled := rawDial(t, base, "herald.v1")
			stalled.frame(wsframe.OpText, true, []byte(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"big"}}`))
			honest := newRPC(t, base)
			honest.call(1, "subscribe", map[string]any{"topic": "big"})
			waitFor(t, func() bool { return srv.Connections() == 2 })
			// The stalled client's subscribe is confirmed by the router's count of subscribers.
			payload := strings.Repeat("x", size)
			for i := range msgs {
				if _, err := srv.Publish(context.Background(), "big", []byte(payload)); err != nil {
					t.Fatal(err)
				}
				// The honest client keeps up: everything arrives, in order.
				n := honest.note()
				if seq := n["params"].(map[string]any)["seq"].(float64); int(seq) != i+1 {
					t.Fatalf("honest client got seq %v, want %d", seq, i+1)
				}
			}
			switch tc.policy {
			case herald.Disconnect:
				waitFor(t, func() bool { return srv.Connections() == 1 })
				if v := metric(t, srv, "herald_slow_consumer_disconnects_total"); v != 1 {
					t.Fatalf("slow consumer disconnects = %v, want 1", v)
				}
			default:
				if srv.Connections() != 2 {
					t.Fatalf("policy %s disconnected the stalled client", tc.name)
				}
				if v := metric(t, srv, "herald_queue_dropped_total"); v <= 0 {
					t.Fatalf("queue drops = %v, want > 0", v)
				}
			}
			// The honest client's connection is still fully usable.
			if r := honest.call(2, "publish", map[string]any{"topic": "other", "data": json.RawMessage(`1`)}); r["error"] != nil {
				t.Fatal(r)
			}
		})
	}
}
