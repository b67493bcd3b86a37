package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// Process tests of STOMP /queue/ in a cluster with JetStream: the
// queue's messages live in the cluster's queue stream, so they survive
// the node that held them, and what a client received and did not
// acknowledge goes to a consumer on any node (Debian's stomp.py).

// queueDelivery is one MESSAGE a consumer printed.
type queueDelivery struct {
	Body        string
	Redelivered bool
}

// queueConsumer starts tests/python/stomp_queue_consume.py on n and waits
// until its subscription is confirmed.
func queueConsumer(t *testing.T, n *heraldProc, dest string, env map[string]string) *lineProc {
	t.Helper()
	e := map[string]string{"STOMP_ADDR": n.stomp, "STOMP_DEST": dest}
	for k, v := range env {
		e[k] = v
	}
	c := startLines(t, e, "/usr/bin/python3", filepath.Join(testutil.Root(t), "tests", "python", "stomp_queue_consume.py"))
	c.waitLine(t, "a queue consumer on "+n.name, func(l string) bool { return l == "ready" })
	return c
}

// queueSender starts tests/python/stomp_queue_send.py on n: count
// messages prefix<k>, one every interval, each awaited by its receipt.
func queueSender(t *testing.T, n *heraldProc, dest, prefix string, count int, interval time.Duration) *lineProc {
	t.Helper()
	return startLines(t, map[string]string{"STOMP_ADDR": n.stomp, "STOMP_DEST": dest, "PREFIX": prefix,
		"COUNT": fmt.Sprint(count), "INTERVAL": fmt.Sprint(interval.Seconds())},
		"/usr/bin/python3", filepath.Join(testutil.Root(t), "tests", "python", "stomp_queue_send.py"))
}

// nextDelivery returns c's next MESSAGE, failing after a hang guard.
func (lp *lineProc) nextDelivery(t *testing.T, what string) queueDelivery {
	t.Helper()
	var d queueDelivery
	lp.waitLine(t, what, func(l string) bool { return strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &d) == nil })
	return d
}

// waitSent waits until the sender printed "finished" and returns the
// bodies it sent (each confirmed by a receipt).
func (lp *lineProc) waitSent(t *testing.T, timeout time.Duration) []string {
	t.Helper()
	var sent []string
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lp.lines:
			if !ok {
				t.Fatalf("the sender exited after %d messages", len(sent))
			}
			if body, ok := strings.CutPrefix(l, "sent "); ok {
				sent = append(sent, body)
			} else if l == "finished" {
				return sent
			}
		case <-deadline:
			t.Fatalf("the sender sent %d messages in %v", len(sent), timeout)
		}
	}
}

// TestClusterQueueSurvivesKilledNode: a client-acknowledging consumer on
// node0 holds messages unacknowledged when node0 is killed with kill -9;
// a consumer on node1 receives them, marked redelivered, and every
// message sent on node2 at a steady rate before, during and after the
// failover is consumed: none lost, and a message seen twice only as a
// redelivery of one the lost node held.
func TestClusterQueueSurvivesKilledNode(t *testing.T) {
	testutil.Need(t, "/usr/bin/python3")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)
	const dest = "/queue/failover"

	// node0's client takes at most 10 and acknowledges none of them.
	holder := queueConsumer(t, nodes[0], dest, map[string]string{"MODE": "hold", "PREFETCH": "10"})
	const total = 200
	sender := queueSender(t, nodes[2], dest, "f-", total, 25*time.Millisecond)
	held := map[string]bool{}
	for len(held) < 10 {
		d := holder.nextDelivery(t, "the held messages on node0")
		if d.Redelivered {
			t.Fatalf("%s redelivered to its first consumer", d.Body)
		}
		held[d.Body] = true
	}
	// node1's client acknowledges what it gets; node0 keeps what it holds
	// (it tells the stream so) while it lives.
	taker := queueConsumer(t, nodes[1], dest, map[string]string{"MODE": "ack"})
	first := taker.nextDelivery(t, "a message on node1")
	if held[first.Body] {
		t.Fatalf("node1 got %s, held on node0, while node0 is alive", first.Body)
	}
	got := map[string]int{first.Body: 1}
	redelivered := map[string]bool{}
	if first.Redelivered {
		redelivered[first.Body] = true
	}

	if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[0].done
	killed := time.Now()
	sent := sender.waitSent(t, 60*time.Second)
	if len(sent) != total {
		t.Fatalf("sent %d of %d", len(sent), total)
	}
	var heldBack time.Duration
	for missing := func() int {
		n := 0
		for _, b := range sent {
			if got[b] == 0 {
				n++
			}
		}
		return n
	}; missing() > 0; {
		d := taker.nextDelivery(t, fmt.Sprintf("the %d messages not yet consumed", missing()))
		got[d.Body]++
		if d.Redelivered {
			redelivered[d.Body] = true
		}
		if held[d.Body] && heldBack == 0 {
			heldBack = time.Since(killed)
		}
	}
	// A message comes twice only as a redelivery: of one node0 held, or
	// of one node1 acknowledged while the queue's consumer was led from
	// node0 (an acknowledgement can be lost with its leader).
	for b, n := range got {
		if n > 1 && !redelivered[b] {
			t.Errorf("%s consumed %d times on node1, never marked redelivered", b, n)
		}
	}
	for b := range held {
		if !redelivered[b] {
			t.Errorf("%s, held on the killed node, came to node1 without redelivered:true", b)
		}
	}
	// A message may have gone to node0 without reaching its client (its
	// node pulled it): node1 gets it marked redelivered too.
	extra := 0
	for b := range redelivered {
		if !held[b] {
			extra++
		}
	}
	resp, err := http.Get(nodes[1].http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "herald_cluster_queue_held ") {
		t.Error("/metrics has no herald_cluster_queue_held")
	}
	t.Logf("sent %d on node2; node0's client held %d and node1's got them %v after kill -9; %d more came to node1 redelivered (taken by node0, not yet given to its client)",
		len(sent), len(held), heldBack.Round(100*time.Millisecond), extra)
}

// TestClusterQueueNackAndDisconnectGiveBack: a NACK on one node, a
// client that disconnects holding messages unacknowledged, and one whose
// node shuts down, return the messages to the cluster's queue at once,
// for a consumer on any node; an ACK in a transaction counts at COMMIT.
func TestClusterQueueNackAndDisconnectGiveBack(t *testing.T) {
	testutil.Need(t, "/usr/bin/python3")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)

	// NACK: node0's client refuses each message the first time; node1's
	// acknowledges everything. Each message is acknowledged once, and
	// each refused one comes back (to either) marked redelivered.
	const nackDest, n = "/queue/nack", 30
	nacker := queueConsumer(t, nodes[0], nackDest, map[string]string{"MODE": "nack-first", "PREFETCH": "5"})
	acker := queueConsumer(t, nodes[1], nackDest, map[string]string{"MODE": "ack", "PREFETCH": "5"})
	sent := queueSender(t, nodes[2], nackDest, "n-", n, 0).waitSent(t, 30*time.Second)
	acked := map[string]int{}
	refused := map[string]bool{}
	back := map[string]bool{}
	lines := make(chan queueDelivery, 2*n)
	from := func(c *lineProc, who string) {
		for l := range c.lines {
			var d queueDelivery
			if json.Unmarshal([]byte(l), &d) == nil && d.Body != "" {
				lines <- queueDelivery{Body: who + " " + d.Body, Redelivered: d.Redelivered}
			}
		}
	}
	go from(nacker, "nacker")
	go from(acker, "acker")
	deadline := time.After(30 * time.Second)
	for len(acked) < len(sent) {
		select {
		case d := <-lines:
			who, body, _ := strings.Cut(d.Body, " ")
			switch {
			case who == "nacker" && !d.Redelivered:
				refused[body] = true
			default:
				acked[body]++
				if d.Redelivered {
					back[body] = true
				}
			}
		case <-deadline:
			t.Fatalf("NACK: %d of %d acknowledged (%d refused)", len(acked), len(sent), len(refused))
		}
	}
	for _, b := range sent {
		if acked[b] != 1 {
			t.Errorf("NACK: %s acknowledged %d times", b, acked[b])
		}
		if refused[b] && !back[b] {
			t.Errorf("NACK: %s refused, then delivered without redelivered:true", b)
		}
	}
	if len(refused) == 0 {
		t.Error("NACK: node0's client refused nothing: the test proved nothing")
	}
	t.Logf("NACK: %d sent, %d refused on node0 and delivered again", len(sent), len(refused))

	// Disconnect: node0's client takes five, acknowledges none and
	// disconnects; node1's client, subscribed meanwhile, gets the five,
	// marked redelivered.
	const discDest = "/queue/disconnect"
	leaver := queueConsumer(t, nodes[0], discDest, map[string]string{"MODE": "hold", "COUNT": "5"})
	queueSender(t, nodes[2], discDest, "d-", 5, 0).waitSent(t, 30*time.Second)
	left := map[string]bool{}
	for range 5 {
		left[leaver.nextDelivery(t, "the messages on node0").Body] = true
	}
	taker := queueConsumer(t, nodes[1], discDest, map[string]string{"MODE": "ack"})
	leaver.waitLine(t, "node0's client to disconnect", func(l string) bool { return l == "done" })
	for range 5 {
		d := taker.nextDelivery(t, "the messages given back by node0's client")
		if !left[d.Body] || !d.Redelivered {
			t.Fatalf("node1 got %+v, want one of %v, redelivered", d, left)
		}
		delete(left, d.Body)
	}

	// Transactions: an ACK inside a transaction acknowledges at COMMIT,
	// not at ABORT. node0's first client ACKs three messages in aborted
	// transactions and leaves: the three come back (to its second
	// client, marked redelivered), which ACKs them in committed ones and
	// leaves: they do not come back, and a consumer on node1 gets the
	// next message sent, first.
	const txDest = "/queue/tx"
	aborter := queueConsumer(t, nodes[0], txDest, map[string]string{"MODE": "tx-abort", "COUNT": "3"})
	queueSender(t, nodes[2], txDest, "t-", 3, 0).waitSent(t, 30*time.Second)
	aborter.waitLine(t, "the aborting client to finish", func(l string) bool { return l == "done" })
	committer := queueConsumer(t, nodes[0], txDest, map[string]string{"MODE": "tx-commit", "COUNT": "3"})
	for range 3 {
		if d := committer.nextDelivery(t, "the messages whose ACK was aborted"); !d.Redelivered || !strings.HasPrefix(d.Body, "t-") {
			t.Fatalf("after ABORT: %+v, want one of t-0..2 redelivered", d)
		}
	}
	committer.waitLine(t, "the committing client to finish", func(l string) bool { return l == "done" })
	queueSender(t, nodes[2], txDest, "after-", 1, 0).waitSent(t, 30*time.Second)
	if d := queueConsumer(t, nodes[1], txDest, map[string]string{"MODE": "ack"}).nextDelivery(t, "the message after the transactions"); d.Body != "after-0" || d.Redelivered {
		t.Fatalf("after COMMIT: node1 got %+v first, want after-0", d)
	}

	// A graceful shutdown (SIGTERM) of a node closes its clients: what
	// they held unacknowledged goes to a consumer on another node.
	const stopDest = "/queue/shutdown"
	holder := queueConsumer(t, nodes[0], stopDest, map[string]string{"MODE": "hold"})
	queueSender(t, nodes[2], stopDest, "s-", 4, 0).waitSent(t, 30*time.Second)
	held := map[string]bool{}
	for range 4 {
		held[holder.nextDelivery(t, "the messages on node0").Body] = true
	}
	next := queueConsumer(t, nodes[1], stopDest, map[string]string{"MODE": "ack"})
	stopping := time.Now()
	nodes[0].stop(t)
	for range 4 {
		d := next.nextDelivery(t, "the messages node0 held when it shut down")
		if !held[d.Body] || !d.Redelivered {
			t.Fatalf("node1 got %+v, want one of %v, redelivered", d, held)
		}
		delete(held, d.Body)
	}
	t.Logf("shutdown: node1 got the 4 messages %v after node0 was told to stop", time.Since(stopping).Round(10*time.Millisecond))
}
