package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// runIdle measures what an idle connection costs the server: N herald.v1
// connections each subscribe to their own topic idle/<i> (the target's
// "one subscription each"), and once every subscription is confirmed and
// --hold has passed, the server's RSS is sampled again:
//
//	bytes per connection = (VmRSS after - VmRSS before) / connections
//
// VmRSS comes from /proc/PID/status (--pid). With --metrics the server's
// goroutine count and Go heap are read from its Prometheus endpoint too.
// With --procs P the connections are opened by P worker processes (see
// worker.go), each from its own source address, so the count is not
// limited by one process's open files or one address's ephemeral ports.
func runIdle(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	if cfg.Procs > 1 {
		return runIdleParent(ctx, cfg, say, stderr)
	}
	rep := newReport(cfg)
	rep.Settings = Settings{Hold: cfg.Hold.String(), Procs: 1}
	stats := NewStats()
	stop := startProgress(stderr, cfg, "idle", stats, rep)
	defer stop()

	before := sampleRSS(cfg.PID, rep)
	cpu := startCPU(cfg.PID)
	conns, subscribed := openIdle(ctx, cfg, stats, rep, say)
	if conns == nil {
		return rep
	}
	defer closeConns(conns, cfg, stats, rep, say, nil)
	if rep.Error != "" {
		return rep
	}
	hold(ctx, cfg.Hold)
	rep.CPU = cpu.stop()
	rep.Idle = measureIdle(ctx, cfg, before, subscribed, rep.Opened, rep)
	return rep
}

// openIdle opens the connections, subscribes each to idle/<ID> as soon as
// its handshake completes, and waits for every confirmation. It returns
// the connections (nil if none opened) and the confirmations.
func openIdle(ctx context.Context, cfg *Config, stats *Stats, rep *Report, say io.Writer) ([]*Conn, int64) {
	subscribed := NewCounter()
	d := &Dialer{
		Target: cfg.Target, Protocol: "herald.v1", Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) {
			c.OnData = func(_ byte, p []byte) {
				if resp, failed := isResponse(p); failed {
					stats.Errors.Add(1)
				} else if resp {
					subscribed.Add(1)
				}
			}
			req := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"idle/%d"}}`, c.ID)
			if err := c.WriteMessage(wsframe.OpText, req); err != nil {
				stats.Errors.Add(1)
			}
		},
	}
	conns := openConns(ctx, cfg, d, cfg.FirstID, cfg.Conns, rep, say)
	if conns == nil {
		return nil, 0
	}
	n := int64(len(conns))
	rep.fail(waitFor(subscribed, n, stats, n, time.Now().Add(cfg.Timeout)))
	rep.Idle = &IdleResult{Subscribed: subscribed.Load()}
	return conns, subscribed.Load()
}

// hold waits d or until ctx ends.
func hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// sampleRSS reads the server's RSS, or returns 0 without --pid.
func sampleRSS(pid int, rep *Report) int64 {
	if pid <= 0 {
		return 0
	}
	rss, err := readRSS(pid)
	rep.fail(err)
	return rss
}

// measureIdle samples the server after the connections settled.
func measureIdle(ctx context.Context, cfg *Config, before, subscribed int64, opened int, rep *Report) *IdleResult {
	res := &IdleResult{PID: cfg.PID, Subscribed: subscribed, RSSBefore: before}
	if cfg.PID > 0 {
		res.RSSAfter = sampleRSS(cfg.PID, rep)
		if opened > 0 {
			res.BytesPerConn = math.Round(float64(res.RSSAfter-before) / float64(opened))
		}
	}
	if cfg.Metrics != "" {
		m, err := scrapeMetrics(ctx, cfg.Metrics, "go_goroutines", "go_memstats_heap_inuse_bytes", "herald_connections")
		rep.fail(err)
		res.Goroutines, res.HeapInuse, res.Connections = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"], m["herald_connections"]
	}
	return res
}
