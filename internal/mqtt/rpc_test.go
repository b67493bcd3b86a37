package mqtt

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
)

func TestRequestResponse(t *testing.T) {
	hooks := core.Hooks{Call: func(_ context.Context, method string, params json.RawMessage) (any, error) {
		if method != "double" {
			return nil, core.ErrNoMethod
		}
		var n int
		if err := json.Unmarshal(params, &n); err != nil {
			return nil, &core.RPCError{Code: -32602, Message: "want a number"}
		}
		return map[string]int{"result": 2 * n}, nil
	}}
	ts := newTestServer(t, hooks, Options{})
	cl := ts.dial(t, 5)
	cl.connect("caller", true, nil)
	cl.subscribe(1, nil, sub("replies/caller", 1))
	call := func(method, payload, corr string) *packets.Packet {
		t.Helper()
		cl.publish("$rpc/"+method, 1, false, 2, payload, func(pk *packets.Packet) {
			pk.Properties.ResponseTopic, pk.Properties.CorrelationData = "replies/caller", []byte(corr)
		})
		// The response and the PUBACK, in either order.
		var m *packets.Packet
		for range 2 {
			pk, err := cl.next(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			switch pk.FixedHeader.Type {
			case packets.Puback:
				if pk.ReasonCode != 0 {
					t.Fatalf("PUBACK 0x%02x", pk.ReasonCode)
				}
			case packets.Publish:
				m = pk
			}
		}
		if m == nil {
			t.Fatal("no response")
		}
		cl.ack(packets.Puback, m.PacketID)
		if string(m.Properties.CorrelationData) != corr || m.Properties.ContentType != "application/json" {
			t.Fatalf("response correlation %q content type %q", m.Properties.CorrelationData, m.Properties.ContentType)
		}
		return m
	}
	if m := call("double", "21", "c1"); string(m.Payload) != `{"result":42}` {
		t.Fatalf("result %s", m.Payload)
	}
	m := call("double", "many", "c2")
	if !strings.Contains(string(m.Payload), `"code":-32602`) || len(m.Properties.User) != 1 || m.Properties.User[0] != (packets.UserProperty{Key: "error", Val: "-32602"}) {
		t.Fatalf("error response %s %v", m.Payload, m.Properties.User)
	}
	if m := call("halve", "1", "c3"); !strings.Contains(string(m.Payload), `"code":-32601`) {
		t.Fatalf("unknown method %s", m.Payload)
	}
}

func TestSys(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{SysInterval: time.Hour, Version: "v9.9.9"})
	cl := ts.dial(t, 4)
	cl.connect("sys", true, nil)
	// A wildcard at the first level does not match $SYS [MQTT-4.7.2-1]:
	// subscribing to # gets no retained $SYS message.
	cl.subscribe(1, nil, sub("#", 0))
	cl.ping()
	// The statistics are published at start, retained.
	got := map[string]string{}
	cl.subscribe(2, nil, sub("$SYS/broker/version", 0), sub("$SYS/broker/clients/connected", 0))
	for range 2 {
		m := cl.expect(packets.Publish)
		if !m.FixedHeader.Retain {
			t.Fatalf("%s not retained", m.TopicName)
		}
		got[m.TopicName] = string(m.Payload)
	}
	if got["$SYS/broker/version"] != "herald v9.9.9" {
		t.Fatalf("got %v", got)
	}
}
