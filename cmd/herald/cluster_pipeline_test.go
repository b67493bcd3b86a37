package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestClusterPipelinedStompSends: one stomp.py connection sends 300
// receipted SENDs to a topic without waiting, to one node of three; it
// gets every RECEIPT in frame order, and a subscriber on another node
// gets every message once in order (ADR 0018).
func TestClusterPipelinedStompSends(t *testing.T) {
	testutil.Need(t, "/usr/bin/python3")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)
	const n = 300
	out := testutil.Python(t, 60*time.Second, filepath.Join(testutil.Root(t), "tests", "python", "stomp_pipeline.py"),
		map[string]string{"PUB_ADDR": nodes[0].stomp, "SUB_ADDR": nodes[1].stomp, "N": strconv.Itoa(n)})
	var rep struct {
		Receipts []string
		Errors   []string
		Got      []string
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("ERROR frames: %v", rep.Errors)
	}
	for i := range n {
		if rep.Receipts[i] != fmt.Sprintf("r%d", i) {
			t.Fatalf("RECEIPT #%d is %s: not in frame order", i, rep.Receipts[i])
		}
		if rep.Got[i] != strconv.Itoa(i) {
			t.Fatalf("subscriber's message #%d is %s: not in send order, or not once", i, rep.Got[i])
		}
	}
}
