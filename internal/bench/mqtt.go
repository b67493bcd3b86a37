package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// The client side of MQTT 3.1.1 that the fanout scenario needs, written by
// hand so the load tool stays allocation-free per message: CONNECT/CONNACK,
// SUBSCRIBE/SUBACK, PUBLISH at QoS 0 and 1, PUBACK and DISCONNECT, over
// plain TCP or over WebSocket (subprotocol "mqtt", packets in binary
// messages).

// MQTT control packet types (the high nibble of the first byte).
const (
	mqttCONNECT    = 1
	mqttCONNACK    = 2
	mqttPUBLISH    = 3
	mqttPUBACK     = 4
	mqttSUBSCRIBE  = 8
	mqttSUBACK     = 9
	mqttPINGRESP   = 13
	mqttDISCONNECT = 14
)

var errMQTT = errors.New("mqtt")

// appendRemainingLength appends n in MQTT's variable byte integer encoding.
func appendRemainingLength(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

func appendMQTTString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendConnect appends a 3.1.1 CONNECT with no will, user name or
// password.
func appendConnect(b []byte, clientID string, keepAlive uint16, clean bool) []byte {
	flags := byte(0)
	if clean {
		flags = 0x02
	}
	b = append(b, mqttCONNECT<<4)
	b = appendRemainingLength(b, 10+2+len(clientID))
	b = append(b, 0, 4, 'M', 'Q', 'T', 'T', 4, flags)
	b = binary.BigEndian.AppendUint16(b, keepAlive)
	return appendMQTTString(b, clientID)
}

// appendSubscribe appends a SUBSCRIBE of one filter.
func appendSubscribe(b []byte, id uint16, filter string, qos byte) []byte {
	b = append(b, mqttSUBSCRIBE<<4|0x02)
	b = appendRemainingLength(b, 2+2+len(filter)+1)
	b = binary.BigEndian.AppendUint16(b, id)
	b = appendMQTTString(b, filter)
	return append(b, qos)
}

// appendPublishHeader appends the fixed header and variable header of a
// PUBLISH whose payload (payloadLen bytes) the caller appends next. id is
// used at QoS 1 only.
func appendPublishHeader(b []byte, topic string, qos byte, id uint16, payloadLen int) []byte {
	n := 2 + len(topic) + payloadLen
	if qos > 0 {
		n += 2
	}
	b = append(b, mqttPUBLISH<<4|qos<<1)
	b = appendRemainingLength(b, n)
	b = appendMQTTString(b, topic)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return b
}

func appendPuback(b []byte, id uint16) []byte {
	return append(b, mqttPUBACK<<4, 2, byte(id>>8), byte(id))
}

func appendDisconnect(b []byte) []byte { return append(b, mqttDISCONNECT<<4, 0) }

// mqttPacketLen reads the fixed header at the start of p: the header's
// length and the whole packet's. ok is false while the header is
// incomplete.
func mqttPacketLen(p []byte) (hdr, total int, ok bool, err error) {
	n, mul := 0, 1
	for i := 1; i < len(p); i++ {
		if i > 4 {
			return 0, 0, false, fmt.Errorf("%w: malformed remaining length", errMQTT)
		}
		n += int(p[i]&0x7f) * mul
		if p[i]&0x80 == 0 {
			return i + 1, i + 1 + n, true, nil
		}
		mul *= 128
	}
	if len(p) > 4 {
		return 0, 0, false, fmt.Errorf("%w: malformed remaining length", errMQTT)
	}
	return 0, 0, false, nil
}

// mqttReader splits a byte stream into MQTT packets. Complete packets are
// handed over in place; only a packet cut by a read boundary is copied.
type mqttReader struct {
	Max int // largest packet accepted
	acc []byte
}

// Feed parses p and calls fn with each packet's first byte and its body
// (what follows the fixed header), valid only during the call.
func (r *mqttReader) Feed(p []byte, fn func(first byte, body []byte) error) error {
	// Finish the packet cut by the previous read. The check comes before
	// the length test so that a packet completed by its last header byte
	// (a zero-length body) is delivered now, not with the next read.
	for len(r.acc) > 0 {
		hdr, total, ok, err := mqttPacketLen(r.acc)
		if err != nil {
			return err
		}
		if !ok {
			if len(p) == 0 {
				return nil
			}
			r.acc, p = append(r.acc, p[0]), p[1:]
			continue
		}
		if r.Max > 0 && total > r.Max {
			return fmt.Errorf("%w: %d-byte packet exceeds %d", errMQTT, total, r.Max)
		}
		k := min(total-len(r.acc), len(p))
		r.acc, p = append(r.acc, p[:k]...), p[k:]
		if len(r.acc) < total {
			return nil
		}
		err = fn(r.acc[0], r.acc[hdr:total])
		r.acc = r.acc[:0]
		if err != nil {
			return err
		}
	}
	for len(p) > 0 {
		hdr, total, ok, err := mqttPacketLen(p)
		if err != nil {
			return err
		}
		if ok && r.Max > 0 && total > r.Max {
			return fmt.Errorf("%w: %d-byte packet exceeds %d", errMQTT, total, r.Max)
		}
		if !ok || total > len(p) {
			r.acc = append(r.acc[:0], p...)
			return nil
		}
		if err := fn(p[0], p[hdr:total]); err != nil {
			return err
		}
		p = p[total:]
	}
	return nil
}

// parseConnack returns a CONNACK's return code.
func parseConnack(body []byte) (sessionPresent bool, code byte, err error) {
	if len(body) != 2 {
		return false, 0, fmt.Errorf("%w: CONNACK of %d bytes", errMQTT, len(body))
	}
	return body[0]&1 != 0, body[1], nil
}

// parseSuback returns a SUBACK's packet identifier and first return code.
func parseSuback(body []byte) (id uint16, code byte, err error) {
	if len(body) < 3 {
		return 0, 0, fmt.Errorf("%w: SUBACK of %d bytes", errMQTT, len(body))
	}
	return binary.BigEndian.Uint16(body), body[2], nil
}

// parsePublish splits a PUBLISH (first byte and body).
func parsePublish(first byte, body []byte) (topic []byte, qos byte, id uint16, payload []byte, err error) {
	qos = first >> 1 & 3
	if len(body) < 2 {
		return nil, 0, 0, nil, fmt.Errorf("%w: short PUBLISH", errMQTT)
	}
	n := int(binary.BigEndian.Uint16(body))
	rest := body[2:]
	if len(rest) < n {
		return nil, 0, 0, nil, fmt.Errorf("%w: short PUBLISH topic", errMQTT)
	}
	topic, rest = rest[:n], rest[n:]
	if qos > 0 {
		if len(rest) < 2 {
			return nil, 0, 0, nil, fmt.Errorf("%w: PUBLISH without packet identifier", errMQTT)
		}
		id, rest = binary.BigEndian.Uint16(rest), rest[2:]
	}
	return topic, qos, id, rest, nil
}

// parsePuback returns a PUBACK's packet identifier.
func parsePuback(body []byte) (uint16, error) {
	if len(body) < 2 {
		return 0, fmt.Errorf("%w: PUBACK of %d bytes", errMQTT, len(body))
	}
	return binary.BigEndian.Uint16(body), nil
}

// mqttConn is one lean MQTT client connection: a reader goroutine parses
// packets from a fixed read buffer and hands them to OnPacket; writes go
// through a reused buffer under a mutex (wrapped in a masked binary frame
// over WebSocket).
type mqttConn struct {
	ID int
	// OnPacket receives every packet after CONNACK on the reader
	// goroutine; body is valid only during the call.
	OnPacket func(first byte, body []byte)
	// AfterRead runs after each socket read has been parsed. May be nil.
	AfterRead func()

	frameWriter
	wr      wsframe.ClientReader
	mr      mqttReader
	pending []byte
	buf     []byte
	stats   *Stats

	onFrame  func(op byte, p []byte) error // method values made once
	onPacket func(first byte, body []byte) error
	connack  int // -1 until CONNACK arrives, then its code

	readLoop
}

// feed parses one read's bytes.
func (c *mqttConn) feed(p []byte) error {
	if c.ws {
		return c.wr.Feed(p, c.onFrame)
	}
	return c.mr.Feed(p, c.onPacket)
}

func (c *mqttConn) frame(op byte, p []byte) error {
	switch op {
	case wsframe.OpBinary:
		return c.mr.Feed(p, c.onPacket)
	case wsframe.OpText:
		return fmt.Errorf("%w: text message over MQTT", errMQTT)
	case wsframe.OpPing:
		c.control(wsframe.OpPong, p)
	case wsframe.OpClose:
		if !c.closing.Swap(true) {
			code, _ := wsframe.ParseClosePayload(p)
			return &wsframe.CloseError{Code: code}
		}
		return errClosing
	}
	return nil
}

func (c *mqttConn) packet(first byte, body []byte) error {
	if c.connack < 0 {
		if first>>4 != mqttCONNACK {
			return fmt.Errorf("%w: expected CONNACK, got packet type %d", errMQTT, first>>4)
		}
		_, code, err := parseConnack(body)
		if err != nil {
			return err
		}
		c.connack = int(code)
		return nil
	}
	if first>>4 == mqttPINGRESP {
		return nil
	}
	if c.OnPacket != nil {
		c.OnPacket(first, body)
	}
	return nil
}

// connect sends CONNECT and reads until CONNACK.
func (c *mqttConn) connect(clientID string) error {
	c.connack = -1
	if err := c.write(appendConnect(nil, clientID, 0, true)); err != nil {
		return err
	}
	if len(c.pending) > 0 {
		// pending aliases buf: parse it before the first Read reuses buf.
		err := c.feed(c.pending)
		c.pending = nil
		if err != nil {
			return err
		}
	}
	for c.connack < 0 {
		n, err := c.nc.Read(c.buf)
		if n > 0 {
			if ferr := c.feed(c.buf[:n]); ferr != nil {
				return ferr
			}
		}
		if err != nil && c.connack < 0 {
			return fmt.Errorf("%w: waiting for CONNACK: %w", errMQTT, err)
		}
	}
	if c.connack != 0 {
		return fmt.Errorf("%w: CONNACK return code %d", errMQTT, c.connack)
	}
	return nil
}

func (c *mqttConn) start() {
	c.stats.Open.Add(1)
	go c.run(c.nc, c.buf, c.stats, c.feed, c.AfterRead)
}

// mqttDialer opens MQTT connections, a bounded number in flight.
type mqttDialer struct {
	Target      Target
	WS          bool
	Concurrency int
	ReadBuffer  int
	Timeout     time.Duration
	Stats       *Stats
	Sources     []netip.Addr
	Subprotocol string // over WebSocket; mqtt by default
	ClientID    string // prefix; the connection index is appended
	// Setup runs after CONNACK and before the reader starts.
	Setup func(c *mqttConn)
}

// Open opens n connections with IDs first..first+n-1 and returns them
// with what Open achieved (OpenResult.Conns stays empty).
func (d *mqttDialer) Open(first, n int) (OpenResult, []*mqttConn) {
	return openAll(context.Background(), n, d.Concurrency, d.Stats, func(i int) (*mqttConn, error) { return d.dial(first + i) })
}

func (d *mqttDialer) dial(id int) (*mqttConn, error) {
	proto := d.Subprotocol
	if proto == "" {
		proto = "mqtt"
	}
	nc, buf, rest, err := dialStream(context.Background(), d.Sources, id, d.Target, d.WS, proto, d.ReadBuffer, d.Timeout)
	if err != nil {
		return nil, err
	}
	c := &mqttConn{ID: id, frameWriter: frameWriter{nc: nc, ws: d.WS, op: wsframe.OpBinary}, buf: buf, pending: rest, stats: d.Stats, readLoop: readLoop{done: make(chan struct{})}}
	c.wr.MaxMessage = 1 << 20
	c.mr.Max = 1 << 20
	c.onFrame, c.onPacket = c.frame, c.packet
	if err := c.connect(fmt.Sprintf("%s%d", d.ClientID, id)); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	if d.Setup != nil {
		d.Setup(c)
	}
	c.start()
	return c, nil
}

// closeMQTT sends DISCONNECT (and a WebSocket close) on every connection,
// waits until the server has closed each or the deadline passes, then drops
// whatever is left.
func closeMQTT(conns []*mqttConn, deadline time.Time) {
	var dis [2]byte
	for _, c := range conns {
		if !c.closing.Swap(true) {
			c.nc.SetWriteDeadline(deadline)
			c.write(appendDisconnect(dis[:0]))
			if c.ws {
				c.control(wsframe.OpClose, []byte{0x03, 0xe8})
			}
		}
	}
	awaitClosed(conns, deadline)
}
