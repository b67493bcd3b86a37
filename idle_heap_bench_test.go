package herald_test

// BenchmarkIdleHeap measures the Go heap one idle, subscribed herald.v1
// WebSocket connection costs the server, exactly: the server runs in the
// benchmark's process and the clients in a child process (this test
// binary re-executed), so the live heap after a forced collection, less
// the same figure before the clients came, is the server's alone.
//
//	go test -run='^$' -bench=IdleHeap -benchtime=1x .
//	HERALD_IDLE_HEAPPROFILE=/tmp/idle.pprof go test -run='^$' -bench=IdleHeap -benchtime=1x .
//	go tool pprof -sample_index=inuse_space -top /tmp/idle.pprof
//
// With HERALD_IDLE_HEAPPROFILE every allocation is sampled
// (MemProfileRate 1), so the profile attributes each byte. RSS includes
// the collector's headroom on top of this; `herald bench idle` measures
// that (docs/BENCHMARKS.md).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/wsframe"
)

const idleHeapConns = 5000

func BenchmarkIdleHeap(b *testing.B) {
	profile := os.Getenv("HERALD_IDLE_HEAPPROFILE")
	if profile != "" {
		old := runtime.MemProfileRate
		runtime.MemProfileRate = 1
		b.Cleanup(func() { runtime.MemProfileRate = old })
	}
	for range b.N {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := herald.New(herald.Options{})
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)

		before := liveHeap()
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleHeapClient$", "-test.count=1")
		cmd.Env = append(os.Environ(), "HERALD_IDLE_CLIENT="+ln.Addr().String()+","+strconv.Itoa(idleHeapConns))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// The child prints "ready" once every subscription is confirmed.
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready = true
				break
			}
		}
		if !ready {
			cmd.Wait()
			b.Fatal("client process did not get its connections ready")
		}
		after := liveHeap()
		per := float64(after.HeapAlloc-before.HeapAlloc) / idleHeapConns
		b.ReportMetric(per, "heap-B/conn")
		b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/idleHeapConns, "objects/conn")
		b.Logf("%d connections: live heap %d → %d B (%.0f B each), objects %d → %d",
			idleHeapConns, before.HeapAlloc, after.HeapAlloc, per, before.HeapObjects, after.HeapObjects)
		if profile != "" {
			f, err := os.Create(profile)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}

		stdin.Close() // the child closes its connections and exits
		go io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("client process: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		srv.Shutdown(ctx)
		hs.Shutdown(ctx)
		cancel()
	}
}

// liveHeap is the heap after a full collection (two, so that objects
// freed by finalizers are gone too).
func liveHeap() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// TestIdleHeapClient is BenchmarkIdleHeap's client process: it opens the
// connections, subscribes each to its own topic, prints "ready" and holds
// them until its standard input closes. Run on its own it is skipped.
func TestIdleHeapClient(t *testing.T) {
	spec := os.Getenv("HERALD_IDLE_CLIENT")
	if spec == "" {
		t.Skip("the client process of BenchmarkIdleHeap")
	}
	var addr string
	var n int
	if i := bytes.LastIndexByte([]byte(spec), ','); i > 0 {
		addr = spec[:i]
		n, _ = strconv.Atoi(spec[i+1:])
	}
	conns := make([]net.Conn, n)
	errs := make(chan error, 64)
	next := make(chan int)
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	for range 64 {
		go func() {
			for i := range next {
				c, err := idleSubscribe(addr, i)
				conns[i] = c
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// idleSubscribe opens one herald.v1 WebSocket and subscribes it to
// idle/<i>, waiting for the result.
func idleSubscribe(addr string, i int) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: herald.v1\r\n\r\n")
	sub := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"idle/%d"}}`, i)
	if _, err := c.Write(wsframe.AppendMaskedFrame(nil, wsframe.OpText, true, [4]byte{1, 2, 3, 4}, sub)); err != nil {
		return c, err
	}
	buf := make([]byte, 0, 1024)
	tmp := make([]byte, 512)
	for !bytes.Contains(buf, []byte(`"result"`)) {
		n, err := c.Read(tmp)
		if err != nil {
			return c, fmt.Errorf("websocket %d: %w", i, err)
		}
		buf = append(buf, tmp[:n]...)
	}
	return c, nil
}
