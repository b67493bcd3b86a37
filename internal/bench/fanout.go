package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// runFanout measures publish/subscribe fan-out over herald.v1: --conns
// subscribers of one topic, and one more connection publishing with the
// JSON-RPC "publish" method at --rate messages per second, open loop
// (publication k is due at start + k/rate whatever happened before).
//
// The published data is a JSON string "<due time in unix ns>:<padding>"
// of --size bytes; every subscriber reads the time back from its
// notification and records now - due, so latency covers the publisher's
// lateness, the server's queueing and the delivery, and coordinated
// omission cannot hide a stall. After the last publication the run waits
// for every delivery (published × subscribers) or --timeout.
func runFanout(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Rate: cfg.Rate, Duration: cfg.Duration.String(), Size: cfg.Size, Topic: cfg.Topic}
	rep.Unit = "deliveries"
	rep.Offered = cfg.Rate * float64(cfg.Conns)
	stats := NewStats()
	stop := startProgress(stderr, cfg, "fanout", stats, rep)
	defer stop()

	topic, _ := json.Marshal(cfg.Topic)
	subscribe := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":%s}}`, topic)
	subscribed := NewCounter()
	subs := make([]*fanoutSub, cfg.Conns)
	d := &Dialer{
		Target: cfg.Target, Protocol: or(cfg.Subprotocol, "herald.v1"), Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) {
			s := &fanoutSub{stats: stats, subscribed: subscribed, hist: NewHistogram()}
			c.OnData, c.AfterRead = s.onData, s.afterRead
			subs[c.ID] = s
			if err := c.WriteMessage(wsframe.OpText, subscribe); err != nil {
				stats.Errors.Add(1)
			}
		},
	}
	conns := openConns(ctx, cfg, d, 0, cfg.Conns, rep, say)
	if conns == nil {
		return rep
	}
	pub := &publisher{stats: stats, size: cfg.Size, acked: NewCounter(), refused: NewCounter()}
	pub.prefix = fmt.Appendf(nil, `,"method":"publish","params":{"topic":%s,"data":"`, topic)
	pub.build = pub.request
	pd := *d
	pd.Setup = func(c *Conn) { c.OnData, c.AfterRead = pub.onData, pub.afterRead }
	pubRes := pd.Open(ctx, cfg.Conns, 1)
	all := append(conns, pubRes.Conns...)
	defer closeConns(all, cfg, stats, rep, say, func() {
		rep.LatencyHist = NewHistogram()
		for _, s := range subs {
			if s != nil {
				rep.LatencyHist.Merge(s.hist)
			}
		}
	})
	if len(pubRes.Conns) == 0 {
		rep.fail(fmt.Errorf("publisher: %w", pubRes.FirstErr))
		return rep
	}
	n := int64(len(conns))
	if !subscribed.WaitAtLeast(n, time.Now().Add(cfg.Timeout)) {
		rep.fail(fmt.Errorf("only %d of %d subscriptions confirmed", subscribed.Load(), n))
		return rep
	}

	cpu := startCPU(cfg.PID)
	start := time.Now()
	rep.fail(publishOpenLoop(cfg, stats, func(due int64) error { return pubRes.Conns[0].WriteWith(wsframe.OpText, due, pub.build) }))
	// A refused publication (an error response) is delivered to nobody,
	// so what is owed is known once every publication is answered.
	sent := stats.Sent.Load()
	deadline := time.Now().Add(cfg.Timeout)
	var err error
	if !pub.acked.WaitAtLeast(sent, deadline) {
		err = fmt.Errorf("only %d of %d publications answered", pub.acked.Load(), sent)
	}
	owed := (pub.acked.Load() - pub.refused.Load()) * n
	if err == nil {
		err = waitFor(stats.Received, owed, stats, n+1, deadline)
	}
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = sent, stats.Received.Load(), owed, ms(elapsed)
	rep.Refused = pub.refused.Load()
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
}

// fanoutSub is one subscriber; its fields belong to its reader goroutine.
type fanoutSub struct {
	stats      *Stats
	subscribed *Counter
	hist       *Histogram
	n          int64
}

func (s *fanoutSub) onData(_ byte, p []byte) {
	if due, ok := intAfter(p, keyData); ok {
		s.hist.Record(time.Now().UnixNano() - due)
		s.n++
		return
	}
	if resp, failed := isResponse(p); failed {
		s.stats.Errors.Add(1)
	} else if resp {
		s.subscribed.Add(1)
	}
}

func (s *fanoutSub) afterRead() {
	if s.n > 0 {
		s.stats.Received.Add(s.n)
		s.n = 0
	}
}

// publisher builds publish requests and counts their responses.
type publisher struct {
	stats  *Stats
	size   int
	prefix []byte
	build  func([]byte, int64) []byte
	seq    int64 // under the connection's write lock
	// acked counts responses, refused the error responses among them.
	acked, refused *Counter
	errs           int64 // reader goroutine
}

// request appends a publish request whose data is "<due>:<padding>",
// --size bytes in all.
func (p *publisher) request(b []byte, due int64) []byte {
	p.seq++
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, p.seq, 10)
	b = append(b, p.prefix...)
	start := len(b)
	b = strconv.AppendInt(b, due, 10)
	b = append(b, ':')
	b = appendPad(b, p.size-(len(b)-start))
	return append(b, `"}}`...)
}

func (p *publisher) onData(_ byte, msg []byte) {
	if resp, failed := isResponse(msg); resp {
		if failed {
			p.refused.Add(1)
			p.errs++
		}
		p.acked.Add(1)
	}
}

func (p *publisher) afterRead() {
	if p.errs > 0 {
		p.stats.Errors.Add(p.errs)
		p.errs = 0
	}
}
