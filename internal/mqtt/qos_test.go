package mqtt

import (
	"fmt"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
)

func TestPublishSubscribeQoS(t *testing.T) {
	for _, ver := range []byte{3, 4, 5} {
		for _, pubQoS := range []byte{0, 1, 2} {
			for _, subQoS := range []byte{0, 1, 2} {
				t.Run(fmt.Sprintf("v%d/pub%d/sub%d", ver, pubQoS, subQoS), func(t *testing.T) {
					t.Parallel()
					ts := newTestServer(t, core.Hooks{}, Options{})
					s := ts.dial(t, ver)
					if ack := s.connect("sub", true, nil); ack.ReasonCode != 0 {
						t.Fatalf("CONNACK 0x%02x", ack.ReasonCode)
					}
					if sa := s.subscribe(1, nil, sub("a/+", subQoS)); sa.ReasonCodes[0] != subQoS {
						t.Fatalf("SUBACK %v, want granted %d", sa.ReasonCodes, subQoS)
					}
					p := ts.dial(t, ver)
					p.connect("pub", true, nil)
					p.publish("a/b", pubQoS, false, 7, "hello", nil)
					switch pubQoS {
					case 1:
						if ack := p.expect(packets.Puback); ack.PacketID != 7 {
							t.Fatalf("PUBACK for %d", ack.PacketID)
						}
					case 2:
						p.expect(packets.Pubrec)
						p.ack(packets.Pubrel, 7)
						p.expect(packets.Pubcomp)
					}
					got := s.expect(packets.Publish)
					want := min(pubQoS, subQoS)
					if got.TopicName != "a/b" || string(got.Payload) != "hello" || got.FixedHeader.Qos != want || got.FixedHeader.Retain || got.FixedHeader.Dup {
						t.Fatalf("got %q %q qos %d retain %v dup %v, want a/b hello qos %d", got.TopicName, got.Payload, got.FixedHeader.Qos, got.FixedHeader.Retain, got.FixedHeader.Dup, want)
					}
					switch want {
					case 1:
						s.ack(packets.Puback, got.PacketID)
					case 2:
						s.ack(packets.Pubrec, got.PacketID)
						if rel := s.expect(packets.Pubrel); rel.PacketID != got.PacketID {
							t.Fatalf("PUBREL for %d, want %d", rel.PacketID, got.PacketID)
						}
						s.ack(packets.Pubcomp, got.PacketID)
					}
					s.ping()
				})
			}
		}
	}
}

// TestQoS2InboundExactlyOnce resends a QoS 2 PUBLISH (DUP) before PUBREL:
// it is acknowledged again but published once.
func TestQoS2InboundExactlyOnce(t *testing.T) {
	ts := newTestServer(t, core.Hooks{}, Options{})
	s := ts.dial(t, 4)
	s.connect("sub", true, nil)
	s.subscribe(1, nil, sub("x", 1))
	p := ts.dial(t, 4)
	p.connect("pub", true, nil)
	p.publish("x", 2, false, 9, "once", nil)
	p.expect(packets.Pubrec)
	p.publish("x", 2, false, 9, "once", func(pk *packets.Packet) { pk.FixedHeader.Dup = true })
	p.expect(packets.Pubrec)
	p.ack(packets.Pubrel, 9)
	p.expect(packets.Pubcomp)
	// After PUBREL the identifier is free: a new message may reuse it.
	p.publish("x", 2, false, 9, "twice", nil)
	p.expect(packets.Pubrec)
	p.ack(packets.Pubrel, 9)
	p.expect(packets.Pubcomp)
	for _, want := range []string{"once", "twice"} {
		got := s.expect(packets.Publish)
		if string(got.Payload) != want {
			t.Fatalf("got %q, want %q", got.Payload, want)
		}
		s.ack(packets.Puback, got.PacketID)
	}
	s.ping() // nothing else: "once" was published once
}
