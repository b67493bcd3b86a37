//go:build linux

package poll

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

type echoer struct {
	mu sync.Mutex
	c  *Conn
}

func (e *echoer) OnRead(p []byte) {
	b := append([]byte(nil), p...)
	e.mu.Lock()
	c := e.c
	e.mu.Unlock()
	go c.Writev([][]byte{b})
}
func (e *echoer) OnWritable()   {}
func (e *echoer) OnClose(error) {}

// TestStressWakeups is a soak test of the loops' wake-ups, for hunting
// lost events: many connections ping-pong single bytes; any reply that
// never comes fails the test. Run it on a loaded machine with
// HERALD_POLL_STRESS=1 go test -race -count=10 -run StressWakeups.
func TestStressWakeups(t *testing.T) {
	if os.Getenv("HERALD_POLL_STRESS") == "" {
		t.Skip("soak test: set HERALD_POLL_STRESS=1")
	}
	p := newPoller(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	const conns, rounds = 64, 3000
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := ln.Accept()
		e := &echoer{}
		e.mu.Lock()
		c, err := p.Add(sc, e, nil)
		e.c = c
		e.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			buf := make([]byte, 1)
			for r := 0; r < rounds; r++ {
				cl.Write([]byte{byte(r)})
				// Long enough for any scheduling delay: a miss is a hang.
				cl.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := io.ReadFull(cl, buf); err != nil {
					t.Errorf("conn %d round %d: %v", i, r, err)
					return
				}
				if r%50 == 0 {
					time.Sleep(time.Duration(r%7) * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}
