package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestClusterPipelinedMQTTPublishes: one MQTT connection publishes 500
// QoS 1 messages over two topics without waiting for each PUBACK, then
// 500 QoS 0 messages, to one node of three; a subscriber on another node
// gets every message exactly once in publish order per topic, and the
// publisher gets every PUBACK, successful, in the order of its PUBLISHes
// [MQTT-4.6.0-2] (ADR 0018), in MQTT 5.0 and 3.1.1.
func TestClusterPipelinedMQTTPublishes(t *testing.T) {
	node := testutil.Need(t, "node")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)
	const n = 500
	for _, proto := range []string{"5", "4"} {
		t.Run("v"+proto, func(t *testing.T) {
			client := startLines(t, map[string]string{
				"PUB_ADDR": nodes[0].mqtt, "SUB_ADDR": nodes[1].mqtt, "N": strconv.Itoa(n), "PROTO": proto,
			}, node, filepath.Join(testutil.Root(t), "tests", "node", "mqtt_pipeline.mjs"))
			client.waitLine(t, "the subscriber", func(l string) bool { return l == "ready" })
			line := client.waitLine(t, "the report", func(l string) bool { return strings.HasPrefix(l, "{") })
			var rep struct {
				Acks    []int
				Codes   map[string]int
				Errors  []string
				Got     map[string][]string
				Timeout bool
			}
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatalf("report %q: %v", line, err)
			}
			if rep.Timeout {
				t.Fatalf("the client timed out: %d topics received", len(rep.Got))
			}
			if len(rep.Errors) > 0 || len(rep.Codes) != 1 || rep.Codes["0"] != n {
				t.Errorf("PUBACK reason codes %v, errors %v; want %d successes", rep.Codes, rep.Errors, n)
			}
			if len(rep.Acks) != n {
				t.Fatalf("%d PUBACKs, want %d", len(rep.Acks), n)
			}
			for i, k := range rep.Acks {
				if k != i {
					t.Fatalf("PUBACK #%d is for publish %d: not in PUBLISH order", i, k)
				}
			}
			expect := func(topic string, from, step, count int, extra ...string) {
				t.Helper()
				var want []string
				for i := from; len(want) < count; i += step {
					want = append(want, strconv.Itoa(i))
				}
				want = append(want, extra...)
				got := rep.Got[topic]
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: got %d messages %.200v..., want %d in publish order, once each", topic, len(got), got, len(want))
				}
			}
			expect("pipe/a", 0, 2, n/2)
			expect("pipe/b", 1, 2, n/2)
			expect("pipe/zero", 0, 1, n, "end")
		})
	}
}
