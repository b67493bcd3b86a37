package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
)

func connectPacket(ver byte, id string, mod func(*packets.Packet)) []byte {
	pk := &packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: ver,
		Connect:         packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: id, Clean: true, Keepalive: 30},
	}
	if ver == 3 {
		pk.Connect.ProtocolName = []byte("MQIsdp")
	}
	if mod != nil {
		mod(pk)
	}
	return encodeClient(&testing.T{}, pk)
}

// denyHooks refuse user "bad" (unauthorized), user "banned" (forbidden),
// and any topic starting with "secret".
var denyHooks = core.Hooks{
	Connect: func(_ context.Context, i *core.ConnectInfo) (core.Identity, error) {
		switch i.Login {
		case "bad":
			return core.Identity{}, fmt.Errorf("wrong password: %w", core.ErrUnauthorized)
		case "banned":
			return core.Identity{}, fmt.Errorf("go away: %w", core.ErrForbidden)
		}
		return core.Identity{Subject: i.Login}, nil
	},
	Authorize: func(_ context.Context, _ *core.Scope, _ core.Action, t string) error {
		if strings.HasPrefix(t, "secret") {
			return core.ErrForbidden
		}
		return nil
	},
}

// TestBadInput: each case sends raw bytes and expects the last packet the
// server sends before it closes (nil: closed without one) and its code.
func TestBadInput(t *testing.T) {
	withUser := func(u string) func(*packets.Packet) {
		return func(pk *packets.Packet) { pk.Connect.UsernameFlag, pk.Connect.Username = true, []byte(u) }
	}
	tests := []struct {
		name     string
		ver      byte
		in       [][]byte // sent in order
		wantType byte     // 0: closed with no packet at all
		wantCode byte
	}{
		{"first packet not CONNECT", 4, [][]byte{{0xc0, 0}}, 0, 0},
		{"not MQTT", 4, [][]byte{connectPacket(4, "x", func(pk *packets.Packet) { pk.Connect.ProtocolName = []byte("HTTP") })}, 0, 0},
		{"unknown protocol level", 4, [][]byte{connectPacket(6, "x", nil)}, packets.Connack, code3BadVersion},
		{"3.1.1 reserved connect flag", 4, [][]byte{reservedFlag(connectPacket(4, "x", nil))}, 0, 0},
		{"5.0 reserved connect flag", 5, [][]byte{reservedFlag(connectPacket(5, "x", nil))}, packets.Connack, codeMalformed},
		{"3.1.1 empty id without clean session", 4, [][]byte{connectPacket(4, "", func(pk *packets.Packet) { pk.Connect.Clean = false })}, packets.Connack, code3IdentifierRejected},
		{"3.1 id longer than 23", 3, [][]byte{connectPacket(3, strings.Repeat("x", 24), nil)}, packets.Connack, code3IdentifierRejected},
		{"3.1.1 password without user", 4, [][]byte{connectPacket(4, "x", func(pk *packets.Packet) { pk.Connect.PasswordFlag, pk.Connect.Password = true, []byte("p") })}, 0, 0},
		{"will QoS 3", 5, [][]byte{connectPacket(5, "x", func(pk *packets.Packet) {
			pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillQos = true, "w", 3
		})}, packets.Connack, codeMalformed},
		{"will retain without will", 5, [][]byte{connectPacket(5, "x", func(pk *packets.Packet) { pk.Connect.WillRetain = true })}, packets.Connack, codeMalformed},
		{"will topic with wildcard", 5, [][]byte{connectPacket(5, "x", func(pk *packets.Packet) { pk.Connect.WillFlag, pk.Connect.WillTopic = true, "w/#" })}, packets.Connack, codeTopicNameInvalid},
		{"will topic not allowed", 5, [][]byte{connectPacket(5, "x", func(pk *packets.Packet) { pk.Connect.WillFlag, pk.Connect.WillTopic = true, "secret/w" })}, packets.Connack, codeNotAuthorized},
		{"enhanced authentication", 5, [][]byte{connectPacket(5, "x", func(pk *packets.Packet) { pk.Properties.AuthenticationMethod = "SCRAM-SHA-1" })}, packets.Connack, codeBadAuthMethod},
		{"3.1.1 bad credentials", 4, [][]byte{connectPacket(4, "x", withUser("bad"))}, packets.Connack, code3BadUserOrPassword},
		{"5.0 bad credentials", 5, [][]byte{connectPacket(5, "x", withUser("bad"))}, packets.Connack, codeBadUserOrPassword},
		{"3.1.1 forbidden", 4, [][]byte{connectPacket(4, "x", withUser("banned"))}, packets.Connack, code3NotAuthorized},
		{"5.0 forbidden", 5, [][]byte{connectPacket(5, "x", withUser("banned"))}, packets.Connack, codeNotAuthorized},
		{"3.1.1 second CONNECT", 4, [][]byte{connectPacket(4, "x", nil), connectPacket(4, "x", nil)}, packets.Connack, 0},
		{"5.0 second CONNECT", 5, [][]byte{connectPacket(5, "x", nil), connectPacket(5, "x", nil)}, packets.Disconnect, codeProtocolError},
		{"5.0 packet too large", 5, [][]byte{connectPacket(5, "x", nil), {0x30, 0xff, 0xff, 0x03}}, packets.Disconnect, codePacketTooLarge},
		{"3.1.1 packet too large", 4, [][]byte{connectPacket(4, "x", nil), {0x30, 0xff, 0xff, 0x03}}, packets.Connack, 0},
		{"malformed remaining length", 5, [][]byte{connectPacket(5, "x", nil), {0x30, 0x80, 0x80, 0x80, 0x80, 0x01}}, packets.Disconnect, codeMalformed},
		{"PUBLISH QoS 3", 5, [][]byte{connectPacket(5, "x", nil), {0x36, 0x03, 0x00, 0x01, 'a'}}, packets.Disconnect, codeProtocolError},
		{"PUBLISH topic with wildcard", 5, [][]byte{connectPacket(5, "x", nil), pub(5, "a/+", nil)}, packets.Disconnect, codeProtocolError},
		{"topic alias out of range", 5, [][]byte{connectPacket(5, "x", nil), pub(5, "a", func(pk *packets.Packet) {
			pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 65, true
		})}, packets.Disconnect, codeTopicAliasInvalid},
		{"unknown topic alias", 5, [][]byte{connectPacket(5, "x", nil), pub(5, "", func(pk *packets.Packet) {
			pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = 3, true
		})}, packets.Disconnect, codeProtocolError},
		{"PUBLISH with subscription identifier", 5, [][]byte{connectPacket(5, "x", nil), pub(5, "a", func(pk *packets.Packet) {
			pk.Properties.SubscriptionIdentifier = []int{3}
		})}, packets.Disconnect, codeProtocolError},
		{"payload not UTF-8 as announced, QoS 0", 5, [][]byte{connectPacket(5, "x", nil), pub(5, "a", func(pk *packets.Packet) {
			pk.Properties.PayloadFormat, pk.Properties.PayloadFormatFlag, pk.Payload = 1, true, []byte{0xff}
		})}, packets.Disconnect, codePayloadFormatInvalid},
		{"No Local on a shared subscription", 5, [][]byte{connectPacket(5, "x", nil), subscribePacket(5, packets.Subscription{Filter: "$share/g/a", NoLocal: true})}, packets.Disconnect, codeProtocolError},
		{"SUBSCRIBE options reserved bits", 5, [][]byte{connectPacket(5, "x", nil), {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0xc0}}, packets.Disconnect, codeMalformed},
		{"SUBSCRIBE retain handling 3", 5, [][]byte{connectPacket(5, "x", nil), {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x30}}, packets.Disconnect, codeProtocolError},
		{"SUBSCRIBE options missing", 5, [][]byte{connectPacket(5, "x", nil), {0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'}}, packets.Disconnect, codeMalformed},
		{"3.1.1 SUBSCRIBE QoS 3", 4, [][]byte{connectPacket(4, "x", nil), {0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}}, packets.Connack, 0},
		{"SUBSCRIBE bad flags", 5, [][]byte{connectPacket(5, "x", nil), {0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}}, packets.Disconnect, codeMalformed},
		{"AUTH", 5, [][]byte{connectPacket(5, "x", nil), {0xf0, 0x02, 0x00, 0x00}}, packets.Disconnect, codeProtocolError},
		{"a server packet", 5, [][]byte{connectPacket(5, "x", nil), {0x90, 0x03, 0x00, 0x01, 0x00}}, packets.Disconnect, codeProtocolError},
		{"DISCONNECT setting an expiry after none", 5, [][]byte{connectPacket(5, "x", nil), encodeClient(&testing.T{}, &packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: 5,
			Properties: packets.Properties{SessionExpiryInterval: 60, SessionExpiryIntervalFlag: true},
		})}, packets.Disconnect, codeProtocolError},
		{"invalid UTF-8 in a topic", 5, [][]byte{connectPacket(5, "x", nil), {0x30, 0x04, 0x00, 0x02, 0xc3, 0x28}}, packets.Disconnect, codeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, denyHooks, Options{MaxPacketSize: 1024})
			cl := ts.dial(t, tt.ver)
			for _, b := range tt.in {
				cl.write(b)
			}
			got := cl.expectClosed()
			if tt.wantType == 0 {
				if len(got) != 0 {
					t.Fatalf("got %s before the close, want nothing", packetName(got[0].FixedHeader.Type))
				}
				return
			}
			if len(got) == 0 {
				t.Fatalf("closed with no packet, want %s 0x%02x", packetName(tt.wantType), tt.wantCode)
			}
			last := got[len(got)-1]
			if last.FixedHeader.Type != tt.wantType || last.ReasonCode != tt.wantCode {
				t.Fatalf("last packet %s 0x%02x, want %s 0x%02x", packetName(last.FixedHeader.Type), last.ReasonCode, packetName(tt.wantType), tt.wantCode)
			}
		})
	}
}

func reservedFlag(b []byte) []byte {
	// Fixed header (2) + protocol name (2+4) + level (1): the flags byte.
	b[2+6+1] |= 1
	return b
}

func pub(ver byte, topic string, mod func(*packets.Packet)) []byte {
	pk := &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: ver, TopicName: topic, Payload: []byte("x")}
	if mod != nil {
		mod(pk)
	}
	return encodeClient(&testing.T{}, pk)
}

func subscribePacket(ver byte, filters ...packets.Subscription) []byte {
	return encodeClient(&testing.T{}, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, ProtocolVersion: ver, PacketID: 1, Filters: filters})
}

// TestRefusalsThatKeepTheConnection: reason codes that answer one packet
// without closing.
func TestRefusalsThatKeepTheConnection(t *testing.T) {
	ts := newTestServer(t, denyHooks, Options{})
	for _, ver := range []byte{4, 5} {
		t.Run(fmt.Sprint("v", ver), func(t *testing.T) {
			v5 := ver == 5
			watcher := ts.dial(t, ver)
			watcher.connect(fmt.Sprint("watch", ver), true, nil)
			watcher.subscribe(1, nil, sub("#", 1))
			cl := ts.dial(t, ver)
			cl.connect(fmt.Sprint("c", ver), true, nil)
			// SUBSCRIBE: one good, one forbidden, one invalid filter.
			sa := cl.subscribe(2, nil, sub("ok/#", 1), sub("secret/#", 1), sub("a/#/b", 0))
			want := []byte{1, code3SubackFailure, code3SubackFailure}
			if v5 {
				want = []byte{1, codeNotAuthorized, codeTopicFilterInvalid}
			}
			if string(sa.ReasonCodes) != string(want) {
				t.Fatalf("SUBACK codes % x, want % x", sa.ReasonCodes, want)
			}
			// A forbidden PUBLISH: 5.0 says so, 3.1.1 acknowledges and
			// drops it [MQTT-3.3.5-2]. Either way nobody receives it.
			cl.publish("secret/x", 1, false, 5, "no", nil)
			ack := cl.expect(packets.Puback)
			if wantCode := byte(map[bool]byte{true: codeNotAuthorized, false: 0}[v5]); ack.ReasonCode != wantCode {
				t.Fatalf("PUBACK 0x%02x, want 0x%02x", ack.ReasonCode, wantCode)
			}
			cl.publish("secret/x", 2, false, 6, "no", nil)
			if rec := cl.expect(packets.Pubrec); v5 && rec.ReasonCode != codeNotAuthorized {
				t.Fatalf("PUBREC 0x%02x", rec.ReasonCode)
			}
			if !v5 {
				cl.ack(packets.Pubrel, 6)
				cl.expect(packets.Pubcomp)
			}
			// $SYS is the server's.
			cl.publish("$SYS/broker/uptime", 1, false, 7, "forever", nil)
			cl.expect(packets.Puback)
			// A PUBREL for nothing.
			cl.ack(packets.Pubrel, 99)
			if comp := cl.expect(packets.Pubcomp); v5 && comp.ReasonCode != codePacketIDNotFound {
				t.Fatalf("PUBCOMP 0x%02x, want 0x92", comp.ReasonCode)
			}
			// Payload format mismatch at QoS 1 is answered, not fatal.
			if v5 {
				cl.publish("ok/x", 1, false, 8, "\xff", func(pk *packets.Packet) { pk.Properties.PayloadFormat, pk.Properties.PayloadFormatFlag = 1, true })
				if ack := cl.expect(packets.Puback); ack.ReasonCode != codePayloadFormatInvalid {
					t.Fatalf("PUBACK 0x%02x, want 0x99", ack.ReasonCode)
				}
			}
			// UNSUBSCRIBE: 5.0 tells which existed.
			cl.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe}, ProtocolVersion: ver, PacketID: 3,
				Filters: packets.Subscriptions{{Filter: "ok/#"}, {Filter: "never"}}})
			ua := cl.expect(packets.Unsuback)
			if v5 && string(ua.ReasonCodes) != string([]byte{0, codeNoSubscriptionExisted}) {
				t.Fatalf("UNSUBACK % x", ua.ReasonCodes)
			}
			cl.publish("ok/done", 1, false, 9, "done", nil)
			cl.expect(packets.Puback)
			got := watcher.expect(packets.Publish)
			if got.TopicName != "ok/done" {
				t.Fatalf("watcher got %s first: a refused message was delivered", got.TopicName)
			}
			watcher.ack(packets.Puback, got.PacketID)
		})
	}
}

func TestCodecKnownPanic(t *testing.T) {
	// A 5.0 SUBSCRIBE whose filter is not followed by its options byte
	// makes the codec index past the body (mochi-mqtt v2.7.9,
	// packets.go SubscribeDecode). decode turns it into a malformed
	// packet; this test notices when an upgrade fixes it.
	body := []byte{0x00, 0x01, 0x00, 0x00, 0x01, 'a'}
	panicked := func() (p bool) {
		defer func() { p = recover() != nil }()
		pk := &packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1, Remaining: len(body)}}
		pk.SubscribeDecode(body)
		return false
	}()
	if !panicked {
		t.Log("the codec no longer panics on a truncated 5.0 SUBSCRIBE: update docs/adr/0006-mqtt-codec.md")
	}
	before := codecPanics.Load()
	_, err := decode(5, 0x82, body)
	var de *decodeError
	if !errors.As(err, &de) || de.code != codeMalformed {
		t.Fatalf("decode: %v, want a malformed packet", err)
	}
	if panicked && codecPanics.Load() != before+1 {
		t.Fatal("the recovered panic was not counted")
	}
}
