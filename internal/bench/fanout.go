package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// heraldDriver is fanout over herald.v1: --conns subscribers of one
// topic, and one more connection publishing with the JSON-RPC "publish"
// method at --rate messages per second, open loop (publication k is due
// at start + k/rate whatever happened before).
//
// The published data is a JSON string "<due time in unix ns>:<padding>"
// of --size bytes; every subscriber reads the time back from its
// notification and records now - due, so latency covers the publisher's
// lateness, the server's queueing and the delivery, and coordinated
// omission cannot hide a stall. After the last publication the run waits
// for every delivery (published × subscribers) or --timeout.
type heraldDriver struct{}

func (heraldDriver) mode(*Config) string { return "" }

func (heraldDriver) subscribers(ctx context.Context, cfg *Config, stats *Stats, first, n int) *subSide {
	topic, _ := json.Marshal(cfg.Topic)
	subscribe := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":%s}}`, topic)
	subscribed := NewCounter()
	subs := make([]*fanoutSub, n)
	d := &Dialer{
		Target: cfg.Target, Protocol: or(cfg.Subprotocol, "herald.v1"), Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) {
			s := &fanoutSub{stats: stats, subscribed: subscribed, hist: NewHistogram()}
			c.OnData, c.AfterRead = s.onData, s.afterRead
			subs[c.ID-first] = s
			if err := c.WriteMessage(wsframe.OpText, subscribe); err != nil {
				stats.Errors.Add(1)
			}
		},
	}
	res := d.Open(ctx, first, n)
	conns := res.Conns
	return &subSide{res: res, opened: len(conns), subscribed: subscribed,
		close:   func() { closeAll(conns, time.Now().Add(5*time.Second)) },
		latency: func() *Histogram { return mergeHists(subs, func(s *fanoutSub) *Histogram { return s.hist }) }}
}

func (heraldDriver) publisher(ctx context.Context, cfg *Config, stats *Stats, id int) (*pubSide, error) {
	return heraldPublisher(ctx, cfg, cfg.Target, stats, id)
}

// heraldPublisher opens a herald.v1 publishing connection to t.
func heraldPublisher(ctx context.Context, cfg *Config, t Target, stats *Stats, id int) (*pubSide, error) {
	topic, _ := json.Marshal(cfg.Topic)
	pub := &publisher{stats: stats, size: cfg.Size, acked: NewCounter(), refused: NewCounter()}
	pub.prefix = fmt.Appendf(nil, `,"method":"publish","params":{"topic":%s,"data":"`, topic)
	pub.build = pub.request
	d := &Dialer{Target: t, Protocol: "herald.v1", Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) { c.OnData, c.AfterRead = pub.onData, pub.afterRead }}
	res := d.Open(ctx, id, 1)
	if len(res.Conns) == 0 {
		return nil, res.FirstErr
	}
	c := res.Conns[0]
	return &pubSide{
		send: func(due int64) error { return c.WriteWith(wsframe.OpText, due, pub.build) },
		// A refused publication (an error response) is delivered to
		// nobody, so what is owed is known once every one is answered.
		settle: func(sent int64, deadline time.Time) (int64, int64, error) {
			var err error
			if !pub.acked.WaitAtLeast(sent, deadline) {
				err = fmt.Errorf("only %d of %d publications answered", pub.acked.Load(), sent)
			}
			return pub.acked.Load() - pub.refused.Load(), pub.refused.Load(), err
		},
		close: func() { closeAll(res.Conns, time.Now().Add(5*time.Second)) },
		conns: 1,
	}, nil
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
