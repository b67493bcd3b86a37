package emulate

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/native"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/store"
)

// durableRun is one run of a server whose sessions and "d/#" history are
// kept in dir.
type durableRun struct {
	*fixture
	db     *durable.DB
	file   *store.FileSessions
	router *router.Router
	hs     *httptest.Server
}

func startDurable(t *testing.T, dir string, clk *clock) *durableRun {
	t.Helper()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := store.NewFileHistory(db, 100, 0, []string{"d/#"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.NewFileSessions(db)
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Options{HistorySize: 100, History: hist})
	c := core.New(core.Config{Router: rt})
	c.Register(native.RPC{})
	m := New(Config{Core: c, Adapter: native.RPC{}, Protocol: native.Subprotocol, Store: st, Now: clk.Now, SessionTimeout: 30 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/poll", m.Poll())
	mux.Handle("/stream", m.Stream())
	hs := httptest.NewServer(mux)
	run := &durableRun{fixture: &fixture{core: c, m: m, clock: clk, url: hs.URL}, db: db, file: st, router: rt, hs: hs}
	t.Cleanup(run.stop)
	return run
}

var stopMu sync.Mutex

func (r *durableRun) stop() {
	stopMu.Lock()
	defer stopMu.Unlock()
	if r.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.core.Shutdown(ctx)
	r.hs.Close()
	r.router.Close()
	r.db.Close()
	r.db = nil
}

// pollAll polls with ack until the session has given n messages, and
// returns them by number.
func pollAll(t *testing.T, url, id string, ack uint64, n int) map[uint64]map[string]any {
	t.Helper()
	got := map[uint64]map[string]any{}
	for len(got) < n {
		status, m := do(t, "GET", fmt.Sprintf("%s/poll?session=%s&ack=%d", url, id, ack), "")
		if status != 200 {
			t.Fatalf("poll: %d %v", status, m)
		}
		first := uint64(m["seq"].(float64))
		for i, v := range m["messages"].([]any) {
			got[first+uint64(i)] = v.(map[string]any)
		}
	}
	return got
}

// TestTakeoverAfterRestart: a session continues on the next run of the
// server with its numbers, its unacknowledged messages, its
// subscriptions (durable topics replayed from history in the same
// epoch, others reported as missed) and its POST numbers.
func TestTakeoverAfterRestart(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	a := startDurable(t, dir, clk)
	id := a.open(t)
	if s, m := do(t, "POST", a.url+"/poll?session="+id+"&seq=1", `{"jsonrpc":"2.0","id":"s1","method":"subscribe","params":{"topic":"d/t"}}`+"\n"+
		`{"jsonrpc":"2.0","id":"s2","method":"subscribe","params":{"topic":"v"}}`); s != 202 {
		t.Fatalf("subscribe: %d %v", s, m)
	}
	before := pollAll(t, a.url, id, 0, 2) // the two results
	a.publish(t, "d/t", 3)
	a.publish(t, "v", 1)
	got := pollAll(t, a.url, id, 0, 6)
	if len(got) != 6 || len(before) != 2 {
		t.Fatalf("before restart: %v", got)
	}
	epoch := got[3]["params"].(map[string]any)["epoch"]
	// Acknowledge the results and the first message only.
	do(t, "GET", a.url+"/poll?session="+id+"&ack=3&wait=0", "")
	a.stop()

	b := startDurable(t, dir, clk)
	// The same session, the unacknowledged messages with their numbers.
	again := pollAll(t, b.url, id, 3, 3)
	for n := uint64(4); n <= 6; n++ {
		if fmt.Sprint(again[n]) != fmt.Sprint(got[n]) {
			t.Fatalf("message %d after restart: %v, before: %v", n, again[n], got[n])
		}
	}
	// The non-durable topic's place is gone: "missed", with reset.
	rest := pollAll(t, b.url, id, 6, 1)
	missed := rest[7]
	if missed["method"] != "missed" || missed["params"].(map[string]any)["topic"] != "v" || missed["params"].(map[string]any)["reset"] != true {
		t.Fatalf("after restart: %v", rest)
	}
	// The durable topic goes on in its epoch, after what was delivered.
	b.publish(t, "d/t", 1)
	live := pollAll(t, b.url, id, 7, 1)[8]["params"].(map[string]any)
	if live["seq"] != float64(4) || live["epoch"] != epoch || live["data"] != "m1" {
		t.Fatalf("live after restart: %v (epoch before %v)", live, epoch)
	}
	// A POST applied before the restart is not applied again.
	if s, m := do(t, "POST", b.url+"/poll?session="+id+"&seq=1", `{"jsonrpc":"2.0","id":"again","method":"publish","params":{"topic":"d/t","data":"x"}}`); s != 200 || m["duplicate"] != true {
		t.Fatalf("retried POST: %d %v", s, m)
	}
	if s, _ := do(t, "POST", b.url+"/poll?session="+id+"&seq=2", `{"jsonrpc":"2.0","id":"p","method":"publish","params":{"topic":"d/t","data":"y"}}`); s != 202 {
		t.Fatalf("next POST: %d", s)
	}
	if b.m.Sessions() != 1 || b.core.Sessions() != 1 {
		t.Fatalf("%d sessions, %d core sessions", b.m.Sessions(), b.core.Sessions())
	}
}

// TestTakeoverConcurrent: requests racing for a session kept by the
// previous run open it once.
func TestTakeoverConcurrent(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	a := startDurable(t, dir, clk)
	id := a.open(t)
	a.stop()

	b := startDurable(t, dir, clk)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if s, m := do(t, "GET", b.url+"/poll?session="+id+"&wait=0", ""); s != 200 {
				t.Errorf("poll: %d %v", s, m)
			}
		})
		wg.Go(func() { // a POST racing the takeover finds the session complete
			if s, m := do(t, "POST", fmt.Sprintf("%s/poll?session=%s&seq=%d", b.url, id, i+1), `{"jsonrpc":"2.0","method":"subscribe","params":{"topic":"x"}}`); s != 202 {
				t.Errorf("POST: %d %v", s, m)
			}
		})
	}
	wg.Wait()
	if b.m.Sessions() != 1 || b.core.Sessions() != 1 {
		t.Fatalf("%d sessions, %d core sessions", b.m.Sessions(), b.core.Sessions())
	}
	if s, _ := do(t, "GET", b.url+"/poll?session=unknown&wait=0", ""); s != 404 {
		t.Fatalf("unknown session: %d", s)
	}
}

// TestTakeoverExpired: a session idle past the timeout across the
// restart is gone, from the file too.
func TestTakeoverExpired(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	a := startDurable(t, dir, clk)
	id, kept := a.open(t), a.open(t)
	a.stop()

	clk.Add(20 * time.Second)
	b := startDurable(t, dir, clk)
	do(t, "GET", b.url+"/poll?session="+kept+"&wait=0", "")
	clk.Add(20 * time.Second)
	s, m := do(t, "GET", b.url+"/poll?session="+id+"&wait=0", "")
	if s != 410 || m["error"].(map[string]any)["code"] != "session_expired" {
		t.Fatalf("expired session: %d %v", s, m)
	}
	b.stop()
	c := startDurable(t, dir, clk)
	if ids := c.file.IDs(); len(ids) != 1 || ids[0] != kept {
		t.Fatalf("sessions in the file: %v, want [%s]", ids, kept)
	}
}

// TestTakeoverStream: a stream reconnecting to the next run of the server
// gets the messages after its Last-Event-ID under their numbers, then
// new ones.
func TestTakeoverStream(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	a := startDurable(t, dir, clk)
	id := a.open(t)
	do(t, "POST", a.url+"/poll?session="+id+"&seq=1", `{"jsonrpc":"2.0","id":"s","method":"subscribe","params":{"topic":"d/s"}}`)
	pollAll(t, a.url, id, 0, 1)
	a.publish(t, "d/s", 2)
	pollAll(t, a.url, id, 0, 3)
	a.stop()

	b := startDurable(t, dir, clk)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url+"/stream?session="+id, nil)
	req.Header.Set("Last-Event-ID", "2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	next := func() (id, data string) {
		t.Helper()
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "" && data != "":
				return id, data
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return
	}
	if n, d := next(); n != "3" || !strings.Contains(d, `"data":"m2"`) {
		t.Fatalf("first event after restart: id %s %s", n, d)
	}
	b.publish(t, "d/s", 1)
	if n, d := next(); n != "4" || !strings.Contains(d, `"seq":3`) {
		t.Fatalf("live event after restart: id %s %s", n, d)
	}
}

// TestTakeoverEnded: a session that ended with messages left in its log
// hands them, with the end, to the first poll after a restart, then is
// gone.
func TestTakeoverEnded(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	a := startDurable(t, dir, clk)
	id := a.open(t)
	do(t, "POST", a.url+"/poll?session="+id+"&seq=1", `{"jsonrpc":"2.0","id":"s","method":"subscribe","params":{"topic":"d/e"}}`)
	pollAll(t, a.url, id, 0, 1)
	a.publish(t, "d/e", 1)
	waitUntil(t, func() bool { info, _ := a.file.Info(id); return info.Next == 3 })
	a.m.live[id].cs.CloseWith(core.ClosePolicyViolation, "slow consumer")
	waitUntil(t, func() bool { info, _ := a.file.Info(id); return info.Ended })
	a.stop()

	b := startDurable(t, dir, clk)
	s, m := do(t, "GET", b.url+"/poll?session="+id+"&ack=1", "")
	if s != 200 || len(m["messages"].([]any)) != 1 || m["closed"].(map[string]any)["reason"] != "slow consumer" {
		t.Fatalf("first poll after restart: %d %v", s, m)
	}
	if s, _ := do(t, "GET", b.url+"/poll?session="+id+"&ack=2", ""); s != 410 {
		t.Fatalf("then: %d", s)
	}
	if b.core.Sessions() != 0 {
		t.Fatalf("%d core sessions", b.core.Sessions())
	}
}
