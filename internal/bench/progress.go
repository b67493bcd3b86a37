package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Sample is one interval of a run's throughput, for the chart of --report
// and the series of --json.
type Sample struct {
	T      float64 `json:"t"`          // seconds since the scenario started, at the interval's end
	Conns  int64   `json:"conns"`      // connections open
	Recv   float64 `json:"recv_per_s"` // messages counted by the scenario, per second
	Sent   float64 `json:"sent_per_s"`
	Errors int64   `json:"errors"` // in all so far
}

// progressEvery is the interval of the progress line and the series.
const progressEvery = time.Second

// startProgress samples s every second into rep.Series (set when stop is
// called, with a last partial interval) and prints a live line on w
// (connections open, received and sent rates, errors) when --progress is
// given, or when stderr is a terminal and --quiet is not.
func startProgress(w io.Writer, cfg *Config, name string, s *Stats, rep *Report) (stop func()) {
	show := cfg.Progress || (cfg.stderrTTY && !cfg.Quiet)
	quit, done := make(chan struct{}), make(chan struct{})
	var series []Sample
	start := time.Now()
	last := start
	lastRecv, lastSent := s.Received.Load(), s.Sent.Load()
	sample := func(now time.Time) Sample {
		recv, sent := s.Received.Load(), s.Sent.Load()
		dt := now.Sub(last).Seconds()
		p := Sample{T: round2(now.Sub(start).Seconds()), Conns: s.Open.Load(),
			Recv: math.Round(float64(recv-lastRecv) / dt), Sent: math.Round(float64(sent-lastSent) / dt), Errors: s.Errors.Load()}
		last, lastRecv, lastSent = now, recv, sent
		series = append(series, p)
		return p
	}
	go func() {
		defer close(done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				if now := time.Now(); now.Sub(last) >= 50*time.Millisecond {
					sample(now)
				}
				return
			case now := <-t.C:
				p := sample(now)
				if show {
					fmt.Fprintf(w, "%s %4.0fs  conns %6d  recv %9.0f/s  sent %8.0f/s  errors %d\n",
						name, p.T, p.Conns, p.Recv, p.Sent, p.Errors)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		rep.Series = series
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
