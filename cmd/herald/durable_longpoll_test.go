package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// lpClient is a long-polling client of the herald binary, as herald.js
// is: numbered POSTs, polls that acknowledge what arrived.
type lpClient struct {
	t    *testing.T
	base string
	id   string
}

func lpOpen(t *testing.T, h *proc) *lpClient {
	t.Helper()
	c := &lpClient{t: t, base: "http://" + h.http + "/poll"}
	status, body := c.do("POST", c.base, "")
	if status != 201 {
		t.Fatalf("open: %d %s", status, body)
	}
	var v struct{ Session string }
	json.Unmarshal(body, &v)
	c.id = v.Session
	return c
}

func (c *lpClient) do(method, url, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	cl := http.Client{Timeout: 20 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// on points the client at another run of the server.
func (c *lpClient) on(h *proc) { c.base = "http://" + h.http + "/poll" }

func (c *lpClient) post(seq int, msgs ...string) (int, string) {
	c.t.Helper()
	status, b := c.do("POST", fmt.Sprintf("%s?session=%s&seq=%d", c.base, c.id, seq), strings.Join(msgs, "\n"))
	return status, string(b)
}

type lpMsg struct {
	n      uint64
	method string
	raw    string
	data   any
	seq    float64
}

// poll acknowledges up to ack and returns the next batch.
func (c *lpClient) poll(ack uint64) []lpMsg {
	c.t.Helper()
	status, b := c.do("GET", fmt.Sprintf("%s?session=%s&ack=%d", c.base, c.id, ack), "")
	if status != 200 {
		c.t.Fatalf("poll: %d %s", status, b)
	}
	var batch struct {
		Seq      uint64
		Messages []json.RawMessage
	}
	if err := json.Unmarshal(b, &batch); err != nil {
		c.t.Fatalf("poll: %v: %s", err, b)
	}
	var out []lpMsg
	for i, raw := range batch.Messages {
		var m struct {
			Method string
			Params struct {
				Data any
				Seq  float64
			}
		}
		json.Unmarshal(raw, &m)
		out = append(out, lpMsg{n: batch.Seq + uint64(i), method: m.Method, raw: string(raw), data: m.Params.Data, seq: m.Params.Seq})
	}
	return out
}

// until polls (acknowledging from ack) until want messages arrived.
func (c *lpClient) until(ack uint64, want int) []lpMsg {
	c.t.Helper()
	var got []lpMsg
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < want {
		if time.Now().After(deadline) {
			c.t.Fatalf("got %d messages, want %d: %v", len(got), want, got)
		}
		// Not acknowledged, the messages come again: keep the new ones.
		for _, m := range c.poll(ack) {
			if len(got) == 0 || m.n > got[len(got)-1].n {
				got = append(got, m)
			}
		}
	}
	return got
}

func rpc(id, method, params string) string {
	return `{"jsonrpc":"2.0","id":"` + id + `","method":"` + method + `","params":` + params + `}`
}

// kill -9 of the server while a long-poll client has messages it has not
// acknowledged: after the restart the same session goes on, the
// unacknowledged messages come again under the same numbers, what is
// published later arrives, and a retried POST is applied once.
func TestDurableLongPollKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := startDurable(t, dir, "--durable-topics", "d/#")
	sub := lpOpen(t, h)
	if s, b := sub.post(1, rpc("s", "subscribe", `{"topic":"d/t"}`)); s != 202 {
		t.Fatalf("subscribe: %d %s", s, b)
	}
	res := sub.until(0, 1)[0]
	pub := lpOpen(t, h)
	if s, b := pub.post(1, rpc("1", "publish", `{"topic":"d/t","data":"one"}`), rpc("2", "publish", `{"topic":"d/t","data":"two"}`),
		rpc("3", "publish", `{"topic":"d/t","data":"three"}`)); s != 202 {
		t.Fatalf("publish: %d %s", s, b)
	}
	before := sub.until(res.n, 3) // seen, not acknowledged
	if before[0].data != "one" || before[2].data != "three" {
		t.Fatalf("before the crash: %v", before)
	}
	h.kill9(t)

	h = startDurable(t, dir, "--durable-topics", "d/#")
	sub.on(h)
	pub.on(h)
	again := sub.until(res.n, 3)
	for i := range before {
		if again[i].n != before[i].n || again[i].raw != before[i].raw {
			t.Fatalf("after restart message %d: %v, before: %v", i, again[i], before[i])
		}
	}
	last := again[2].n
	// Published after the restart, by the publisher's own session, and a
	// retried POST of the subscriber's: applied once.
	if s, b := pub.post(2, rpc("4", "publish", `{"topic":"d/t","data":"four"}`)); s != 202 {
		t.Fatalf("publish after restart: %d %s", s, b)
	}
	if s, b := sub.post(2, rpc("5", "publish", `{"topic":"d/t","data":"five"}`)); s != 202 {
		t.Fatalf("subscriber's POST: %d %s", s, b)
	}
	if s, b := sub.post(2, rpc("5", "publish", `{"topic":"d/t","data":"five"}`)); s != 200 || !strings.Contains(b, `"duplicate":true`) {
		t.Fatalf("retried POST: %d %s", s, b)
	}
	h.kill9(t)
	h = startDurable(t, dir, "--durable-topics", "d/#")
	sub.on(h)
	pub.on(h)
	// The retry again, on the next run: still applied once.
	if s, b := sub.post(2, rpc("5", "publish", `{"topic":"d/t","data":"five"}`)); s != 200 || !strings.Contains(b, `"duplicate":true`) {
		t.Fatalf("retried POST after restart: %d %s", s, b)
	}
	if s, b := pub.post(3, rpc("6", "publish", `{"topic":"d/t","data":"end"}`)); s != 202 {
		t.Fatalf("publish: %d %s", s, b)
	}
	var datas []any
	seqs := map[float64]bool{}
	ack := last
	for len(datas) == 0 || datas[len(datas)-1] != "end" {
		batch := sub.until(ack, 1)
		for _, m := range batch {
			if m.method == "message" {
				datas = append(datas, m.data)
				if seqs[m.seq] {
					t.Fatalf("topic seq %v twice: %v", m.seq, batch)
				}
				seqs[m.seq] = true
			}
			ack = m.n
		}
	}
	if fmt.Sprint(datas) != "[four five end]" {
		t.Fatalf("after restart the subscriber got %v, want [four five end]", datas)
	}
	if !seqs[4] || !seqs[6] {
		t.Fatalf("topic positions %v: the durable topic's numbering did not go on", seqs)
	}
	// A clean stop keeps the session too (it does not end it).
	h.stop(t)
	h = startDurable(t, dir, "--durable-topics", "d/#")
	sub.on(h)
	pub.on(h)
	if s, b := pub.post(4, rpc("7", "publish", `{"topic":"d/t","data":"after stop"}`)); s != 202 {
		t.Fatalf("publish after a clean restart: %d %s", s, b)
	}
	if m := sub.until(ack, 1); m[0].data != "after stop" || m[0].n != ack+1 {
		t.Fatalf("after a clean restart: %v (acknowledged %d)", m, ack)
	}
	h.stop(t)
}

// herald.js over long polling keeps its session across a kill -9 of the
// server (restarted on the same address and data directory): no
// "session gone", every message once and in order.
func TestDurableLongPollHeraldJS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln := testutil.Listen(t)
	addr := ln.Addr().String()
	ln.Close()
	h := startDurable(t, dir, "--durable-topics", "d/#", "--listen", addr)
	lines, wait := nodeLines(t, map[string]string{
		"HERALD_URL": "http://" + addr,
		"HERALD_JS":  filepath.Join(testutil.Root(t), "web", "herald.js"),
	}, "durable_longpoll.mjs")
	var datas []string
	var seqs []float64
	next := func() map[string]any {
		t.Helper()
		for v := range lines {
			if l, ok := v["log"].(string); ok && strings.Contains(l, "closed") {
				t.Fatalf("herald.js lost its session: %v", l)
			}
			if d, ok := v["data"]; ok {
				datas = append(datas, fmt.Sprint(d))
				seqs = append(seqs, v["seq"].(float64))
			}
			return v
		}
		t.Fatalf("herald.js exited: %v", wait())
		return nil
	}
	for v := next(); v["subscribed"] == nil; v = next() {
	}
	pub := lpOpen(t, h)
	if s, b := pub.post(1, rpc("1", "publish", `{"topic":"d/js","data":"1"}`), rpc("2", "publish", `{"topic":"d/js","data":"2"}`)); s != 202 {
		t.Fatalf("publish: %d %s", s, b)
	}
	for len(datas) < 2 {
		next()
	}
	h.kill9(t)
	h = startDurable(t, dir, "--durable-topics", "d/#", "--listen", addr)
	pub = lpOpen(t, h) // a new publisher: what is tested is herald.js's session
	if s, b := pub.post(1, rpc("3", "publish", `{"topic":"d/js","data":"3"}`), rpc("4", "publish", `{"topic":"d/js","data":"end"}`)); s != 202 {
		t.Fatalf("publish after restart: %d %s", s, b)
	}
	for len(datas) == 0 || datas[len(datas)-1] != "end" {
		next()
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(datas) != "[1 2 3 end]" || fmt.Sprint(seqs) != "[1 2 3 4]" {
		t.Fatalf("herald.js got %v (seqs %v), want [1 2 3 end] (1 2 3 4)", datas, seqs)
	}
	h.stop(t)
}
