package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// MQTT persistent sessions that follow their client to another node
// (docs/cluster.md, ADR 0013), driven by MQTT.js
// (tests/node/mqtt_session_move.mjs) against three herald processes.

// mqttJS is one run of tests/node/mqtt_session_move.mjs.
type mqttJS struct {
	*lineProc
	stdin io.WriteCloser
}

func startMQTTJS(t *testing.T, env map[string]string) *mqttJS {
	t.Helper()
	node := testutil.Need(t, "node")
	lp, stdin := startLinesStdin(t, env, node, filepath.Join(testutil.Root(t), "tests", "node", "mqtt_session_move.mjs"))
	return &mqttJS{lp, stdin}
}

// quit asks the client to disconnect (or the publisher to stop) and
// waits for it to exit.
func (m *mqttJS) quit(t *testing.T) []string {
	t.Helper()
	if _, err := io.WriteString(m.stdin, "quit\n"); err != nil {
		t.Fatal(err)
	}
	var rest []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				return rest
			}
			rest = append(rest, l)
		case <-timeout:
			t.Fatal("the MQTT.js client did not exit")
		}
	}
}

// received collects "msg" lines: the payloads in order, and how many
// times each came, with and without DUP.
type received struct {
	order     []string
	times     map[string]int
	dupFlag   map[string]int // receipts with DUP set
	badRepeat []string       // a repeat without DUP
}

func newReceived() *received {
	return &received{times: map[string]int{}, dupFlag: map[string]int{}}
}

func (r *received) add(line string) bool {
	f := strings.SplitN(line, " ", 4)
	if len(f) != 4 || f[0] != "msg" {
		return false
	}
	payload := f[3]
	if r.times[payload] > 0 && f[1] != "1" {
		r.badRepeat = append(r.badRepeat, payload)
	}
	r.times[payload]++
	if f[1] == "1" {
		r.dupFlag[payload]++
	}
	r.order = append(r.order, f[2]+" "+payload)
	return true
}

func (r *received) duplicates() int {
	n := 0
	for _, k := range r.times {
		n += k - 1
	}
	return n
}

// TestClusterSessionMoves: a client subscribes with a persistent session
// on node0 and leaves; messages are published on node1 (to a topic it
// had received before, to a topic new since, and to one it does not
// want); it comes back to node2 with clean start 0 and receives all it
// subscribed to, in order, with session present.
func TestClusterSessionMoves(t *testing.T) {
	testutil.Need(t, "node")
	pub := testutil.Need(t, "mosquitto_pub")
	bin := buildBinary(t, t.TempDir())
	nodes, _ := startTripleRestartable(t, bin)

	for _, version := range []string{"5", "4"} {
		t.Run("mqtt"+version, func(t *testing.T) {
			cid := "mover-v" + version
			first := startMQTTJS(t, map[string]string{"MQTT_ADDRS": nodes[0].mqtt, "CLIENT_ID": cid, "SUBSCRIBE": "sess" + version + "/#", "MQTT_VERSION": version})
			first.waitLine(t, "the first CONNACK", func(l string) bool { return l == "connect "+nodes[0].mqtt+" 0" })
			first.waitLine(t, "the SUBACK", func(l string) bool { return l == "subscribed" })
			// One message while connected, so the session has a position
			// past a message of its own.
			mosquittoPub(t, pub, nodes[1].mqtt, "sess"+version+"/a", "before")
			first.waitLine(t, "the message before", func(l string) bool { return strings.HasSuffix(l, " before") })
			first.quit(t)

			var want []string
			for i := range 10 {
				for _, tp := range []string{"sess" + version + "/a", "sess" + version + "/new/b"} {
					mosquittoPub(t, pub, nodes[1].mqtt, tp, fmt.Sprintf("m-%d", i))
					want = append(want, tp+" "+fmt.Sprintf("m-%d", i))
				}
			}
			mosquittoPub(t, pub, nodes[1].mqtt, "other"+version+"/x", "unwanted")
			mosquittoPub(t, pub, nodes[1].mqtt, "sess"+version+"/a", "last")
			want = append(want, "sess"+version+"/a last")

			second := startMQTTJS(t, map[string]string{"MQTT_ADDRS": nodes[2].mqtt, "CLIENT_ID": cid, "MQTT_VERSION": version})
			second.waitLine(t, "the CONNACK on node2", func(l string) bool {
				if strings.HasPrefix(l, "connect ") && l != "connect "+nodes[2].mqtt+" 1" {
					t.Fatalf("got %q, want session present on %s", l, nodes[2].mqtt)
				}
				return strings.HasPrefix(l, "connect ")
			})
			got := newReceived()
			second.waitLine(t, "the last message", func(l string) bool { return got.add(l) && strings.HasSuffix(l, " last") })
			if strings.Join(got.order, "\n") != strings.Join(want, "\n") {
				t.Errorf("received on node2:\n%s\nwant:\n%s", strings.Join(got.order, "\n"), strings.Join(want, "\n"))
			}
			// Live delivery goes on after the replay.
			mosquittoPub(t, pub, nodes[0].mqtt, "sess"+version+"/a", "live")
			second.waitLine(t, "a live message", func(l string) bool { return got.add(l) && strings.HasSuffix(l, " live") })
			second.quit(t)
		})
	}
}

// mosquittoPub publishes one QoS 1 message and returns once it is
// acknowledged (stored in the cluster's stream).
func mosquittoPub(t *testing.T, bin, addr, topic, msg string) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	testutil.Run(t, 20*time.Second, "", nil, bin, "-h", host, "-p", port, "-q", "1", "-t", topic, "-m", msg)
}

// TestClusterSessionKill9: the node holding a connected persistent
// session is killed with kill -9 while an MQTT.js publisher on another
// node publishes QoS 1 at a steady rate; the subscriber reconnects to a
// surviving node (its failover list) with session present; the killed
// node restarts, then the subscriber's node shuts down and it moves to
// the last one. It receives every message: none missing, and any repeat
// marked DUP.
func TestClusterSessionKill9(t *testing.T) {
	testutil.Need(t, "node")
	// The stream is the session's queue while it moves: it must keep
	// what is published meanwhile (history_size per topic; the default
	// 100 lasts two seconds at this rate, and a node loss may take more
	// on a loaded machine).
	t.Setenv("HERALD_HISTORY_SIZE", "5000")
	bin := buildBinary(t, t.TempDir())
	nodes, restart := startTripleRestartable(t, bin)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.mqtt)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node1 log:\n%s\nnode2 log:\n%s", nodes[1].logs, nodes[2].logs)
		}
	})
	sub := startMQTTJS(t, map[string]string{"MQTT_ADDRS": strings.Join(addrs, ","), "CLIENT_ID": "k9-sub", "SUBSCRIBE": "k9/t", "MQTT_VERSION": "4"})
	sub.waitLine(t, "the CONNACK on node0", func(l string) bool { return l == "connect "+nodes[0].mqtt+" 0" })
	sub.waitLine(t, "the SUBACK", func(l string) bool { return l == "subscribed" })

	pub := startMQTTJS(t, map[string]string{"MQTT_ADDRS": nodes[2].mqtt + "," + nodes[1].mqtt, "CLIENT_ID": "k9-pub", "PUBLISH": "k9/t", "PUBLISH_EVERY": "20", "MQTT_VERSION": "5"})
	got := newReceived()
	// Live on node0, past a few checkpoints.
	sub.waitLine(t, "p-40 on node0", func(l string) bool { return got.add(l) && strings.HasSuffix(l, " p-40") })

	latest := -1
	retried := map[string]bool{} // published twice: may arrive twice
	pubLine := func(l string) {
		fmt.Sscanf(l, "pub %d", &latest)
		var k int
		if _, err := fmt.Sscanf(l, "retry %d", &k); err == nil {
			retried[fmt.Sprintf("p-%d", k)] = true
		}
		if _, err := fmt.Sscanf(l, "resend %d", &k); err == nil {
			retried[fmt.Sprintf("p-%d", k)] = true
		}
	}
	// move waits for the subscriber's next CONNACK, which must be on a
	// live node with its session, then for a message published after it;
	// it returns the node's index.
	move := func(how string, started time.Time, live ...int) int {
		t.Helper()
		var connack string
		sub.waitLine(t, "the CONNACK after "+how, func(l string) bool {
			if strings.HasPrefix(l, "connect ") {
				connack = l
				return true
			}
			got.add(l)
			return false
		})
		on := -1
		for _, i := range live {
			if connack == "connect "+nodes[i].mqtt+" 1" {
				on = i
			}
		}
		if on < 0 {
			t.Fatalf("after %s, reconnected with %q, want session present on one of nodes %v", how, connack, live)
		}
		t.Logf("%s: session present again on node%d %v later", how, on, time.Since(started).Round(time.Millisecond))
		for drained := false; !drained; {
			select {
			case l := <-pub.lines:
				pubLine(l)
			default:
				drained = true
			}
		}
		sub.waitLine(t, "a message published after "+how, func(l string) bool {
			return got.add(l) && strings.HasSuffix(l, fmt.Sprintf(" p-%d", latest+1))
		})
		return on
	}

	// kill -9: the node's last checkpoint stands.
	killed := time.Now()
	if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[0].done
	on := move("kill -9 of node0", killed, 1, 2)

	// node0 comes back and catches up, so that the stream and the
	// sessions' bucket keep a majority when the next node goes.
	nodes[0] = restart(0)
	nodes[0].waitReady(t, 2)
	nodes[0].waitStreamCurrent(t, 3)

	// A graceful shutdown: the node writes the session's exact state as
	// it closes the connection.
	stopped := time.Now()
	nodes[on].stop(t)
	move(fmt.Sprintf("the shutdown of node%d", on), stopped, 0, 3-on)

	var n int
	for _, l := range pub.quit(t) {
		pubLine(l)
		fmt.Sscanf(l, "published %d", &n)
	}
	if n == 0 {
		t.Fatal("the publisher did not report its count")
	}
	// Until every message came (or a hang guard): then say what is missing.
	guard := time.After(20 * time.Second)
	for complete := false; !complete; {
		select {
		case l, ok := <-sub.lines:
			if !ok {
				t.Fatal("the subscriber exited")
			}
			got.add(l)
		case <-guard:
			complete = true
		}
		if !complete {
			complete = true
			for k := range n {
				if got.times[fmt.Sprintf("p-%d", k)] == 0 {
					complete = false
					break
				}
			}
		}
	}
	var missing []string
	for k := range n {
		if got.times[fmt.Sprintf("p-%d", k)] == 0 {
			missing = append(missing, fmt.Sprintf("p-%d", k))
		}
	}
	dupFlagged := 0
	for _, v := range got.dupFlag {
		dupFlagged += v
	}
	t.Logf("published %d at QoS 1; received %d, %d duplicates (DUP set on %d receipts), %d missing",
		n, len(got.order), got.duplicates(), dupFlagged, len(missing))
	if len(missing) > 0 {
		t.Errorf("missing %d messages: %v", len(missing), missing)
	}
	var bad []string
	for _, p := range got.badRepeat {
		if !retried[p] {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("repeated without DUP: %v", bad)
	}
	if len(retried) > 0 {
		t.Logf("the publisher sent %d messages again (refused, or in flight when its connection ended)", len(retried))
	}
}
