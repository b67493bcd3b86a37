package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// runMQTTFanout is the fanout scenario over MQTT 3.1.1 (--protocol mqtt):
// --conns subscribers (clean sessions, client ids "<prefix>-s<i>") of
// --topic at --qos, and one more connection publishing at --qos and --rate
// messages per second, open loop. The payload is "<due time in unix
// ns>:<padding>", --size bytes; every subscriber records now - due. At
// QoS 1 subscribers acknowledge every message (the PUBACKs of one read go
// out in one write) and what is owed is counted from the publisher's
// PUBACKs; at QoS 0 it is every publication times every subscriber.
func runMQTTFanout(_ context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Rate: cfg.Rate, Duration: cfg.Duration.String(), Size: cfg.Size, Topic: cfg.Topic,
		Mode: fmt.Sprintf("mqtt qos%d", cfg.QoS)}
	rep.Unit = "deliveries"
	rep.Offered = cfg.Rate * float64(cfg.Conns)
	stats := NewStats()
	stop := startProgress(stderr, cfg, "fanout", stats, rep)
	defer stop()

	qos := byte(cfg.QoS)
	prefix := fmt.Sprintf("hb%x-", time.Now().UnixNano()&0xffffffff)
	subscribed := NewCounter()
	subs := make([]*mqttSub, cfg.Conns)
	d := &mqttDialer{
		Target: cfg.Target, WS: cfg.Endpoint.WS, Sources: cfg.Sources, Subprotocol: cfg.Subprotocol,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		ClientID: prefix + "s",
		Setup: func(c *mqttConn) {
			s := &mqttSub{c: c, stats: stats, subscribed: subscribed, hist: NewHistogram()}
			c.OnPacket, c.AfterRead = s.onPacket, s.afterRead
			subs[c.ID] = s
			if err := c.write(appendSubscribe(nil, 1, cfg.Topic, qos)); err != nil {
				stats.Errors.Add(1)
			}
		},
	}
	res, conns := d.Open(0, cfg.Conns)
	rep.Opened, rep.Failed, rep.OpenMS, rep.ConnectHist = len(conns), res.Failed, ms(res.Elapsed), res.Connect
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %dms\n", len(conns), cfg.Conns, cfg.Target.Addr, res.Elapsed.Milliseconds())
	if res.Failed > 0 {
		rep.fail(fmt.Errorf("%d connections failed: %w", res.Failed, res.FirstErr))
	}
	if len(conns) == 0 {
		rep.finish()
		return rep
	}

	pub := &mqttPub{topic: cfg.Topic, qos: qos, size: cfg.Size, acked: NewCounter()}
	pd := *d
	pd.ClientID = prefix + "p"
	pd.Setup = func(c *mqttConn) { c.OnPacket, c.AfterRead = pub.onPacket, pub.afterRead }
	pres, pconns := pd.Open(cfg.Conns, 1)
	all := append(conns, pconns...)
	defer func() {
		start := time.Now()
		closeMQTT(all, start.Add(5*time.Second))
		el := time.Since(start)
		rep.CloseMS = ms(el)
		fmt.Fprintf(say, "Closed %d connections to %s in %dms\n", len(all), cfg.Target.Addr, el.Milliseconds())
		rep.LatencyHist = NewHistogram()
		for _, s := range subs {
			if s != nil {
				rep.LatencyHist.Merge(s.hist)
			}
		}
		rep.Errors = stats.Errors.Load()
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
	deadline := time.Now().Add(cfg.Timeout)
	var err error
	published := sent
	if qos > 0 {
		if !pub.acked.WaitAtLeast(sent, deadline) {
			err = fmt.Errorf("only %d of %d publications acknowledged", pub.acked.Load(), sent)
		}
		published = pub.acked.Load()
	}
	owed := published * n
	if err == nil {
		err = waitFor(stats.Received, owed, stats, n+1, deadline)
	}
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = sent, stats.Received.Load(), owed, ms(elapsed)
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
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
