package herald_test

// Benchmarks of the fallback transports, measured on the herald binary
// (built once per run) in its own process, so that the figures are the
// server's alone: RSS from /proc, Go heap and goroutines from /metrics.
//
//	go test -run='^$' -bench='IdleSSE|IdleLongPoll|SSEFanout' -benchtime=1x .
//
// Client and server share the machine. Results: docs/BENCHMARKS.md.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald/internal/wsframe"
)

var (
	heraldBinOnce sync.Once
	heraldBin     string
	heraldBinErr  error
)

// buildHerald builds cmd/herald once per test binary.
func buildHerald(b *testing.B) string {
	b.Helper()
	heraldBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herald-bench")
		if err != nil {
			heraldBinErr = err
			return
		}
		heraldBin = filepath.Join(dir, "herald")
		out, err := exec.Command("go", "build", "-o", heraldBin, "./cmd/herald").CombinedOutput()
		if err != nil {
			heraldBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if heraldBinErr != nil {
		b.Fatal(heraldBinErr)
	}
	return heraldBin
}

type heraldProc struct {
	addr string
	pid  int
	cmd  *exec.Cmd
}

var addrRe = regexp.MustCompile(`"addr":"([^"]+)"`)

// startHerald runs "herald serve" on a free loopback port with args.
func startHerald(b *testing.B, args ...string) *heraldProc {
	b.Helper()
	cmd := exec.Command(buildHerald(b), append([]string{"serve", "--listen", "127.0.0.1:0", "--stomp-listen=", "--demo=false", "--log-format", "json"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &heraldProc{pid: cmd.Process.Pid, cmd: cmd}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := addrRe.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "herald serving") {
			p.addr = m[1]
			break
		}
	}
	if p.addr == "" {
		b.Fatal("herald did not report its address")
	}
	go io.Copy(io.Discard, stderr)
	return p
}

type serverSample struct {
	rss, heap, goroutines, conns int64
}

func (p *heraldProc) sample(b *testing.B) serverSample {
	b.Helper()
	var s serverSample
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		b.Fatal(err)
	}
	if m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(st); m != nil {
		kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
		s.rss = kb << 10
	}
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metric := func(name string) int64 {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
		if m == nil {
			return -1
		}
		f, _ := strconv.ParseFloat(string(m[1]), 64)
		return int64(f)
	}
	s.heap, s.goroutines, s.conns = metric("go_memstats_heap_inuse_bytes"), metric("go_goroutines"), metric("herald_connections")
	return s
}

// settle waits until the server has n connections and its goroutine
// count and RSS have stopped moving, then samples it.
func (p *heraldProc) settle(b *testing.B, conns int64) serverSample {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last serverSample
	steady := 0
	for steady < 5 {
		if time.Now().After(deadline) {
			b.Fatalf("server did not settle: %+v", last)
		}
		time.Sleep(200 * time.Millisecond) // sampling cadence, not synchronisation
		s := p.sample(b)
		if (conns < 0 || s.conns == conns) && s.goroutines == last.goroutines && abs(s.rss-last.rss) < 64<<10 {
			steady++
		} else {
			steady = 0
		}
		last = s
	}
	return last
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// inParallel runs fn(i) for i in [0, n) on 64 goroutines.
func inParallel(b *testing.B, n int, fn func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
}

func reportIdle(b *testing.B, what string, n int, before, after serverSample) {
	b.Helper()
	per := func(a, b int64) float64 { return float64(b-a) / float64(n) }
	b.ReportMetric(per(before.rss, after.rss), "rss-B/"+what)
	b.ReportMetric(per(before.heap, after.heap), "heap-B/"+what)
	b.ReportMetric(per(before.goroutines, after.goroutines), "goroutines/"+what)
	b.Logf("%d %ss: RSS %d → %d (%.0f B each), heap %d → %d, goroutines %d → %d",
		n, what, before.rss, after.rss, per(before.rss, after.rss), before.heap, after.heap, before.goroutines, after.goroutines)
}

const idleConns = 5000

// benchIdleConns measures server memory per idle connection: idleConns
// raw connections, each set up by open (a request or handshake, waited
// for), against none.
func benchIdleConns(b *testing.B, what string, open func(c net.Conn, i int) error) {
	for range b.N {
		p := startHerald(b)
		before := p.settle(b, 0)
		conns := make([]net.Conn, idleConns)
		inParallel(b, idleConns, func(i int) error {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				return err
			}
			conns[i] = c
			return open(c, i)
		})
		after := p.settle(b, idleConns)
		reportIdle(b, what, idleConns, before, after)
		for _, c := range conns {
			c.Close()
		}
	}
}

// BenchmarkIdleSSE: server memory per idle SSE stream, each following its
// own topic, 5,000 streams against none.
func BenchmarkIdleSSE(b *testing.B) {
	benchIdleConns(b, "stream", func(c net.Conn, i int) error {
		fmt.Fprintf(c, "GET /events?topic=idle/%d HTTP/1.1\r\nHost: bench\r\n\r\n", i)
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("stream %d: %w", i, err)
			}
			if line == "event: ready\n" {
				return nil
			}
		}
	})
}

// BenchmarkIdleWebSocketBaseline measures a herald.v1 WebSocket with one
// subscription the same way, to compare the fallbacks with.
func BenchmarkIdleWebSocketBaseline(b *testing.B) {
	benchIdleConns(b, "conn", func(c net.Conn, i int) error {
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: herald.v1\r\n\r\n")
		sub := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"idle/%d"}}`, i)
		c.Write(wsframe.AppendMaskedFrame(nil, wsframe.OpText, true, [4]byte{1, 2, 3, 4}, sub))
		buf := make([]byte, 0, 1024)
		tmp := make([]byte, 512)
		for !bytes.Contains(buf, []byte(`"result"`)) {
			n, err := c.Read(tmp)
			if err != nil {
				return fmt.Errorf("websocket %d: %w", i, err)
			}
			buf = append(buf, tmp[:n]...)
		}
		return nil
	})
}

// BenchmarkIdleLongPoll: server memory per long-polling session with one
// subscription, between polls and with a poll held.
func BenchmarkIdleLongPoll(b *testing.B) {
	for range b.N {
		// Long timeouts: nothing expires or returns while measuring.
		p := startHerald(b, "--ping-interval", "4m", "--idle-timeout", "10m")
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		base := "http://" + p.addr + "/poll"
		before := p.settle(b, 0)
		ids := make([]string, idleConns)
		inParallel(b, idleConns, func(i int) error {
			resp, err := client.Post(base, "text/plain", nil)
			if err != nil {
				return err
			}
			var open struct{ Session string }
			json.NewDecoder(resp.Body).Decode(&open)
			resp.Body.Close()
			ids[i] = open.Session
			sub := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"idle/%d"}}`, i)
			resp, err = client.Post(base+"?session="+open.Session+"&seq=1", "text/plain", strings.NewReader(sub))
			if err != nil {
				return err
			}
			resp.Body.Close()
			for { // the subscribe result, then the session is idle with an empty log
				resp, err = client.Get(base + "?session=" + open.Session + "&ack=0&wait=0")
				if err != nil {
					return err
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if bytes.Contains(body, []byte(`"id":1`)) {
					break
				}
			}
			resp, err = client.Get(base + "?session=" + open.Session + "&ack=1&wait=0")
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
		client.CloseIdleConnections()
		between := p.settle(b, idleConns)
		reportIdle(b, "session", idleConns, before, between)

		// The same sessions, each with a poll held on its own connection.
		conns := make([]net.Conn, idleConns)
		inParallel(b, idleConns, func(i int) error {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				return err
			}
			conns[i] = c
			_, err = fmt.Fprintf(c, "GET /poll?session=%s&ack=1 HTTP/1.1\r\nHost: bench\r\n\r\n", ids[i])
			return err
		})
		held := p.settle(b, idleConns)
		reportIdle(b, "held-poll", idleConns, before, held)
		for _, c := range conns {
			c.Close()
		}
	}
}

// BenchmarkSSEFanout: deliveries per second to 1,000 SSE subscribers of
// one topic, 2,000 messages of 64 bytes published over a WebSocket with
// 64 publishes outstanding.
func BenchmarkSSEFanout(b *testing.B) {
	const subscribers, messages = 1000, 2000
	for range b.N {
		p := startHerald(b, "--queue-messages", "8192", "--queue-bytes", "16777216")
		var got atomic.Int64
		var ready sync.WaitGroup
		ready.Add(subscribers)
		conns := make([]net.Conn, subscribers)
		inParallel(b, subscribers, func(i int) error {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				return err
			}
			conns[i] = c
			fmt.Fprintf(c, "GET /events?topic=fan HTTP/1.1\r\nHost: bench\r\n\r\n")
			go countEvents(c, &ready, &got)
			return nil
		})
		ready.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		ws, _, err := websocket.Dial(ctx, "ws://"+p.addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
		if err != nil {
			b.Fatal(err)
		}
		window := make(chan struct{}, 64)
		go func() {
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
				<-window
			}
		}()
		payload := strings.Repeat("x", 64)
		b.ResetTimer()
		start := time.Now()
		for i := range messages {
			window <- struct{}{}
			req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"publish","params":{"topic":"fan","data":%q}}`, i, payload)
			if err := ws.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
				b.Fatal(err)
			}
		}
		for got.Load() < subscribers*messages {
			if ctx.Err() != nil {
				b.Fatalf("%d of %d deliveries", got.Load(), subscribers*messages)
			}
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(subscribers*messages)/elapsed.Seconds(), "deliveries/s")
		b.Logf("%d deliveries in %v", subscribers*messages, elapsed)
		ws.CloseNow()
		cancel()
		for _, c := range conns {
			c.Close()
		}
	}
}

// countEvents reads an SSE stream and counts message events (those whose
// data follows an id line) once the ready event has arrived.
func countEvents(c net.Conn, ready *sync.WaitGroup, got *atomic.Int64) {
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if bytes.Equal(line, []byte("event: ready\n")) {
			ready.Done()
			break
		}
	}
	buf := make([]byte, 64<<10)
	n := int64(0)
	var prev byte
	for {
		k, err := br.Read(buf)
		// Each message event ends with a blank line; heart-beats (":")
		// do not, so counting "\n\n" counts events.
		chunk := buf[:k]
		if k > 0 && prev == '\n' && chunk[0] == '\n' {
			n++
		}
		n += int64(bytes.Count(chunk, []byte("\n\n")))
		if k > 0 {
			prev = chunk[k-1]
			got.Add(n)
			n = 0
		}
		if err != nil {
			return
		}
	}
}
