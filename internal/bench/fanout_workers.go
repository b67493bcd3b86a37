package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Fanout beyond one process (--workers N). A process may hold 20,000
// open files here and a source address about 28,000 ephemeral ports, so
// the parent re-executes its own binary N times with the same flags
// (later flags win) plus --worker, its share of --conns and a source
// address: the k-th --source, or 127.0.0.(2+k) when the target is an IPv4
// loopback address. The workers hold the subscribers; the parent
// publishes. One JSON line per message over the standard streams:
//
//	worker → parent  {"phase":"ready","report":{...}}   subscribed
//	parent → worker  {"owed":N,"timeout_ms":T}          after the last publication
//	worker → parent  {"phase":"done","report":{...}}    N per subscriber arrived (or T passed), closed
//
// The parent merges the final reports (counts, histograms, series) with
// Aggregate.

// fanoutOrder tells a worker what each of its subscribers is owed.
type fanoutOrder struct {
	Owed      int64 `json:"owed"`
	TimeoutMS int64 `json:"timeout_ms"`
}

// fanoutWorkerSource is worker k's source address, if it gets one.
func fanoutWorkerSource(cfg *Config, k int) (netip.Addr, bool) {
	if len(cfg.Sources) > 0 {
		return cfg.Sources[k%len(cfg.Sources)], true
	}
	host, _, err := net.SplitHostPort(cfg.Target.Addr)
	if err != nil {
		return netip.Addr{}, false
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() && ip.IsLoopback() {
		return netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + k%250)}), true
	}
	return netip.Addr{}, false
}

// fanoutWorkerArgs is worker k's command line: the parent's own flags,
// then the ones that make it a worker.
func fanoutWorkerArgs(cfg *Config, k, share, first int) []string {
	args := append([]string{cfg.Scenario}, cfg.rawArgs...)
	args = append(args, "--worker", "--quiet", "--json", "--progress=false", "--report=", "--workers=1", "--pid=0",
		"--conns", strconv.Itoa(share), "--first-id", strconv.Itoa(first))
	if src, ok := fanoutWorkerSource(cfg, k); ok {
		args = append(args, "--source", src.String())
	}
	return args
}

// runFanoutWorker is the worker side: open and subscribe its share,
// report, wait for the order, count deliveries, close, report again.
func runFanoutWorker(ctx context.Context, cfg *Config, drv fanoutDriver, stdin io.Reader, stdout, stderr io.Writer) int {
	rep := fanoutReport(cfg, drv)
	stats := NewStats()
	stop := startProgress(io.Discard, cfg, cfg.Scenario, stats, rep)
	enc := json.NewEncoder(stdout)
	subs := drv.subscribers(ctx, cfg, stats, cfg.FirstID, cfg.Conns)
	recordOpen(rep, subs.res, cfg, io.Discard)
	n := int64(subs.opened)
	if n > 0 && !subs.subscribed.WaitAtLeast(n, time.Now().Add(cfg.Timeout)) {
		rep.fail(fmt.Errorf("only %d of %d subscriptions confirmed", subs.subscribed.Load(), n))
	}
	if err := enc.Encode(workerMsg{Phase: "ready", Report: *rep}); err != nil {
		fmt.Fprintf(stderr, "%s worker: %v\n", cfg.Scenario, err)
		return 1
	}
	stopTicks := sendProgress(enc, stats)
	cpu := startCPU(0)
	var order fanoutOrder
	if line, _ := bufio.NewReader(stdin).ReadBytes('\n'); len(line) > 0 {
		if err := json.Unmarshal(line, &order); err != nil {
			rep.fail(fmt.Errorf("bad order from the parent: %w", err))
		}
	}
	if order.Owed > 0 && n > 0 {
		rep.fail(waitFor(stats.Received, order.Owed*n, stats, n, time.Now().Add(time.Duration(order.TimeoutMS)*time.Millisecond)))
	}
	rep.Received, rep.Expected = stats.Received.Load(), order.Owed*n
	rep.CPU = cpu.stop()
	stopTicks()
	subs.close()
	stop()
	rep.LatencyHist = subs.latency()
	rep.Errors = stats.Errors.Load()
	rep.finish()
	if err := enc.Encode(workerMsg{Phase: "done", Report: *rep}); err != nil {
		fmt.Fprintf(stderr, "%s worker: %v\n", cfg.Scenario, err)
		return 1
	}
	return 0
}

// runFanoutParent starts the workers, publishes once all have subscribed,
// tells them what is owed and merges their reports.
func runFanoutParent(ctx context.Context, cfg *Config, drv fanoutDriver, say, stderr io.Writer) *Report {
	rep := fanoutReport(cfg, drv)
	stats := NewStats()
	stop := startProgress(stderr, cfg, cfg.Scenario, stats, rep)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		rep.fail(err)
		rep.finish()
		return rep
	}
	openStart := time.Now()
	tally := &workerTally{stats: stats}
	var procs []*workerProc
	first := 0
	for k, share := range splitShares(cfg.Conns, cfg.Workers) {
		args := append(slices.Clone(cfg.prefix), fanoutWorkerArgs(cfg, k, share, first)...)
		first += share
		w, err := startWorker(exe, args, stderr, tally.add())
		if err != nil {
			rep.fail(fmt.Errorf("worker %d: %w", k, err))
			continue
		}
		procs = append(procs, w)
	}
	defer func() {
		for _, w := range procs {
			w.stop() // only does something if a worker is stuck
		}
	}()

	deadline := time.Now().Add(cfg.Timeout + 5*time.Second)
	var readies []Report
	for k, w := range procs {
		m, ok := w.next(deadline)
		if !ok {
			rep.fail(fmt.Errorf("worker %d did not report ready", k))
			continue
		}
		w.last = &m.Report
		readies = append(readies, m.Report)
	}
	ready := Aggregate(readies)
	rep.Opened, rep.ConnectHist = ready.Opened, ready.ConnectHist
	rep.Failed = cfg.Conns - ready.Opened
	rep.OpenMS = ms(time.Since(openStart))
	if ready.Error != "" {
		rep.fail(errors.New(ready.Error))
	}
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %.0fms (%d processes)\n",
		rep.Opened, cfg.Conns, cfg.Target.Addr, rep.OpenMS, len(procs))

	var order fanoutOrder
	var pub *pubSide
	var start time.Time
	cpu := startCPU(cfg.PID)
	if rep.Opened > 0 && rep.Error == "" {
		if pub, err = drv.publisher(ctx, cfg, stats, cfg.Conns); err != nil {
			rep.fail(fmt.Errorf("publisher: %w", err))
		}
	}
	if pub != nil {
		start = time.Now()
		rep.fail(publishOpenLoop(cfg, stats, pub.send))
		each, refused, err := pub.settle(stats.Sent.Load(), time.Now().Add(cfg.Timeout))
		rep.fail(err)
		rep.Refused = refused
		order = fanoutOrder{Owed: each, TimeoutMS: cfg.Timeout.Milliseconds()}
	}
	// Workers with nothing owed close at once.
	for _, w := range procs {
		json.NewEncoder(w.stdin).Encode(order)
		w.stdin.Close()
	}
	var finals []Report
	deadline = time.Now().Add(cfg.Timeout + 10*time.Second)
	for k, w := range procs {
		if m, ok := w.next(deadline); ok {
			w.last = &m.Report
		} else {
			rep.fail(fmt.Errorf("worker %d did not report done", k))
		}
		if err := w.stop(); err != nil {
			rep.fail(fmt.Errorf("worker %d: %w", k, err))
		}
		if w.last != nil {
			finals = append(finals, *w.last)
		}
	}
	if !start.IsZero() {
		rep.ElapsedMS = ms(time.Since(start))
	}
	rep.CPU = cpu.stop()
	closeStart := time.Now()
	if pub != nil {
		pub.close()
	}
	stop()
	stopped = true

	agg := Aggregate(finals)
	rep.Sent, rep.Received, rep.Expected = stats.Sent.Load(), agg.Received, order.Owed*int64(rep.Opened)
	rep.LatencyHist = agg.LatencyHist
	// The workers' final reports have their exact counts; the parent's
	// stats also hold what their progress messages added.
	rep.Errors = agg.Errors + stats.Errors.Load() - tally.errors.Load()
	rep.CPU.Client = round2(rep.CPU.Client + agg.CPU.Client)
	rep.CloseMS = max(agg.CloseMS, ms(time.Since(closeStart)))
	if agg.Error != "" {
		rep.fail(errors.New(agg.Error))
	}
	if rep.Received < rep.Expected {
		rep.fail(fmt.Errorf("%d of %d deliveries arrived", rep.Received, rep.Expected))
	}
	if rep.ElapsedMS > 0 {
		fmt.Fprintf(say, "Sent/Received %d/%d messages in %.0fms: %.0fmsg/s\n", rep.Sent, rep.Received, rep.ElapsedMS,
			float64(rep.Received)/(rep.ElapsedMS/1000))
	}
	fmt.Fprintf(say, "Closed %d connections to %s\n", rep.Opened, cfg.Target.Addr)
	rep.finish()
	return rep
}

// sendProgress sends the worker's counts to the parent every second
// until the returned stop is called.
func sendProgress(enc *json.Encoder, stats *Stats) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				enc.Encode(workerMsg{Phase: "progress", Progress: &workerProgress{
					Conns: stats.Open.Load(), Received: stats.Received.Load(), Errors: stats.Errors.Load()}})
			}
		}
	}()
	return func() { close(quit); <-done }
}

// workerTally folds the workers' progress messages into the parent's
// stats (as differences from each worker's previous message), so the
// parent's progress line and series count every process.
type workerTally struct {
	stats  *Stats
	errors atomic.Int64 // errors added so far
}

// add returns the progress handler of one more worker.
func (t *workerTally) add() func(workerProgress) {
	var last workerProgress // the worker's reading goroutine only
	return func(p workerProgress) {
		t.stats.Open.Add(p.Conns - last.Conns)
		t.stats.Received.Add(p.Received - last.Received)
		t.stats.Errors.Add(p.Errors - last.Errors)
		t.errors.Add(p.Errors - last.Errors)
		last = p
	}
}
