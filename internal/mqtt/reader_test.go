package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

type framed struct {
	first byte
	body  []byte
}

func feedAll(r *reader, chunks [][]byte) ([]framed, error) {
	var got []framed
	for _, c := range chunks {
		err := r.feed(c, func(first byte, body []byte) error {
			got = append(got, framed{first, body})
			return nil
		})
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// seedPackets are well-formed packets of every type a client sends, in
// both encodings.
func seedPackets(t testing.TB) [][]byte {
	var out [][]byte
	for _, ver := range []byte{4, 5} {
		pks := []*packets.Packet{
			{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: ver, Connect: packets.ConnectParams{
				ProtocolName: []byte("MQTT"), ClientIdentifier: "c1", Clean: true, Keepalive: 30,
				WillFlag: true, WillTopic: "w", WillPayload: []byte("bye"), WillQos: 1,
				UsernameFlag: true, Username: []byte("u"), PasswordFlag: true, Password: []byte("p"),
			}, Properties: packets.Properties{SessionExpiryInterval: 60, SessionExpiryIntervalFlag: true, ReceiveMaximum: 10}},
			{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: ver, TopicName: "a/b", PacketID: 3, Payload: []byte("payload"),
				Properties: packets.Properties{ContentType: "text/plain", User: []packets.UserProperty{{Key: "k", Val: "v"}}, TopicAlias: 1, TopicAliasFlag: true, MessageExpiryInterval: 9}},
			{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: ver, TopicName: "a", Payload: make([]byte, 300)},
			{FixedHeader: packets.FixedHeader{Type: packets.Puback}, ProtocolVersion: ver, PacketID: 1},
			{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, ProtocolVersion: ver, PacketID: 2},
			{FixedHeader: packets.FixedHeader{Type: packets.Pubrel}, ProtocolVersion: ver, PacketID: 2},
			{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, ProtocolVersion: ver, PacketID: 2},
			{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, ProtocolVersion: ver, PacketID: 4, Filters: packets.Subscriptions{
				{Filter: "a/+", Qos: 1, NoLocal: ver == 5, RetainHandling: 2}, {Filter: "$share/g/b/#", Qos: 2},
			}, Properties: packets.Properties{SubscriptionIdentifier: []int{7}}},
			{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe}, ProtocolVersion: ver, PacketID: 5, Filters: packets.Subscriptions{{Filter: "a/+"}}},
			{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}, ProtocolVersion: ver},
			{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: ver, ReasonCode: 4},
		}
		for _, pk := range pks {
			out = append(out, encodeClient(t, pk))
		}
	}
	return out
}

func TestReaderSplitsAnywhere(t *testing.T) {
	stream := bytes.Join(seedPackets(t), nil)
	whole, err := feedAll(&reader{}, [][]byte{stream})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(seedPackets(t)); len(whole) != want {
		t.Fatalf("%d packets framed, want %d", len(whole), want)
	}
	for size := 1; size <= 17; size++ {
		var chunks [][]byte
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		got, err := feedAll(&reader{}, chunks)
		if err != nil {
			t.Fatalf("chunks of %d: %v", size, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(whole) {
			t.Fatalf("chunks of %d frame differently", size)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		in      []byte
		want    error
		packets int
	}{
		{"empty bodies", 0, []byte{0xc0, 0x00, 0xe0, 0x00}, nil, 2},
		{"four length bytes", 0, []byte{0x30, 0xff, 0xff, 0xff, 0x7f}, nil, 0}, // 256 MiB announced: waits for it
		{"five length bytes", 0, []byte{0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, errMalformedLength, 0},
		{"too large, refused before the body", 10, []byte{0x30, 0x09}, errTooLarge, 0},
		{"exactly the maximum", 10, append([]byte{0x30, 0x08}, make([]byte, 8)...), nil, 1},
		{"a packet, then a too large one", 10, []byte{0xc0, 0x00, 0x30, 0x80, 0x01}, errTooLarge, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &reader{max: tt.max}
			got, err := feedAll(r, [][]byte{tt.in})
			if !errors.Is(err, tt.want) || len(got) != tt.packets {
				t.Fatalf("got %d packets, err %v; want %d, %v", len(got), err, tt.packets, tt.want)
			}
			if tt.name == "four length bytes" && r.buffered() != 5 {
				t.Fatalf("buffered %d bytes of a 256 MiB packet, want only its header", r.buffered())
			}
		})
	}
}

// TestReaderBodyIsFresh: the codec's strings point into the body, so the
// reader must never reuse it.
func TestReaderBodyIsFresh(t *testing.T) {
	var bodies [][]byte
	r := &reader{}
	in := []byte{0x30, 0x03, 0x00, 0x01, 'a', 0x30, 0x03, 0x00, 0x01, 'b'}
	r.feed(in, func(_ byte, b []byte) error { bodies = append(bodies, b); return nil })
	if len(bodies) != 2 || string(bodies[0]) != "\x00\x01a" || &bodies[0][0] == &bodies[1][0] {
		t.Fatalf("bodies %q share memory or are wrong", bodies)
	}
}
