package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// mqttDriver is fanout over MQTT 3.1.1 (--protocol mqtt, mqtt://):
// --conns subscribers (clean sessions, client ids "<prefix>-s<i>") of
// --topic at --qos, and one more connection publishing at --qos and --rate
// messages per second, open loop. The payload is "<due time in unix
// ns>:<padding>", --size bytes; every subscriber records now - due. At
// QoS 1 subscribers acknowledge every message (the PUBACKs of one read go
// out in one write) and what is owed is counted from the publisher's
// PUBACKs; at QoS 0 it is every publication times every subscriber.
type mqttDriver struct{}

func (mqttDriver) mode(cfg *Config) string {
	return fmt.Sprintf("mqtt qos%d", cfg.QoS)
}

// mqttClientPrefix makes client ids unique per run and per process.
func mqttClientPrefix() string {
	return fmt.Sprintf("hb%x-%d-", time.Now().UnixNano()&0xffffffff, os.Getpid())
}

func (mqttDriver) dialer(cfg *Config, stats *Stats) *mqttDialer {
	return &mqttDialer{
		Target: cfg.Target, WS: cfg.Endpoint.WS, Sources: cfg.Sources, Subprotocol: cfg.Subprotocol,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
	}
}

func (m mqttDriver) subscribers(_ context.Context, cfg *Config, stats *Stats, first, n int) *subSide {
	qos := byte(cfg.QoS)
	subscribed := NewCounter()
	subs := make([]*mqttSub, n)
	d := m.dialer(cfg, stats)
	d.ClientID = mqttClientPrefix() + "s"
	d.Setup = func(c *mqttConn) {
		s := &mqttSub{c: c, stats: stats, subscribed: subscribed, hist: NewHistogram()}
		c.OnPacket, c.AfterRead = s.onPacket, s.afterRead
		subs[c.ID-first] = s
		if err := c.write(appendSubscribe(nil, 1, cfg.Topic, qos)); err != nil {
			stats.Errors.Add(1)
		}
	}
	res, conns := d.Open(first, n)
	return &subSide{res: res, opened: len(conns), subscribed: subscribed,
		close:   func() { closeMQTT(conns, time.Now().Add(5*time.Second)) },
		latency: func() *Histogram { return mergeHists(subs, func(s *mqttSub) *Histogram { return s.hist }) }}
}

func (m mqttDriver) publisher(_ context.Context, cfg *Config, stats *Stats, id int) (*pubSide, error) {
	qos := byte(cfg.QoS)
	pub := &mqttPub{topic: cfg.Topic, qos: qos, size: cfg.Size, acked: NewCounter()}
	d := m.dialer(cfg, stats)
	d.ClientID = mqttClientPrefix() + "p"
	d.Setup = func(c *mqttConn) { c.OnPacket, c.AfterRead = pub.onPacket, pub.afterRead }
	res, conns := d.Open(id, 1)
	if len(conns) == 0 {
		return nil, res.FirstErr
	}
	return &pubSide{
		send: func(due int64) error { return conns[0].writeWith(due, pub.build) },
		settle: func(sent int64, deadline time.Time) (int64, int64, error) {
			if qos == 0 {
				return sent, 0, nil
			}
			var err error
			if !pub.acked.WaitAtLeast(sent, deadline) {
				err = fmt.Errorf("only %d of %d publications acknowledged", pub.acked.Load(), sent)
			}
			return pub.acked.Load(), 0, err
		},
		close: func() { closeMQTT(conns, time.Now().Add(5*time.Second)) },
		conns: 1,
	}, nil
}

// mqttSub is one subscriber; its fields belong to its reader goroutine.
type mqttSub struct {
	c          *mqttConn
	stats      *Stats
	subscribed *Counter
	hist       *Histogram
	n, errs    int64
	acks       []byte // PUBACKs owed for the current read
}

func (s *mqttSub) onPacket(first byte, body []byte) {
	switch first >> 4 {
	case mqttPUBLISH:
		_, qos, id, payload, err := parsePublish(first, body)
		if err != nil {
			s.errs++
			return
		}
		if qos > 0 {
			s.acks = appendPuback(s.acks, id)
		}
		if due, ok := parseInt(payload); ok {
			s.hist.Record(time.Now().UnixNano() - due)
			s.n++
		}
	case mqttSUBACK:
		if _, code, err := parseSuback(body); err != nil || code > 2 {
			s.errs++
		} else {
			s.subscribed.Add(1)
		}
	}
}

func (s *mqttSub) afterRead() {
	if len(s.acks) > 0 {
		if err := s.c.write(s.acks); err != nil {
			s.errs++
		}
		s.acks = s.acks[:0]
	}
	if s.n > 0 {
		s.stats.Received.Add(s.n)
		s.n = 0
	}
	if s.errs > 0 {
		s.stats.Errors.Add(s.errs)
		s.errs = 0
	}
}

// mqttPub builds PUBLISH packets and counts PUBACKs.
type mqttPub struct {
	topic string
	qos   byte
	size  int
	id    uint16 // under the connection's write lock
	acked *Counter
	n     int64 // reader goroutine
}

// build appends a PUBLISH whose payload is "<due>:<padding>", size bytes.
func (p *mqttPub) build(b []byte, due int64) []byte {
	if p.qos > 0 {
		if p.id++; p.id == 0 {
			p.id = 1
		}
	}
	b = appendPublishHeader(b, p.topic, p.qos, p.id, p.size)
	start := len(b)
	b = strconv.AppendInt(b, due, 10)
	b = append(b, ':')
	return appendPad(b, p.size-(len(b)-start))
}

func (p *mqttPub) onPacket(first byte, _ []byte) {
	if first>>4 == mqttPUBACK {
		p.n++
	}
}

func (p *mqttPub) afterRead() {
	if p.n > 0 {
		p.acked.Add(p.n)
		p.n = 0
	}
}
