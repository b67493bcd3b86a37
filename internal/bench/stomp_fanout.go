package bench

import (
	"context"
	"strconv"
	"time"
)

// stompDriver is fanout over STOMP 1.2 (--protocol stomp or a stomp://
// URL), against Herald or any broker: --conns subscribers of one
// destination (ack:auto, each confirmed by a RECEIPT), and one more
// connection SENDing at --rate messages per second, open loop. The body
// is "<due time in unix ns>:<padding>", --size bytes; every subscriber
// records now - due. SEND asks for no receipt (what benchmarks of brokers
// usually do), so what is owed is every publication times every
// subscriber, and a broker that drops messages shows as a shortfall at
// the timeout.
type stompDriver struct{}

func (stompDriver) mode(cfg *Config) string {
	return "stomp " + transportName(cfg.Endpoint.WS) + " " + stompDestination(cfg.Topic)
}

func (stompDriver) dialer(cfg *Config, stats *Stats) *stompDialer {
	return &stompDialer{
		Target: cfg.Target, WS: cfg.Endpoint.WS, Subprotocol: cfg.Subprotocol,
		Login: cfg.Endpoint.Login, Passcode: cfg.Endpoint.Passcode, Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
	}
}

func (sd stompDriver) subscribers(ctx context.Context, cfg *Config, stats *Stats, first, n int) *subSide {
	dest := stompDestination(cfg.Topic)
	subscribed := NewCounter()
	subs := make([]*stompSub, n)
	d := sd.dialer(cfg, stats)
	d.Setup = func(c *stompConn) {
		s := &stompSub{stats: stats, subscribed: subscribed, hist: NewHistogram()}
		c.OnFrame, c.AfterRead = s.onFrame, s.afterRead
		subs[c.ID-first] = s
		if err := c.write(appendStompSubscribe(nil, strconv.Itoa(c.ID), dest)); err != nil {
			stats.Errors.Add(1)
		}
	}
	res, conns := d.Open(ctx, first, n)
	return &subSide{res: res, opened: len(conns), subscribed: subscribed,
		close:   func() { closeSTOMP(conns, time.Now().Add(5*time.Second)) },
		latency: func() *Histogram { return mergeHists(subs, func(s *stompSub) *Histogram { return s.hist }) }}
}

func (sd stompDriver) publisher(ctx context.Context, cfg *Config, stats *Stats, id int) (*pubSide, error) {
	dest := stompDestination(cfg.Topic)
	pub := &stompPub{prefix: appendStompSendHeader(nil, stompEscape(dest), cfg.Size), size: cfg.Size, stats: stats}
	d := sd.dialer(cfg, stats)
	d.Setup = func(c *stompConn) { c.OnFrame = pub.onFrame }
	res, conns := d.Open(ctx, id, 1)
	if len(conns) == 0 {
		return nil, res.FirstErr
	}
	return &pubSide{
		send:   func(due int64) error { return conns[0].writeWith(due, pub.build) },
		settle: func(sent int64, _ time.Time) (int64, int64, error) { return sent, 0, nil },
		close:  func() { closeSTOMP(conns, time.Now().Add(5*time.Second)) },
		conns:  1,
	}, nil
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
	stats  *Stats
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
		p.stats.Errors.Add(1)
	}
}
