package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// The fanout scenarios (herald.v1, STOMP, MQTT, SSE) share one shape:
// subscribers of one topic, one open-loop publisher whose payloads carry
// their due time, then a wait for every delivery. A driver supplies the
// protocol's two sides; runFanoutWith runs them in one process, and with
// --workers the subscribers are spread over worker processes
// (fanout_workers.go) while this process publishes.

// subSide is one process's subscribers.
type subSide struct {
	res        OpenResult // Conns is not used; opened counts them
	opened     int
	subscribed *Counter // confirmations (SUBACK, RECEIPT, response, ready event)
	close      func()   // closing handshake; waits for the readers
	latency    func() *Histogram
}

// pubSide is the publisher.
type pubSide struct {
	send func(due int64) error
	// settle waits until the fate of every publication sent is known and
	// returns how many each subscriber is owed, and how many the server
	// refused.
	settle func(sent int64, deadline time.Time) (owed, refused int64, err error)
	close  func()
	conns  int64 // connections the publisher holds open (counted in Stats.Open)
}

type fanoutDriver interface {
	mode(cfg *Config) string
	subscribers(ctx context.Context, cfg *Config, stats *Stats, first, n int) *subSide
	publisher(ctx context.Context, cfg *Config, stats *Stats, id int) (*pubSide, error)
}

// driverFor picks the driver of a fanout or sse run.
func driverFor(cfg *Config) fanoutDriver {
	if cfg.Scenario == "sse" {
		return sseDriver{}
	}
	switch cfg.Protocol {
	case "mqtt":
		return mqttDriver{}
	case "stomp":
		return stompDriver{}
	}
	return heraldDriver{}
}

func fanoutReport(cfg *Config, drv fanoutDriver) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Rate: cfg.Rate, Duration: cfg.Duration.String(), Size: cfg.Size, Topic: cfg.Topic,
		Mode: drv.mode(cfg), Procs: cfg.Workers}
	rep.Unit = "deliveries"
	rep.Offered = cfg.Rate * float64(cfg.Conns)
	return rep
}

// runFanoutWith runs a fanout scenario in this process (or, with
// --workers, as the parent of worker processes).
func runFanoutWith(ctx context.Context, cfg *Config, drv fanoutDriver, say, stderr io.Writer) *Report {
	if cfg.Workers > 1 {
		return runFanoutParent(ctx, cfg, drv, say, stderr)
	}
	rep := fanoutReport(cfg, drv)
	stats := NewStats()
	stop := startProgress(stderr, cfg, cfg.Scenario, stats, rep)
	defer stop()

	subs := drv.subscribers(ctx, cfg, stats, 0, cfg.Conns)
	recordOpen(rep, subs.res, cfg, say)
	if subs.opened == 0 {
		rep.finish()
		return rep
	}
	var pub *pubSide
	defer func() {
		start := time.Now()
		subs.close()
		if pub != nil {
			pub.close()
		}
		el := time.Since(start)
		rep.CloseMS = ms(el)
		fmt.Fprintf(say, "Closed %d connections to %s in %dms\n", subs.opened, cfg.Target.Addr, el.Milliseconds())
		rep.LatencyHist = subs.latency()
		rep.Errors = stats.Errors.Load()
		rep.finish()
	}()
	pub, err := drv.publisher(ctx, cfg, stats, cfg.Conns)
	if err != nil {
		rep.fail(fmt.Errorf("publisher: %w", err))
		return rep
	}
	n := int64(subs.opened)
	if !subs.subscribed.WaitAtLeast(n, time.Now().Add(cfg.Timeout)) {
		rep.fail(fmt.Errorf("only %d of %d subscriptions confirmed", subs.subscribed.Load(), n))
		return rep
	}

	cpu := startCPU(cfg.PID)
	start := time.Now()
	rep.fail(publishOpenLoop(cfg, stats, pub.send))
	sent := stats.Sent.Load()
	deadline := time.Now().Add(cfg.Timeout)
	each, refused, err := pub.settle(sent, deadline)
	owed := each * n
	if err == nil {
		err = waitFor(stats.Received, owed, stats, n+pub.conns, deadline)
	}
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = sent, stats.Received.Load(), owed, ms(elapsed)
	rep.Refused = refused
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
}

// recordOpen puts the opening phase in rep (reference 001's "Opened"
// line).
func recordOpen(rep *Report, res OpenResult, cfg *Config, say io.Writer) {
	opened := cfg.Conns - res.Failed
	rep.Opened, rep.Failed, rep.OpenMS, rep.ConnectHist = opened, res.Failed, ms(res.Elapsed), res.Connect
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %dms\n", opened, cfg.Conns, cfg.Target.Addr, res.Elapsed.Milliseconds())
	if res.Failed > 0 {
		rep.fail(fmt.Errorf("%d connections failed: %w", res.Failed, res.FirstErr))
	}
}

// mergeHists merges per-subscriber histograms (nil entries are the
// connections that did not open).
func mergeHists[S any](subs []*S, hist func(*S) *Histogram) *Histogram {
	out := NewHistogram()
	for _, s := range subs {
		if s != nil {
			out.Merge(hist(s))
		}
	}
	return out
}
