package mqtt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/router"
)

// testServer is a core with the MQTT adapter serving a TCP listener on
// 127.0.0.1.
type testServer struct {
	core *core.Core
	a    *Adapter
	addr string
}

func newTestServer(t testing.TB, hooks core.Hooks, opts Options) *testServer {
	t.Helper()
	if opts.SysInterval == 0 {
		opts.SysInterval = -1
	}
	ts, _ := serveAdapter(t, router.New(router.Options{}), hooks, opts, nil)
	return ts
}

// serveAdapter opens an adapter with opts on a core over r and serves it
// over TCP on 127.0.0.1. stop (also run at cleanup, once) shuts it down,
// then runs after, if any (closing a store).
func serveAdapter(t testing.TB, r *router.Router, hooks core.Hooks, opts Options, after func()) (ts *testServer, stop func()) {
	t.Helper()
	c := core.New(core.Config{Router: r, Hooks: hooks, CloseTimeout: time.Second})
	a, err := Open(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Register(a)
	c.RegisterRaw("mqtt", a)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.ServeConn(conn, a, "mqtt")
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ln.Close()
			<-done
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c.Shutdown(ctx)
			a.Close()
			r.Close()
			if after != nil {
				after()
			}
		})
	}
	t.Cleanup(stop)
	return &testServer{core: c, a: a, addr: ln.Addr().String()}, stop
}

// client is a raw MQTT client for tests, encoding with the codec.
type client struct {
	t   testing.TB
	c   net.Conn
	ver byte
	rd  reader
	in  []*packets.Packet
	buf []byte
}

func (ts *testServer) dial(t testing.TB, ver byte) *client {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, ver: ver, buf: make([]byte, 64<<10)}
}

// connect sends CONNECT for id and returns the CONNACK.
func (cl *client) connect(id string, clean bool, mod func(*packets.Packet)) *packets.Packet {
	cl.t.Helper()
	pk := &packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: cl.ver,
		Connect:         packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: id, Clean: clean, Keepalive: 30},
	}
	if cl.ver == 3 {
		pk.Connect.ProtocolName = []byte("MQIsdp")
	}
	if mod != nil {
		mod(pk)
	}
	cl.send(pk)
	ack := cl.expect(packets.Connack)
	return ack
}

func (cl *client) send(pk *packets.Packet) {
	cl.t.Helper()
	cl.write(encodeClient(cl.t, pk))
}

func (cl *client) write(b []byte) {
	cl.t.Helper()
	if _, err := cl.c.Write(b); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

func encodeClient(t testing.TB, pk *packets.Packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		pk.Mods.AllowResponseInfo = true
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pubrec:
		err = pk.PubrecEncode(&buf)
	case packets.Pubrel:
		pk.FixedHeader.Qos = 1
		err = pk.PubrelEncode(&buf)
	case packets.Pubcomp:
		err = pk.PubcompEncode(&buf)
	case packets.Subscribe:
		pk.FixedHeader.Qos = 1
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		pk.FixedHeader.Qos = 1
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	case packets.Auth:
		err = pk.AuthEncode(&buf)
	}
	if err != nil {
		t.Fatalf("encode %v: %v", pk.FixedHeader.Type, err)
	}
	return buf.Bytes()
}

func (cl *client) publish(topic string, qos byte, retain bool, pid uint16, payload string, mod func(*packets.Packet)) {
	cl.t.Helper()
	pk := &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain}, ProtocolVersion: cl.ver, TopicName: topic, PacketID: pid, Payload: []byte(payload)}
	if mod != nil {
		mod(pk)
	}
	cl.send(pk)
}

func (cl *client) subscribe(pid uint16, mod func(*packets.Packet), filters ...packets.Subscription) *packets.Packet {
	cl.t.Helper()
	pk := &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, ProtocolVersion: cl.ver, PacketID: pid, Filters: filters}
	if mod != nil {
		mod(pk)
	}
	cl.send(pk)
	return cl.expect(packets.Suback)
}

func (cl *client) ack(typ byte, pid uint16) {
	cl.t.Helper()
	cl.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: typ}, ProtocolVersion: cl.ver, PacketID: pid})
}

// next returns the next packet from the server, failing after timeout.
func (cl *client) next(timeout time.Duration) (*packets.Packet, error) {
	cl.t.Helper()
	deadline := time.Now().Add(timeout)
	for len(cl.in) == 0 {
		cl.c.SetReadDeadline(deadline)
		n, err := cl.c.Read(cl.buf)
		if n > 0 {
			ferr := cl.rd.feed(cl.buf[:n], func(first byte, body []byte) error {
				pk, err := decodeServer(cl.ver, first, body)
				if err != nil {
					return err
				}
				cl.in = append(cl.in, pk)
				return nil
			})
			if ferr != nil {
				cl.t.Fatalf("client decode: %v", ferr)
			}
		}
		if err != nil && len(cl.in) == 0 {
			return nil, err
		}
	}
	pk := cl.in[0]
	cl.in = cl.in[1:]
	return pk, nil
}

// expect returns the next packet and fails unless it has type typ.
func (cl *client) expect(typ byte) *packets.Packet {
	cl.t.Helper()
	pk, err := cl.next(5 * time.Second)
	if err != nil {
		cl.t.Fatalf("waiting for %s: %v", packetName(typ), err)
	}
	if pk.FixedHeader.Type != typ {
		cl.t.Fatalf("got %s (reason 0x%02x), want %s", packetName(pk.FixedHeader.Type), pk.ReasonCode, packetName(typ))
	}
	return pk
}

// expectClosed reads until the server closes the connection, returning
// the packets that came first.
func (cl *client) expectClosed() []*packets.Packet {
	cl.t.Helper()
	var got []*packets.Packet
	for {
		pk, err := cl.next(5 * time.Second)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				cl.t.Fatalf("connection not closed; got %d packets", len(got))
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				// A reset also counts as closed.
			}
			return got
		}
		got = append(got, pk)
	}
}

// expectNothing checks that no packet arrives for a short while. It is
// only used after a round trip has shown the server handled what came
// before (so the wait is a bound on something that must not happen, not
// a synchronisation).
func (cl *client) expectNothing() {
	cl.t.Helper()
	cl.ping()
}

// ping makes a PINGREQ round trip and fails if anything other than the
// PINGRESP arrives first: everything the server sent before it has been
// read by then.
func (cl *client) ping() {
	cl.t.Helper()
	cl.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	cl.expect(packets.Pingresp)
}

func decodeServer(ver, first byte, body []byte) (*packets.Packet, error) {
	pk := &packets.Packet{ProtocolVersion: ver}
	if err := pk.FixedHeader.Decode(first); err != nil {
		return nil, err
	}
	pk.FixedHeader.Remaining = len(body)
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Unsuback:
		err = pk.UnsubackDecode(body)
	case packets.Pingresp:
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Auth:
		err = pk.AuthDecode(body)
	default:
		err = errors.New("unexpected packet type")
	}
	return pk, err
}

func sub(filter string, qos byte) packets.Subscription {
	return packets.Subscription{Filter: filter, Qos: qos}
}
