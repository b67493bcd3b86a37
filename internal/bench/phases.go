package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// The phases every load scenario shares: open (reference 001's "Opened"
// line), wait for deliveries, close ("Closed" line).

var errLost = errors.New("a connection was lost")

// openConns opens n connections with IDs first.. and records the result in
// rep. It returns nil (and sets rep.Error) when none opened.
func openConns(ctx context.Context, cfg *Config, d *Dialer, first, n int, rep *Report, say io.Writer) []*Conn {
	res := d.Open(ctx, first, n)
	rep.Opened, rep.Failed, rep.OpenMS, rep.ConnectHist = len(res.Conns), res.Failed, ms(res.Elapsed), res.Connect
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %dms\n", len(res.Conns), n, cfg.Target.Addr, res.Elapsed.Milliseconds())
	if res.Failed > 0 {
		rep.fail(fmt.Errorf("%d connections failed: %w", res.Failed, res.FirstErr))
	}
	if len(res.Conns) == 0 {
		rep.finish()
		return nil
	}
	return res.Conns
}

// closeConns runs the closing handshake on conns, then completes rep;
// after, if not nil, runs once every reader has stopped (to merge their
// histograms).
func closeConns(conns []*Conn, cfg *Config, stats *Stats, rep *Report, say io.Writer, after func()) {
	start := time.Now()
	closeAll(conns, start.Add(5*time.Second))
	d := time.Since(start)
	rep.CloseMS = ms(d)
	fmt.Fprintf(say, "Closed %d connections to %s in %dms\n", len(conns), cfg.Target.Addr, d.Milliseconds())
	if after != nil {
		after()
	}
	rep.Errors = stats.Errors.Load()
	rep.finish()
}

// waitFor waits until c reaches target, failing early if one of the n
// connections counted in stats.Open closed (what it was owed will never
// come) or at the deadline.
func waitFor(c *Counter, target int64, stats *Stats, n int64, deadline time.Time) error {
	for !c.WaitAtLeast(target, earlier(time.Now().Add(500*time.Millisecond), deadline)) {
		if stats.Open.Load() < n {
			return fmt.Errorf("%w after %d of %d messages", errLost, c.Load(), target)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("timed out with %d of %d messages", c.Load(), target)
		}
	}
	return nil
}

// fail records the first error of a run.
func (r *Report) fail(err error) {
	if err != nil && r.Error == "" {
		r.Error = err.Error()
	}
}

// publishOpenLoop calls send(due) for publication k at start + k/rate
// until --duration has passed, whatever happened before (open loop), and
// counts each in stats.Sent. due is the scheduled time in Unix ns, which
// the payload carries so latency includes the publisher's lateness.
func publishOpenLoop(cfg *Config, stats *Stats, send func(due int64) error) error {
	start := time.Now()
	interval := float64(time.Second) / cfg.Rate
	base := start.UnixNano()
	for k := int64(0); ; k++ {
		off := time.Duration(float64(k) * interval)
		if off >= cfg.Duration {
			return nil
		}
		if wait := time.Until(start.Add(off)); wait > 0 {
			time.Sleep(wait)
		}
		if err := send(base + int64(off)); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		stats.Sent.Add(1)
	}
}
