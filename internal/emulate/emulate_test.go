package emulate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/native"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/store"
)

// clock is an injected time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

type fixture struct {
	core  *core.Core
	m     *Manager
	store *store.MemorySessions
	clock *clock
	url   string
}

func newFixture(t *testing.T, cfg core.Config) *fixture {
	t.Helper()
	cfg.Router = router.New(router.Options{HistorySize: 100})
	c := core.New(cfg)
	c.Register(native.RPC{})
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	st := store.NewMemorySessions()
	m := New(Config{Core: c, Adapter: native.RPC{}, Protocol: native.Subprotocol, Store: st, Now: clk.Now, SessionTimeout: 30 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/poll", m.Poll())
	mux.Handle("/stream", m.Stream())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Shutdown(ctx)
		hs.Close()
		cfg.Router.Close()
	})
	return &fixture{core: c, m: m, store: st, clock: clk, url: hs.URL}
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func (f *fixture) open(t *testing.T) string {
	t.Helper()
	status, m := do(t, "POST", f.url+"/poll", "")
	if status != 201 {
		t.Fatalf("open: %d %v", status, m)
	}
	return m["session"].(string)
}

// subscribe subscribes the session and waits for the answer in its log:
// a POST is answered before its messages have run.
func (f *fixture) subscribe(t *testing.T, id, topic string) {
	t.Helper()
	info, _ := f.store.Info(id)
	do(t, "POST", f.url+"/poll?session="+id, `{"jsonrpc":"2.0","id":"sub","method":"subscribe","params":{"topic":"`+topic+`"}}`)
	waitUntil(t, func() bool { now, _ := f.store.Info(id); return now.Next > info.Next })
}

func (f *fixture) publish(t *testing.T, topic string, n int) {
	t.Helper()
	for i := range n {
		if err := f.core.Publish(context.Background(), nil, &message.Message{Topic: topic, Data: fmt.Appendf(nil, "m%d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitUntil polls a condition; the work it waits for runs on the core's
// pools, so there is nothing to block on.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestExpiry: a session without requests for the session timeout ends;
// one that polls does not, nor one with a poll in progress.
func TestExpiry(t *testing.T) {
	f := newFixture(t, core.Config{})
	idle, busy := f.open(t), f.open(t)
	f.clock.Add(20 * time.Second)
	do(t, "GET", f.url+"/poll?session="+busy+"&wait=0", "")
	f.m.Expire(f.clock.Add(11 * time.Second)) // idle: 31 s quiet; busy: 11 s
	waitUntil(t, func() bool { return f.m.Sessions() == 1 })
	status, m := do(t, "GET", f.url+"/poll?session="+idle, "")
	if status != 410 || m["error"].(map[string]any)["code"] != "session_expired" {
		t.Errorf("expired session: %d %v", status, m)
	}
	if status, _ := do(t, "GET", f.url+"/poll?session="+busy+"&wait=0", ""); status != 200 {
		t.Errorf("active session: %d", status)
	}

	// A poll in progress keeps the session whatever the clock says.
	held := make(chan int, 1)
	go func() {
		resp, err := http.Get(f.url + "/poll?session=" + busy)
		if err == nil {
			resp.Body.Close()
			held <- resp.StatusCode
		}
	}()
	waitUntil(t, func() bool {
		ss := f.m.live[busy]
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return ss.polls == 1
	})
	f.m.Expire(f.clock.Add(time.Hour))
	if f.m.Sessions() != 1 {
		t.Fatal("a session with a held poll expired")
	}
	f.publish(t, "nothing", 1) // does not wake it; a subscribe reply does:
	do(t, "POST", f.url+"/poll?session="+busy+"&seq=1", `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"x"}}`)
	if s := <-held; s != 200 {
		t.Errorf("held poll: %d", s)
	}
	// Idle again after the poll ended: an hour later it expires.
	f.m.Expire(f.clock.Add(time.Hour))
	waitUntil(t, func() bool { return f.m.Sessions() == 0 })
	if f.core.Sessions() != 0 {
		t.Errorf("%d core sessions left", f.core.Sessions())
	}
}

// TestBackpressure: a session whose client does not acknowledge fills
// its log; acknowledging lets the rest through, in order, nothing lost.
func TestBackpressure(t *testing.T) {
	f := newFixture(t, core.Config{Queue: outq.Limits{Messages: 64}})
	f.m.cfg.Log = store.LogLimits{Messages: 8}
	id := f.open(t)
	f.subscribe(t, id, "bp")
	f.publish(t, "bp", 12) // 13 messages with the reply: log 8, queue the rest
	waitUntil(t, func() bool { info, _ := f.store.Info(id); return info.Pending == 8 })
	ack, seq := 0, 0
	for ack < 13 {
		status, m := do(t, "GET", fmt.Sprintf("%s/poll?session=%s&ack=%d", f.url, id, ack), "")
		if status != 200 {
			t.Fatalf("poll: %d %v", status, m)
		}
		for _, v := range m["messages"].([]any) {
			msg := v.(map[string]any)
			if p, ok := msg["params"].(map[string]any); ok {
				seq++
				if p["seq"] != float64(seq) {
					t.Fatalf("message %v after seq %d", p, seq-1)
				}
			}
			ack++
		}
	}
	if seq != 12 {
		t.Errorf("%d publications arrived, want 12", seq)
	}
}

// TestStoreHoldsTakeoverState: subscriptions and the last position of
// every topic reach the store as messages are logged.
func TestStoreHoldsTakeoverState(t *testing.T) {
	f := newFixture(t, core.Config{})
	id := f.open(t)
	f.subscribe(t, id, "a/#")
	f.publish(t, "a/x", 3)
	f.publish(t, `a/"quoted"`, 1)
	// The log is appended before the positions are recorded (a reader in
	// between sees older positions, which only makes a resume replay
	// more): wait for both.
	waitUntil(t, func() bool {
		info, _ := f.store.Info(id)
		return info.Pending == 5 && info.Positions["a/x"].Seq == 3 && info.Positions[`a/"quoted"`].Seq == 1
	})
	info, _ := f.store.Info(id)
	if fmt.Sprint(info.Subscriptions) != "[a/#]" {
		t.Errorf("subscriptions %v", info.Subscriptions)
	}
	if info.Positions["a/x"].Seq != 3 || info.Positions[`a/"quoted"`].Seq != 1 || info.Positions["a/x"].Epoch == "" {
		t.Errorf("positions %v", info.Positions)
	}
}

// TestPositionsOf reads positions from notifications as the native
// protocol writes them, so that a change of format fails here.
func TestPositionsOf(t *testing.T) {
	m := &message.Message{Topic: "t/é", Seq: 9, Epoch: "ep", Data: []byte(`{"k":1}`), ContentType: "application/json"}
	note := append(append([]byte(`{"jsonrpc":"2.0","method":"message","params":`), native.AppendMessageParams(nil, m)...), '}')
	missed, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "missed", "params": map[string]any{"topic": "u", "epoch": "e2", "from": 1, "to": 4}})
	got := positionsOf([][]byte{note, missed, []byte(`{"jsonrpc":"2.0","id":1,"result":true}`)})
	want := map[string]message.Position{"t/é": {Epoch: "ep", Seq: 9}, "u": {Epoch: "e2", Seq: 4}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("positions %v, want %v", got, want)
	}
}

// TestAnotherManagerServesThePoll: the log lives in the store, not in
// the manager that logged it, so a second front (another node, with a
// shared store) can answer the session's next poll.
func TestAnotherManagerServesThePoll(t *testing.T) {
	f := newFixture(t, core.Config{})
	id := f.open(t)
	f.subscribe(t, id, "n")
	f.publish(t, "n", 2)
	waitUntil(t, func() bool { info, _ := f.store.Info(id); return info.Pending == 3 })

	other := New(Config{Core: f.core, Adapter: native.RPC{}, Protocol: native.Subprotocol, Store: f.store})
	first, msgs, err := other.cfg.Store.Read(id, 1, 10, 1<<20)
	if err != nil || first != 2 || len(msgs) != 2 || !strings.Contains(string(msgs[1]), `"data":"m2"`) {
		t.Errorf("read by another manager: %d %q %v", first, msgs, err)
	}
}

// TestPruneReleasesLogs: an ended session's log is kept for one last poll
// only for a while; its tombstone (410) for longer; then it is unknown.
func TestPruneReleasesLogs(t *testing.T) {
	f := newFixture(t, core.Config{})
	id := f.open(t)
	do(t, "POST", f.url+"/poll?session="+id+"&seq=1", `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"p"}}`)
	waitUntil(t, func() bool { info, _ := f.store.Info(id); return info.Pending == 1 })
	f.m.Expire(f.clock.Add(time.Hour))
	waitUntil(t, func() bool { return f.m.Sessions() == 0 })
	if f.store.Len() != 1 {
		t.Fatalf("the ended session's log should wait for a last poll; store holds %d", f.store.Len())
	}
	f.m.prune(f.clock.Add(31 * time.Second))
	if f.store.Len() != 0 {
		t.Errorf("after the session timeout the log should be released; store holds %d", f.store.Len())
	}
	if status, m := do(t, "GET", f.url+"/poll?session="+id, ""); status != 410 || m["error"].(map[string]any)["code"] != "session_expired" {
		t.Errorf("ended session: %d %v", status, m)
	}
	f.m.prune(f.clock.Add(10 * time.Minute))
	if status, _ := do(t, "GET", f.url+"/poll?session="+id, ""); status != 404 {
		t.Errorf("long-ended session: %d, want 404", status)
	}
}
