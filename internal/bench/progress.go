package bench

import (
	"fmt"
	"io"
	"time"
)

// startProgress prints a live line on w every second (connections open,
// received and sent rates, errors) until the returned stop is called.
func startProgress(w io.Writer, quiet bool, name string, s *Stats) (stop func()) {
	if quiet {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start, last := time.Now(), time.Now()
		lastRecv, lastSent := s.Received.Load(), s.Sent.Load()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				recv, sent := s.Received.Load(), s.Sent.Load()
				dt := now.Sub(last).Seconds()
				fmt.Fprintf(w, "%s %4.0fs  conns %6d  recv %9.0f/s  sent %8.0f/s  errors %d\n",
					name, now.Sub(start).Seconds(), s.Open.Load(),
					float64(recv-lastRecv)/dt, float64(sent-lastSent)/dt, s.Errors.Load())
				last, lastRecv, lastSent = now, recv, sent
			}
		}
	}()
	return func() { close(quit); <-done }
}
