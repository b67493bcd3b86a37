package main

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// MQTT shared subscriptions across a three-node cluster, with
// mosquitto_sub members and mosquitto_pub publishers: each message of a
// share group reaches one member in the whole cluster.

// shareMember is one mosquitto_sub subscribed to a filter on a node.
type shareMember struct {
	name string
	lp   *lineProc

	mu  sync.Mutex
	got map[string]int // payload -> times received
	n   int
}

// startMember subscribes mosquitto_sub at QoS 1 to filter on node n; its
// received payloads (those starting with one of prefixes) are counted
// by a reader goroutine, and each arrival signals arrived.
func startMember(t *testing.T, n *heraldProc, id, filter string, arrived chan<- struct{}, extra ...string) *shareMember {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.mqtt)
	m := &shareMember{name: id + "@" + n.name, got: map[string]int{}}
	m.lp = startLines(t, nil, "stdbuf", append([]string{"-oL", "mosquitto_sub", "-h", host, "-p", port, "-q", "1", "-t", filter,
		"-d", "-i", id, "-F", "%p"}, extra...)...)
	m.lp.waitLine(t, "SUBACK of "+m.name, func(l string) bool { return strings.Contains(l, "received SUBACK") })
	go func() {
		for l := range m.lp.lines {
			if strings.HasPrefix(l, "Client ") || l == "" {
				continue // -d's debug lines
			}
			m.mu.Lock()
			m.got[l]++
			m.n++
			m.mu.Unlock()
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	}()
	return m
}

// counts returns how often each payload with prefix was received by
// members, in total, and how many each member got.
func counts(members []*shareMember, prefix string) (total map[string]int, per []int) {
	total = map[string]int{}
	for _, m := range members {
		m.mu.Lock()
		k := 0
		for p, c := range m.got {
			if strings.HasPrefix(p, prefix) {
				total[p] += c
				k += c
			}
		}
		m.mu.Unlock()
		per = append(per, k)
	}
	return total, per
}

// waitAll waits until every payload in want was received by members.
func waitAll(t *testing.T, what string, members []*shareMember, arrived <-chan struct{}, prefix string, want []string) map[string]int {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		total, _ := counts(members, prefix)
		missing := 0
		for _, w := range want {
			if total[w] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return total
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("%s: %d of %d messages never arrived", what, missing, len(want))
		}
	}
}

// publishLines publishes one message per payload to topicName on node n
// at QoS 1 with mosquitto_pub -l, every gap (0: as fast as it goes),
// and returns when mosquitto_pub has them all acknowledged.
func publishLines(t *testing.T, n *heraldProc, topicName string, payloads []string, gap time.Duration, during func(i int)) {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.mqtt)
	cmd := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-q", "1", "-t", topicName, "-l", "-i", "pub-"+n.name+"-"+topicName)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out logBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i, p := range payloads {
		if during != nil {
			during(i)
		}
		if _, err := io.WriteString(in, p+"\n"); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out.String())
		}
		if gap > 0 {
			time.Sleep(gap) // the publishing rate
		}
	}
	in.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("mosquitto_pub did not finish\n%s", out.String())
	}
}

// warmUp publishes probes to topicName on node n until every member has
// received one: every node's part of the group is then pulling from the
// group's consumer (which delivers only what is published after it was
// created).
func warmUp(t *testing.T, n *heraldProc, topicName string, members []*shareMember, arrived <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		publishLines(t, n, topicName, []string{fmt.Sprintf("warm-%d", i)}, 0, nil)
		_, per := counts(members, "warm-")
		all := true
		for _, k := range per {
			all = all && k > 0
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("warm-up: members got %v probes", per)
		}
		select {
		case <-arrived:
		case <-time.After(100 * time.Millisecond): // next probe
		}
	}
}

// receivedWithin reports whether m receives payload p within d.
func receivedWithin(m *shareMember, p string, arrived <-chan struct{}, d time.Duration) bool {
	timeout := time.After(d)
	for {
		if total, _ := counts([]*shareMember{m}, p); total[p] > 0 {
			return true
		}
		select {
		case <-arrived:
		case <-timeout:
			total, _ := counts([]*shareMember{m}, p)
			return total[p] > 0
		}
	}
}

// metricValue reads a counter from a /metrics body (-1 if absent).
func metricValue(body, name string) int {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func payloadList(prefix string, n int) []string {
	var ps []string
	for i := range n {
		ps = append(ps, fmt.Sprintf("%s%d", prefix, i))
	}
	return ps
}

func TestClusterSharedSubscriptions(t *testing.T) {
	testutil.Need(t, "mosquitto_sub")
	testutil.Need(t, "mosquitto_pub")
	testutil.Need(t, "stdbuf")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)

	t.Run("once in the cluster, on both nodes", func(t *testing.T) {
		// Two members on node 0, one on node 1, messages published on
		// node 2: one delivery per message in the whole cluster.
		arrived := make(chan struct{}, 1)
		members := []*shareMember{
			startMember(t, nodes[0], "g-a", "$share/g/sensors/#", arrived),
			startMember(t, nodes[0], "g-b", "$share/g/sensors/#", arrived),
			startMember(t, nodes[1], "g-c", "$share/g/sensors/#", arrived),
		}
		warmUp(t, nodes[2], "sensors/warm", members, arrived)
		const n = 120
		want := payloadList("m", n)
		publishLines(t, nodes[2], "sensors/room1/temp", want, 0, nil)
		total := waitAll(t, "group g", members, arrived, "m", want)
		for _, w := range want {
			if total[w] != 1 {
				t.Errorf("%s received %d times in the cluster, want once", w, total[w])
			}
		}
		_, per := counts(members, "m")
		t.Logf("per member: %v", per)
		if per[0]+per[1] == 0 || per[2] == 0 {
			t.Errorf("not balanced over the nodes: node 0's members got %d, node 1's %d", per[0]+per[1], per[2])
		}
	})

	t.Run("two groups and a plain subscriber", func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		g1 := []*shareMember{
			startMember(t, nodes[0], "x-a", "$share/x/jobs/+", arrived),
			startMember(t, nodes[1], "x-b", "$share/x/jobs/+", arrived),
		}
		g2 := []*shareMember{
			startMember(t, nodes[1], "y-a", "$share/y/jobs/+", arrived),
			startMember(t, nodes[2], "y-b", "$share/y/jobs/+", arrived),
		}
		plain := []*shareMember{startMember(t, nodes[0], "plain", "jobs/+", arrived)}
		warmUp(t, nodes[2], "jobs/warm", append(append([]*shareMember(nil), g1...), g2...), arrived)
		const n = 80
		want := payloadList("j", n)
		publishLines(t, nodes[1], "jobs/build", want, 0, nil)
		for _, c := range []struct {
			name    string
			members []*shareMember
		}{{"group x", g1}, {"group y", g2}, {"plain subscriber", plain}} {
			total := waitAll(t, c.name, c.members, arrived, "j", want)
			for _, w := range want {
				if total[w] != 1 {
					t.Errorf("%s: %s received %d times, want once", c.name, w, total[w])
				}
			}
		}
	})

	t.Run("away members leave messages to connected ones", func(t *testing.T) {
		// A member on node 0 whose client went away (persistent session)
		// and a connected one on node 1: node 1's member gets them all,
		// as on one node.
		arrived := make(chan struct{}, 1)
		away := startMember(t, nodes[0], "w-a", "$share/w/away/#", arrived, "-c")
		live := startMember(t, nodes[1], "w-b", "$share/w/away/#", arrived)
		warmUp(t, nodes[2], "away/warm", []*shareMember{away, live}, arrived)
		away.lp.cmd.Process.Kill()
		away.lp.cmd.Wait()
		// Node 0 stops pulling within about a second of noticing: wait
		// until the connected member gets ten probes in a row.
		deadline := time.Now().Add(30 * time.Second)
		for i, row := 0, 0; row < 10; i++ {
			p := fmt.Sprintf("probe-%d", i)
			publishLines(t, nodes[2], "away/probe", []string{p}, 0, nil)
			// A probe node 0 took is queued for the away member and never
			// shows: give each up to two seconds.
			if receivedWithin(live, p, arrived, 2*time.Second) {
				row++
			} else {
				row = 0
			}
			if time.Now().After(deadline) {
				t.Fatal("node 0 kept taking the group's messages for its away member")
			}
		}
		const n = 40
		want := payloadList("a", n)
		publishLines(t, nodes[2], "away/x", want, 0, nil)
		total := waitAll(t, "group w", []*shareMember{live}, arrived, "a", want)
		for _, w := range want {
			if total[w] != 1 {
				t.Errorf("%s received %d times by the connected member, want once", w, total[w])
			}
		}
	})

	t.Run("kill -9 of a member node", func(t *testing.T) {
		// A stuck member on node 0 (paho, never acknowledging: it prints
		// the first message and holds the rest) and a member on node 1.
		// QoS 1 messages are published on node 2 at a steady rate, and
		// node 0 is killed midway: what node 0 held goes to node 1's
		// member, so every message is received, and the only duplicate
		// is the one the stuck member printed, counted as a redelivery.
		testutil.Need(t, "/usr/bin/python3")
		arrived := make(chan struct{}, 1)
		host, port, _ := net.SplitHostPort(nodes[0].mqtt)
		stuck := &shareMember{name: "k-a@node0", got: map[string]int{}}
		stuck.lp = startLines(t, map[string]string{"MQTT_HOST": host, "MQTT_PORT": port, "FILTER": "$share/k/orders/#", "CLIENT_ID": "k-a"},
			"/usr/bin/python3", filepath.Join(testutil.Root(t), "tests", "python", "mqtt_stuck_sub.py"))
		stuck.lp.waitLine(t, "the stuck member's SUBACK", func(l string) bool { return l == "ready" })
		live := startMember(t, nodes[1], "k-b", "$share/k/orders/#", arrived)
		// The stuck member prints one message, the first the group gives
		// node 0: warm up until it did.
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; ; i++ {
			publishLines(t, nodes[2], "orders/warm", []string{fmt.Sprintf("warm-%d", i)}, 0, nil)
			select {
			case l := <-stuck.lp.lines:
				stuck.got[l]++
			case <-time.After(100 * time.Millisecond): // next probe
				if time.Now().After(deadline) {
					t.Fatal("the stuck member never got a message")
				}
				continue
			}
			break
		}
		// Fewer than the stream keeps of a topic (history_size, 100): an
		// unacknowledged message waits for its group only as long as the
		// stream holds it (docs/cluster.md).
		const n = 90
		want := payloadList("o", n)
		publishLines(t, nodes[2], "orders/eu", want, 10*time.Millisecond, func(i int) {
			if i != n/2 {
				return
			}
			if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-nodes[0].done
		})
		total := waitAll(t, "group k", []*shareMember{live}, arrived, "o", want)
		dups := 0
		for _, w := range want {
			dups += total[w] - 1
		}
		_, body := get(t, nodes[1].http+"/metrics")
		redelivered := metricValue(body, "herald_cluster_shared_redelivered_total")
		t.Logf("node 1's member got all %d messages, %d of them twice; node 1 counts %d redeliveries", n, dups, redelivered)
		if redelivered < 2 {
			t.Errorf("node 1 counts %d redeliveries: node 0 held (almost) nothing, the test proves little", redelivered)
		}
		// Besides what the stuck member held, a message may come twice
		// only as a redelivery: an acknowledgement node 1 sent to the
		// group's consumer while its leader was on the killed node can be
		// lost with it (at least once). Each is counted.
		if dups > redelivered {
			t.Errorf("%d duplicates among the published messages, more than the %d redeliveries counted", dups, redelivered)
		}
		// The warm-up message the stuck member printed came again, to
		// node 1's member, as a redelivery.
		for w := range stuck.got {
			if waitAll(t, "the stuck member's message", []*shareMember{live}, arrived, "warm-", []string{w})[w] < 1 {
				t.Errorf("%s, held by the stuck member, never reached node 1's member", w)
			}
		}
	})
}

// TestClusterSharedSubscriptionsExternalNATS: against Debian's
// nats-server 2.9 (no multiple filter subjects on a consumer), a share
// group with a wildcard filter still gets each message once over two
// nodes (its consumer then takes the whole stream, filtered by each node).
func TestClusterSharedSubscriptionsExternalNATS(t *testing.T) {
	natsBin := testutil.Need(t, "nats-server")
	testutil.Need(t, "mosquitto_sub")
	testutil.Need(t, "mosquitto_pub")
	testutil.Need(t, "stdbuf")
	bin := buildBinary(t, t.TempDir())
	port := freePort(t)
	startNATSServer(t, natsBin, port, "-js", "-sd", t.TempDir())
	url := "nats://127.0.0.1:" + port
	nodes := []*heraldProc{
		startHerald(t, bin, "js0", "--nats-url", url),
		startHerald(t, bin, "js1", "--nats-url", url),
	}
	for _, n := range nodes {
		n.waitReady(t, 0)
	}
	waitMeshProcs(t, nodes)
	arrived := make(chan struct{}, 1)
	members := []*shareMember{
		startMember(t, nodes[0], "e-a", "$share/e/ext/+/#", arrived),
		startMember(t, nodes[1], "e-b", "$share/e/ext/+/#", arrived),
	}
	warmUp(t, nodes[0], "ext/warm", members, arrived)
	const n = 40
	want := payloadList("e", n)
	publishLines(t, nodes[0], "ext/a/b", want, 0, nil)
	publishLines(t, nodes[0], "other/a/b", payloadList("x", 5), 0, nil) // not the group's
	publishLines(t, nodes[0], "ext/end", []string{"end"}, 0, nil)
	total := waitAll(t, "group e", members, arrived, "e", append(want, "end"))
	for _, w := range want {
		if total[w] != 1 {
			t.Errorf("%s received %d times, want once", w, total[w])
		}
	}
	if others, _ := counts(members, "x"); len(others) != 0 {
		t.Errorf("the group got other/a/b messages: %v", others)
	}
	_, per := counts(members, "e")
	t.Logf("per member: %v", per)
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("not balanced over the nodes: %v", per)
	}
}
