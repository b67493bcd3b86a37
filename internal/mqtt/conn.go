package mqtt

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/ackgate"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

const pubrelType = packets.Pubrel

var (
	errFirstNotConnect = errors.New("mqtt: the first packet must be CONNECT")
	errOverloaded      = errors.New("mqtt: too many packets waiting")
)

// Inbound packets wait for the session's worker in the conn's own queue.
// Past pauseAt bytes the connection stops being read (where the transport
// can pause) until the worker has caught up; past overloadAt it is closed.
const (
	pauseAt    = 1 << 20
	overloadAt = 16 << 20
)

// pauser is core.Session's read pause, where the core has it.
type pauser interface {
	PauseReads()
	ResumeReads()
}

// conn is one MQTT network connection. OnMessage runs on the I/O loop: it
// frames and decodes packets and queues them; the worker (the session's
// mailbox) handles them in order. Publications reach it through its
// session.
type conn struct {
	a *Adapter
	s *core.Session

	// I/O loop only.
	rd         reader
	gotConnect bool
	dead       bool // input is ignored: an error was found, or CONNECT failed
	aliases    map[uint16]string
	scratch    []*packets.Packet

	// ver is the protocol level (3, 4 or 5). The I/O loop sets it when it
	// decodes CONNECT, before handing that packet over, so the worker and
	// deliveries (after the session attaches) see it.
	ver byte

	opened   time.Time
	lastRecv atomic.Int64 // unix nanoseconds of the last input

	inMu      sync.Mutex
	inq       []*packets.Packet
	inHead    int
	inBytes   int
	pumping   bool // a pump is scheduled or running (or the connection is finished)
	gone      bool // the connection has ended: finish once the queue is drained
	paused    atomic.Bool
	failAfter error

	gate  ackgate.Gate    // control packets waiting for the store, and those after them
	pipe  *ackgate.Window // publishes waiting for a cluster's stream (pipeline.go); nil on one node
	wrote bool            // worker only: the publish being handled wrote to the store

	mu     sync.Mutex // guards sess, will and closed
	sess   *session
	will   *will
	closed bool

	connected atomic.Bool  // CONNECT accepted
	refused   atomic.Bool  // CONNECT refused: nothing more is handled
	keepAlive atomic.Int64 // 1.5 × keep-alive in nanoseconds; 0: none

	// Set by the worker at CONNECT, before the session attaches; read by
	// the worker and, under the session's lock, by deliveries.
	clientID    string
	window      int
	clientMax   uint32 // the client's Maximum Packet Size; 0: none
	problemInfo bool
	mods        packets.Mods
	authMethod  string // the CONNECT's 5.0 Authentication Method (auth.go)
}

func newConn(a *Adapter, s *core.Session) *conn {
	c := &conn{a: a, s: s, opened: time.Now(), problemInfo: true}
	if a.opts.DeliversLater {
		c.pipe = ackgate.NewWindow(pipeWindow)
	}
	c.rd.max = a.opts.MaxPacketSize
	c.lastRecv.Store(c.opened.UnixNano())
	return c
}

// OnMessage implements core.Protocol (I/O loop).
func (c *conn) OnMessage(op byte, data []byte) error {
	if c.dead {
		return nil
	}
	if c.s.WebSocket() && op != wsframe.OpBinary {
		// [MQTT-6.0.0-1]
		c.dead = true
		return &core.CloseError{Code: core.CloseUnsupportedData, Reason: "MQTT takes binary messages only"}
	}
	c.lastRecv.Store(time.Now().UnixNano())
	batch := c.scratch[:0]
	bytes := 0
	err := c.rd.feed(data, func(first byte, body []byte) error {
		if !c.s.AllowMessage() {
			return core.ErrMessageRate
		}
		pk, err := c.decode(first, body)
		if err != nil {
			return err
		}
		batch = append(batch, pk)
		bytes += len(body) + 64
		return nil
	})
	if err != nil {
		c.dead = true
	}
	c.enqueue(batch, bytes, err)
	clear(batch)
	c.scratch = batch[:0]
	return nil
}

// decode decodes one packet and does what must happen in stream order on
// the I/O loop: CONNECT first and once, and topic aliases.
func (c *conn) decode(first byte, body []byte) (*packets.Packet, error) {
	ver := c.ver
	pk, err := decode(ver, first, body)
	if err != nil {
		if !c.gotConnect {
			// A CONNECT the codec refused: answer in its version if it
			// got that far.
			if first>>4 == packets.Connect && len(body) > 6 && body[6] == 5 {
				c.ver = 5
			}
		}
		return nil, err
	}
	typ := pk.FixedHeader.Type
	switch {
	case !c.gotConnect:
		if typ != packets.Connect {
			return nil, errFirstNotConnect // [MQTT-3.1.0-1]
		}
		c.gotConnect = true
		if v := pk.ProtocolVersion; v >= 3 && v <= 5 {
			c.ver = v
		}
	case typ == packets.Connect:
		return nil, protocolError("second CONNECT") // [MQTT-3.1.0-2]
	case typ == packets.Publish && c.ver == 5:
		if err := c.resolveAlias(pk); err != nil {
			return nil, err
		}
	}
	return pk, nil
}

// resolveAlias applies a 5.0 Topic Alias: set it with a topic name, use
// it without one [MQTT-3.3.2-12].
func (c *conn) resolveAlias(pk *packets.Packet) error {
	p := &pk.Properties
	if !p.TopicAliasFlag {
		return nil
	}
	if p.TopicAlias == 0 || int(p.TopicAlias) > c.a.opts.TopicAliasMaximum {
		return &decodeError{code: codeTopicAliasInvalid, reason: "topic alias out of range"} // [MQTT-3.3.2-8] [MQTT-3.3.2-9]
	}
	if pk.TopicName != "" {
		if c.aliases == nil {
			c.aliases = make(map[uint16]string)
		}
		c.aliases[p.TopicAlias] = strings.Clone(pk.TopicName)
		return nil
	}
	name, ok := c.aliases[p.TopicAlias]
	if !ok {
		return protocolError("unknown topic alias %d", p.TopicAlias)
	}
	pk.TopicName = name
	return nil
}

// enqueue hands packets to the worker; err (if any) is acted on after
// them, so that what came before the bad bytes is still answered.
func (c *conn) enqueue(batch []*packets.Packet, bytes int, err error) {
	if len(batch) == 0 && err == nil {
		return
	}
	c.inMu.Lock()
	c.inq = append(c.inq, batch...)
	c.inBytes += bytes
	if err != nil {
		c.failAfter = err
	}
	if c.inBytes > overloadAt && c.failAfter == nil {
		c.failAfter = errOverloaded
		c.dead = true
	}
	if c.inBytes > pauseAt && !c.paused.Load() {
		if p, ok := any(c.s).(pauser); ok {
			c.paused.Store(true)
			p.PauseReads()
		}
	}
	start := !c.pumping
	c.pumping = true
	c.inMu.Unlock()
	if start {
		c.schedule()
	}
}

// schedule runs the pump on the worker pool. The pump, not the session's
// mailbox, because the core drops a mailbox's pending work when the
// connection ends, and packets that arrived before the end are still
// handled: a client may publish, DISCONNECT and close at once.
func (c *conn) schedule() {
	if !c.s.Core().Workers().Submit(c) {
		// Shutting down: nothing more is handled.
		c.inMu.Lock()
		c.inq, c.inHead, c.inBytes = nil, 0, 0
		gone := c.gone
		c.inMu.Unlock()
		if gone {
			c.finish()
		}
	}
}

// pumpBatch bounds the packets one turn of the pump handles before it
// yields its worker, so that one busy connection cannot starve others.
const pumpBatch = 64

// Run implements sched.Runnable: the pump, handling queued packets in
// order, one connection's at a time.
func (c *conn) Run() {
	for range pumpBatch {
		c.inMu.Lock()
		if c.inHead == len(c.inq) {
			c.inq, c.inHead, c.inBytes = nil, 0, 0
			err := c.failAfter
			c.failAfter = nil
			gone := c.gone
			c.pumping = gone // a finished connection never pumps again
			if c.paused.Load() {
				c.paused.Store(false)
				any(c.s).(pauser).ResumeReads()
			}
			c.inMu.Unlock()
			if err != nil && !gone {
				c.fail(err)
			}
			if gone {
				c.finish()
			}
			return
		}
		pk := c.inq[c.inHead]
		c.inq[c.inHead] = nil
		c.inHead++
		c.inBytes -= pk.FixedHeader.Remaining + 64
		c.inMu.Unlock()
		c.handle(pk)
		releasePacket(pk)
	}
	c.schedule()
}

// handle runs one packet on the worker.
func (c *conn) handle(pk *packets.Packet) {
	if c.refused.Load() {
		return // closing by our decision: what is left is dropped, unacknowledged
	}
	typ := pk.FixedHeader.Type
	if typ == packets.Connect {
		c.onConnect(pk)
		return
	}
	if !c.connected.Load() {
		return
	}
	switch typ {
	case packets.Publish:
		c.onPublish(pk)
	case packets.Puback:
		c.onPuback(pk)
	case packets.Pubrec:
		c.onPubrec(pk)
	case packets.Pubrel:
		c.onPubrel(pk)
	case packets.Pubcomp:
		c.onPubcomp(pk)
	case packets.Subscribe:
		c.onSubscribe(pk)
	case packets.Unsubscribe:
		c.onUnsubscribe(pk)
	case packets.Pingreq:
		c.send(pingresp)
	case packets.Disconnect:
		c.onDisconnect(pk)
	case packets.Auth:
		c.onAuth(pk)
	}
}

// publishHeader is the header of a PUBLISH of m to this connection.
// The clock is read only for a message with an expiry interval: reading
// it for every delivery cost an eighth of the server's CPU in a QoS 0
// fan-out.
func (c *conn) publishHeader(m *message.Message, qos byte, retain, dup bool, pid uint16, ids []int) pubHeader {
	h := pubHeader{ver: c.ver, qos: qos, dup: dup, retain: retain, pid: pid, topic: m.Topic}
	if c.ver == 5 {
		h.shared = props5(m)
		md := metaOf(m)
		if len(ids) > 0 || md.expiry > 0 {
			var own []byte
			for _, id := range ids {
				own = appendUvarint(append(own, packets.PropSubscriptionIdentifier), id)
			}
			if md.expiry > 0 {
				e := remainingExpiry(m, md, time.Now())
				own = append(own, packets.PropMessageExpiryInterval, byte(e>>24), byte(e>>16), byte(e>>8), byte(e))
			}
			h.own = own
		}
	}
	return h
}

// fits reports whether a PUBLISH of m respects the client's Maximum
// Packet Size [MQTT-3.1.2-27].
func (c *conn) fits(m *message.Message, qos byte, retain bool, ids []int) bool {
	if c.clientMax == 0 {
		return true
	}
	h := c.publishHeader(m, qos, retain, false, 1, ids)
	return h.size(len(m.Data)) <= int(c.clientMax)
}

// sendPublish queues a PUBLISH of m. The payload is shared by every
// subscriber (message.Encoded); a QoS 0 PUBLISH without per-subscriber
// properties is shared whole. A packet larger than the client's maximum
// is not sent [MQTT-3.1.2-28].
func (c *conn) sendPublish(m *message.Message, qos byte, retain, dup bool, pid uint16, ids []int) {
	h := c.publishHeader(m, qos, retain, dup, pid, ids)
	if c.clientMax > 0 && h.size(len(m.Data)) > int(c.clientMax) {
		c.a.m.tooLarge.Inc()
		return
	}
	ws := c.s.WebSocket()
	var it outq.Item
	if qos == 0 && len(h.own) == 0 {
		v5 := b2i(c.ver == 5)
		r, w := b2i(retain), b2i(ws)
		it = outq.Item{Shared: m.Encoded(wholeKeys[v5][r][w], wholeEncs[v5][r][w]), Key: m.Topic, Droppable: true}
	} else {
		it = outq.Item{Own: h.frameOwn(ws, len(m.Data)), Shared: m.Encoded(keyPayload, payloadOf), Key: m.Topic, Droppable: qos == 0}
	}
	if c.s.Send(it) {
		c.a.sent.Add(1)
		c.s.Core().Delivered(1)
	}
}

// closeWith ends the connection after final (a CONNACK or DISCONNECT, or
// nothing), written after what is already queued.
func (c *conn) closeWith(final []byte, wsCode uint16, reason string) {
	if c.gate.Defer(func() { c.closeNow(final, wsCode, reason) }) {
		return // after the acknowledgements waiting for the store
	}
	c.closeNow(final, wsCode, reason)
}

func (c *conn) closeNow(final []byte, wsCode uint16, reason string) {
	if c.s.WebSocket() {
		if final != nil {
			c.s.Send(outq.Item{Own: c.frame(final)})
		}
		c.s.CloseWith(wsCode, reason)
		return
	}
	c.s.CloseAfter(final)
}

// disconnect ends a connected session's connection: a 5.0 client gets a
// DISCONNECT with the reason code first; a 3.1.1 client's connection is
// just closed [MQTT-4.8.0-1].
func (c *conn) disconnect(code byte, reason string) {
	wsCode := core.CloseProtocolError
	switch code {
	case codeSuccess, codeSessionTakenOver, codeKeepAliveTimeout:
		wsCode = core.CloseNormal
	case codeServerShuttingDown:
		wsCode = core.CloseGoingAway
	case codePacketTooLarge:
		wsCode = core.CloseMessageTooBig
	case codeMessageRateTooHigh:
		wsCode = core.ClosePolicyViolation
	}
	var final []byte
	if c.connected.Load() && c.ver == 5 {
		final = disconnectPacket(code, reason, c.mods)
	}
	c.closeWith(final, wsCode, reason)
}

// fail ends the connection for bad input.
func (c *conn) fail(err error) {
	c.refused.Store(true)
	code, reason := byte(codeMalformed), err.Error()
	var de *decodeError
	switch {
	case errors.As(err, &de):
		code = de.code
	case errors.Is(err, errTooLarge):
		code = codePacketTooLarge
	case errors.Is(err, errOverloaded):
		code = codeQuotaExceeded
	case errors.Is(err, core.ErrMessageRate):
		code = codeMessageRateTooHigh
	case errors.Is(err, errFirstNotConnect):
		c.closeWith(nil, core.CloseProtocolError, "the first packet must be CONNECT")
		return
	}
	c.s.Core().Logger().Debug("mqtt: closing connection", "session", c.s.Scope.SessionID, "err", err)
	if !c.connected.Load() {
		// Refusing a CONNECT: 5.0 answers with a CONNACK reason code
		// [MQTT-4.13.1-1]; 3.1.1 just closes.
		var final []byte
		if c.ver == 5 {
			final = connackPacket(5, false, code, packets.Properties{}, c.mods)
		}
		c.closeWith(final, core.CloseProtocolError, reason)
		return
	}
	c.disconnect(code, reason)
}

// OnClose implements core.Protocol: the connection is gone. Packets it
// sent before are still handled; then the session learns it is gone.
func (c *conn) OnClose() {
	c.inMu.Lock()
	c.gone = true
	now := !c.pumping
	c.pumping = true
	c.inMu.Unlock()
	if now {
		c.finish()
	}
}

// finish hands the session over to the adapter once the connection has
// ended and its packets are handled: it goes offline or ends, and the
// will is published (now or after its delay) unless a DISCONNECT
// discarded it.
func (c *conn) finish() {
	c.mu.Lock()
	c.closed = true
	ss, w := c.sess, c.will
	c.will = nil
	c.mu.Unlock()
	if ss == nil {
		return
	}
	c.a.connected.Add(-1)
	// After the publishes still in flight, as when the worker waited for
	// each: the will comes after what the client published.
	c.pipe.WhenIdle(func() { c.a.lost(ss, c, w) })
}

// Tick implements core.Ticker: CONNECT and keep-alive deadlines. A client
// silent for one and a half times its keep-alive is disconnected
// [MQTT-3.1.2-24].
func (c *conn) Tick(now time.Time) {
	if !c.s.Open() {
		return
	}
	if !c.connected.Load() {
		if !c.refused.Load() && now.Sub(c.opened) > c.a.opts.ConnectTimeout {
			c.refused.Store(true)
			c.closeWith(nil, core.ClosePolicyViolation, "no CONNECT in time")
		}
		return
	}
	ka := c.keepAlive.Load()
	if ka == 0 || c.paused.Load() {
		return
	}
	if now.UnixNano()-c.lastRecv.Load() > ka {
		c.refused.Store(true)
		c.disconnect(codeKeepAliveTimeout, "keep alive timeout")
	}
}

// GoingAway implements the core's shutdown hook: 5.0 clients are told
// why (0x8B server shutting down).
func (c *conn) GoingAway() {
	c.refused.Store(true)
	c.disconnect(codeServerShuttingDown, "server shutting down")
}
