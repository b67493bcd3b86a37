package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// runSTOMPFanout is the fanout scenario over STOMP 1.2 (--protocol stomp
// or a stomp:// URL), against Herald or any broker: --conns subscribers
// of one destination (ack:auto, each confirmed by a RECEIPT), and one
// more connection SENDing at --rate messages per second, open loop. The
// body is "<due time in unix ns>:<padding>", --size bytes; every
// subscriber records now - due. SEND asks for no receipt (what
// benchmarks of brokers usually do), so what is owed is every publication
// times every subscriber, and a broker that drops messages shows as a
// shortfall at the timeout.
func runSTOMPFanout(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	dest := stompDestination(cfg.Topic)
	rep := newReport(cfg)
	rep.Settings = Settings{Rate: cfg.Rate, Duration: cfg.Duration.String(), Size: cfg.Size, Topic: dest,
		Mode: "stomp " + transportName(cfg.Endpoint.WS)}
	rep.Unit = "deliveries"
	rep.Offered = cfg.Rate * float64(cfg.Conns)
	stats := NewStats()
	stop := startProgress(stderr, cfg, "fanout", stats, rep)
	defer stop()

	subscribed := NewCounter()
	subs := make([]*stompSub, cfg.Conns)
	d := &stompDialer{
		Target: cfg.Target, WS: cfg.Endpoint.WS, Subprotocol: cfg.Subprotocol,
		Login: cfg.Endpoint.Login, Passcode: cfg.Endpoint.Passcode, Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *stompConn) {
			s := &stompSub{stats: stats, subscribed: subscribed, hist: NewHistogram()}
			c.OnFrame, c.AfterRead = s.onFrame, s.afterRead
			subs[c.ID] = s
			if err := c.write(appendStompSubscribe(nil, strconv.Itoa(c.ID), dest)); err != nil {
				stats.Errors.Add(1)
			}
		},
	}
	res, conns := d.Open(ctx, 0, cfg.Conns)
	rep.Opened, rep.Failed, rep.OpenMS, rep.ConnectHist = len(conns), res.Failed, ms(res.Elapsed), res.Connect
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %dms\n", len(conns), cfg.Conns, cfg.Target.Addr, res.Elapsed.Milliseconds())
	if res.Failed > 0 {
		rep.fail(fmt.Errorf("%d connections failed: %w", res.Failed, res.FirstErr))
	}
	if len(conns) == 0 {
		rep.finish()
		return rep
	}

	pub := &stompPub{prefix: appendStompSendHeader(nil, stompEscape(dest), cfg.Size), size: cfg.Size}
	pd := *d
	pd.Setup = func(c *stompConn) { c.OnFrame = pub.onFrame }
	pres, pconns := pd.Open(ctx, cfg.Conns, 1)
	all := append(conns, pconns...)
	defer func() {
		start := time.Now()
		closeSTOMP(all, start.Add(5*time.Second))
		el := time.Since(start)
		rep.CloseMS = ms(el)
		fmt.Fprintf(say, "Closed %d connections to %s in %dms\n", len(all), cfg.Target.Addr, el.Milliseconds())
		rep.LatencyHist = NewHistogram()
		for _, s := range subs {
			if s != nil {
				rep.LatencyHist.Merge(s.hist)
			}
		}
		rep.Errors = stats.Errors.Load() + pub.errs.Load()
		rep.finish()
	}()
	if len(pconns) == 0 {
		rep.fail(fmt.Errorf("publisher: %w", pres.FirstErr))
		return rep
	}
	n := int64(len(conns))
	if !subscribed.WaitAtLeast(n, time.Now().Add(cfg.Timeout)) {
		rep.fail(fmt.Errorf("only %d of %d subscriptions confirmed", subscribed.Load(), n))
		return rep
	}

	cpu := startCPU(cfg.PID)
	start := time.Now()
	rep.fail(publishOpenLoop(cfg, stats, func(due int64) error { return pconns[0].writeWith(due, pub.build) }))
	sent := stats.Sent.Load()
	owed := sent * n
	err := waitFor(stats.Received, owed, stats, n+1, time.Now().Add(cfg.Timeout))
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = sent, stats.Received.Load(), owed, ms(elapsed)
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
}

func transportName(ws bool) string {
	if ws {
		return "ws"
	}
	return "tcp"
}

// stompSub is one subscriber; its fields belong to its reader goroutine.
type stompSub struct {
	stats      *Stats
	subscribed *Counter
	hist       *Histogram
	n, errs    int64
}

func (s *stompSub) onFrame(cmd, _, body []byte) {
	switch string(cmd) {
	case "MESSAGE":
		if due, ok := parseInt(body); ok {
			s.hist.Record(time.Now().UnixNano() - due)
			s.n++
		}
	case "RECEIPT":
		s.subscribed.Add(1)
	case "ERROR":
		s.errs++
	}
}

func (s *stompSub) afterRead() {
	if s.n > 0 {
		s.stats.Received.Add(s.n)
		s.n = 0
	}
	if s.errs > 0 {
		s.stats.Errors.Add(s.errs)
		s.errs = 0
	}
}

// stompPub builds SEND frames; a broker answers a publisher only with
// ERROR, which it counts.
type stompPub struct {
	prefix []byte
	size   int
	errs   atomic.Int64
}

// build appends a SEND whose body is "<due>:<padding>", size bytes.
func (p *stompPub) build(b []byte, due int64) []byte {
	b = append(b, p.prefix...)
	start := len(b)
	b = strconv.AppendInt(b, due, 10)
	b = append(b, ':')
	b = appendPad(b, p.size-(len(b)-start))
	return appendStompEnd(b)
}

func (p *stompPub) onFrame(cmd, _, _ []byte) {
	if string(cmd) == "ERROR" {
		p.errs.Add(1)
	}
}
