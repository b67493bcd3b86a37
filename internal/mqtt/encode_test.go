package mqtt

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/wsframe"
)

// TestPublishAssembly checks the PUBLISH Herald assembles from shared and
// per-subscriber parts against the codec's own PublishEncode.
func TestPublishAssembly(t *testing.T) {
	type tcase struct {
		qos         byte
		dup, retain bool
		topic       string
		payload     []byte
		ids         []int
		ct          string
		headers     []message.Header
		fwd         packets.Properties
		expiry      uint32
	}
	cases := []tcase{
		{topic: "a/b", payload: []byte("hello")},
		{qos: 1, dup: true, topic: "x", payload: nil},
		{qos: 2, retain: true, topic: "long/" + string(bytes.Repeat([]byte("t"), 300)), payload: make([]byte, 20000)},
		{qos: 1, topic: "p", payload: []byte("{}"), ids: []int{1, 300, 268435455}, ct: "application/json",
			headers: []message.Header{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}},
			fwd:     packets.Properties{PayloadFormat: 1, PayloadFormatFlag: true, ResponseTopic: "r/t", CorrelationData: []byte{0, 1}}, expiry: 60},
	}
	for i, tc := range cases {
		for _, ver := range []byte{4, 5} {
			t.Run(fmt.Sprintf("%d/v%d", i, ver), func(t *testing.T) {
				m := &message.Message{Topic: tc.topic, Data: tc.payload, ContentType: tc.ct, Headers: tc.headers, Time: time.Now()}
				setMeta(m, meta{qos: tc.qos, expiry: tc.expiry, fwd: encodeProps(packets.Publish, &tc.fwd)})
				c := &conn{ver: ver}
				h := c.publishHeader(m, tc.qos, tc.retain, tc.dup, 7, tc.ids)
				got := append(h.append(nil, len(tc.payload)), tc.payload...)
				if len(got) != h.size(len(tc.payload)) {
					t.Fatalf("size %d, wrote %d", h.size(len(tc.payload)), len(got))
				}

				want := &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: tc.qos, Dup: tc.dup, Retain: tc.retain},
					ProtocolVersion: ver, TopicName: tc.topic, Payload: tc.payload, Mods: packets.Mods{AllowResponseInfo: true}}
				if tc.qos > 0 {
					want.PacketID = 7
				}
				if ver == 5 {
					want.Properties = tc.fwd
					want.Properties.ContentType = tc.ct
					want.Properties.MessageExpiryInterval = tc.expiry
					want.Properties.SubscriptionIdentifier = tc.ids
					for _, hd := range tc.headers {
						want.Properties.User = append(want.Properties.User, packets.UserProperty{Key: hd.Key, Val: hd.Value})
					}
				}
				var buf bytes.Buffer
				if err := want.PublishEncode(&buf); err != nil {
					t.Fatal(err)
				}
				if ver != 5 {
					if !bytes.Equal(got, buf.Bytes()) {
						t.Fatalf("assembled\n% x\ncodec\n% x", got, buf.Bytes())
					}
					return
				}
				a, b := decodeBoth(t, got), decodeBoth(t, buf.Bytes())
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("assembled decodes to\n%+v\ncodec's to\n%+v", a, b)
				}
			})
		}
	}
}

func decodeBoth(t *testing.T, b []byte) *packets.Packet {
	t.Helper()
	var pk *packets.Packet
	err := (&reader{}).feed(b, func(first byte, body []byte) error {
		p, err := decodeServer(5, first, body)
		pk = p
		return err
	})
	if err != nil || pk == nil {
		t.Fatalf("decode: %v", err)
	}
	return pk
}

// TestSharedEncodings: a QoS 0 PUBLISH is one shared buffer per message,
// protocol family, retain flag and transport; other deliveries share the
// payload.
func TestSharedEncodings(t *testing.T) {
	m := &message.Message{Topic: "t", Data: []byte("payload"), Time: time.Now()}
	enc := func(v5, ret, ws int) []byte { return m.Encoded(wholeKeys[v5][ret][ws], wholeEncs[v5][ret][ws]) }
	a, b := enc(0, 0, 0), enc(0, 0, 0)
	if &a[0] != &b[0] {
		t.Fatal("the QoS 0 packet is not shared")
	}
	ws := enc(1, 1, 1)
	var frames [][]byte
	(&wsframe.ClientReader{MaxMessage: 1 << 16}).Feed(ws, func(op byte, p []byte) error { frames = append(frames, p); return nil })
	if len(frames) != 1 || frames[0][0] != 0x31 {
		t.Fatalf("WebSocket form: %x", ws)
	}
	if p := m.Encoded(keyPayload, payloadOf); &p[0] != &m.Data[0] {
		t.Fatal("the payload is copied")
	}
}
