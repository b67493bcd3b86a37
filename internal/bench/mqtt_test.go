package bench

import (
	"bytes"
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMQTTEncode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"length 0", appendRemainingLength(nil, 0), "00"},
		{"length 127", appendRemainingLength(nil, 127), "7f"},
		{"length 128", appendRemainingLength(nil, 128), "80 01"},
		{"length 16383", appendRemainingLength(nil, 16383), "ff 7f"},
		{"length 16384", appendRemainingLength(nil, 16384), "80 80 01"},
		{"length 2097152", appendRemainingLength(nil, 2097152), "80 80 80 01"},
		{"length max", appendRemainingLength(nil, 268435455), "ff ff ff 7f"},
		{"connect clean", appendConnect(nil, "c1", 0, true), "10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 63 31"},
		{"connect keepalive", appendConnect(nil, "", 60, false), "10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00"},
		{"subscribe qos1", appendSubscribe(nil, 1, "a/b", 1), "82 08 00 01 00 03 61 2f 62 01"},
		{"subscribe qos0", appendSubscribe(nil, 0x1234, "t", 0), "82 06 12 34 00 01 74 00"},
		{"publish qos0", append(appendPublishHeader(nil, "t", 0, 99, 3), "abc"...), "30 06 00 01 74 61 62 63"},
		{"publish qos1", append(appendPublishHeader(nil, "t", 1, 10, 3), "abc"...), "32 08 00 01 74 00 0a 61 62 63"},
		{"publish 200 bytes", appendPublishHeader(nil, "t", 0, 0, 200), "30 cb 01 00 01 74"},
		{"puback", appendPuback(nil, 0x0107), "40 02 01 07"},
		{"disconnect", appendDisconnect(nil), "e0 00"},
	} {
		if want := unhex(t, tc.want); !bytes.Equal(tc.got, want) {
			t.Errorf("%s: got % x, want % x", tc.name, tc.got, want)
		}
	}
}

func TestMQTTPublishBuild(t *testing.T) {
	t.Parallel()
	p := &mqttPub{topic: "t", qos: 1, size: 30}
	b := p.build(nil, 1712345678901234567)
	want := append(unhex(t, "32 23 00 01 74 00 01"), "1712345678901234567:abcdefghij"...)
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x\nwant % x", b, want)
	}
	topic, qos, id, payload, err := parsePublish(b[0], b[2:])
	if err != nil || string(topic) != "t" || qos != 1 || id != 1 || string(payload) != "1712345678901234567:abcdefghij" {
		t.Fatalf("parsePublish: %q %d %d %q %v", topic, qos, id, payload, err)
	}
	p.id = 0xffff
	if b = p.build(b[:0], 1); b[5] != 0 || b[6] != 1 {
		t.Fatalf("packet identifier after 65535: % x", b[5:7])
	}
}

func TestMQTTDecode(t *testing.T) {
	t.Parallel()
	if sp, code, err := parseConnack(unhex(t, "01 00")); err != nil || !sp || code != 0 {
		t.Errorf("connack: %v %d %v", sp, code, err)
	}
	if _, code, err := parseConnack(unhex(t, "00 05")); err != nil || code != 5 {
		t.Errorf("connack refused: %d %v", code, err)
	}
	if _, _, err := parseConnack(unhex(t, "00")); err == nil {
		t.Error("short connack accepted")
	}
	if id, code, err := parseSuback(unhex(t, "00 01 01")); err != nil || id != 1 || code != 1 {
		t.Errorf("suback: %d %d %v", id, code, err)
	}
	if _, code, _ := parseSuback(unhex(t, "00 01 80")); code != 0x80 {
		t.Errorf("suback failure: %d", code)
	}
	if id, err := parsePuback(unhex(t, "12 34")); err != nil || id != 0x1234 {
		t.Errorf("puback: %d %v", id, err)
	}
	topic, qos, id, payload, err := parsePublish(0x30, unhex(t, "00 03 61 2f 62 68 69"))
	if err != nil || string(topic) != "a/b" || qos != 0 || id != 0 || string(payload) != "hi" {
		t.Errorf("publish qos0: %q %d %d %q %v", topic, qos, id, payload, err)
	}
	topic, qos, id, payload, err = parsePublish(0x3b, unhex(t, "00 01 74 00 07")) // dup, qos1, retain
	if err != nil || string(topic) != "t" || qos != 1 || id != 7 || len(payload) != 0 {
		t.Errorf("publish qos1: %q %d %d %q %v", topic, qos, id, payload, err)
	}
	for _, bad := range []string{"", "00", "00 05 61", "00 01 74 00"} {
		first := byte(0x30)
		if bad == "00 01 74 00" {
			first = 0x32
		}
		if _, _, _, _, err := parsePublish(first, unhex(t, bad)); err == nil {
			t.Errorf("publish %q accepted", bad)
		}
	}
}

type mqttPkt struct {
	first byte
	body  string
}

func TestMQTTReaderSplits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 300)
	stream := unhex(t, "20 02 00 00"+"90 03 00 01 01"+"d0 00")
	stream = append(stream, appendPublishHeader(nil, "t", 0, 0, len(big))...)
	stream = append(stream, big...)
	stream = append(stream, unhex(t, "40 02 00 09")...)
	want := []mqttPkt{{0x20, "\x00\x00"}, {0x90, "\x00\x01\x01"}, {0xd0, ""}, {0x30, "\x00\x01t" + big}, {0x40, "\x00\x09"}}
	// Every split of the stream into two reads, then byte by byte.
	var cuts [][][]byte
	for i := range len(stream) + 1 {
		cuts = append(cuts, [][]byte{stream[:i], stream[i:]})
	}
	var single [][]byte
	for i := range stream {
		single = append(single, stream[i:i+1])
	}
	cuts = append(cuts, single)
	for i, reads := range cuts {
		var r mqttReader
		r.Max = 1024
		var got []mqttPkt
		for _, p := range reads {
			// Reads reuse their buffer: hand the reader a copy that is
			// overwritten afterwards.
			q := append([]byte(nil), p...)
			if err := r.Feed(q, func(first byte, body []byte) error {
				got = append(got, mqttPkt{first, string(body)})
				return nil
			}); err != nil {
				t.Fatalf("cut %d: %v", i, err)
			}
			for j := range q {
				q[j] = 0xee
			}
		}
		if len(got) != len(want) {
			t.Fatalf("cut %d: %d packets, want %d", i, len(got), len(want))
		}
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("cut %d packet %d: %x %q, want %x %q", i, j, got[j].first, got[j].body, want[j].first, want[j].body)
			}
		}
	}
}

func TestMQTTReaderErrors(t *testing.T) {
	t.Parallel()
	var r mqttReader
	if err := r.Feed(unhex(t, "30 ff ff ff ff 01"), func(byte, []byte) error { return nil }); err == nil {
		t.Error("5-byte remaining length accepted")
	}
	r = mqttReader{Max: 10}
	if err := r.Feed(unhex(t, "30 20"), func(byte, []byte) error { return nil }); err == nil {
		t.Error("oversized packet accepted")
	}
}

func TestMQTTFanoutEndToEnd(t *testing.T) {
	t.Parallel()
	srv := herald.New(herald.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeMQTT(ln)
	t.Cleanup(func() { srv.Shutdown(t.Context()); ln.Close() })
	ws := startServer(t)
	for _, tc := range []struct{ url, qos string }{
		{"tcp://" + ln.Addr().String(), "0"},
		{"tcp://" + ln.Addr().String(), "1"},
		{ws.URL(), "0"},
		{ws.URL(), "1"},
	} {
		rep, code, stderr := runMain(t, "fanout", "--protocol", "mqtt", "--qos", tc.qos, "--url", tc.url,
			"--conns", "10", "--rate", "200", "--duration", "250ms", "--size", "40", "--timeout", "10s")
		if code != 0 || rep.Error != "" {
			t.Fatalf("%s qos %s: code %d, error %q, stderr %s", tc.url, tc.qos, code, rep.Error, stderr)
		}
		// 250 ms at 200/s: publications due at 0, 5, ..., 245 ms.
		if rep.Sent != 50 || rep.Expected != 500 || rep.Received != 500 || rep.Errors != 0 || rep.Opened != 10 {
			t.Fatalf("%s qos %s: sent %d received %d of %d, errors %d", tc.url, tc.qos, rep.Sent, rep.Received, rep.Expected, rep.Errors)
		}
		if rep.Latency == nil || rep.Latency.Count != 500 || rep.Settings.Mode != "mqtt qos"+tc.qos {
			t.Fatalf("%s qos %s: latency %+v mode %q", tc.url, tc.qos, rep.Latency, rep.Settings.Mode)
		}
	}
}

func TestMQTTFanoutFlags(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		"fanout --protocol mqtt --url http://x/":         "the scheme must be ws, mqtt, stomp or tcp",
		"fanout --protocol nats":                         `--protocol must be herald.v1, stomp or mqtt, not "nats"`,
		"fanout --protocol mqtt --qos 2":                 "--qos must be 0 or 1",
		"fanout --url tcp://127.0.0.1:1883":              "--url tcp:// needs --protocol mqtt or stomp",
		"fanout --url stomp://127.0.0.1 --protocol mqtt": "--url stomp:// speaks stomp, not --protocol mqtt",
		"fanout --url mqtt://10.1.2.3":                   "not a loopback address",
	} {
		var errw bytes.Buffer
		if _, err := ParseArgs(strings.Fields(args), &errw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
}

func FuzzMQTTReader(f *testing.F) {
	f.Add([]byte{0x30, 0x06, 0x00, 0x01, 't', 'a', 'b', 'c', 0x40, 0x02, 0x00, 0x01}, 5)
	f.Add([]byte{0x90, 0x80, 0x01}, 1)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			cut = len(data)
		}
		var whole, split []string
		collect := func(out *[]string) func(byte, []byte) error {
			return func(first byte, body []byte) error {
				*out = append(*out, string(append([]byte{first}, body...)))
				return nil
			}
		}
		r1 := mqttReader{Max: 1 << 16}
		err1 := r1.Feed(data, collect(&whole))
		r2 := mqttReader{Max: 1 << 16}
		err2 := r2.Feed(data[:cut], collect(&split))
		if err2 == nil {
			err2 = r2.Feed(data[cut:], collect(&split))
		}
		if err1 == nil && err2 == nil && strings.Join(whole, "|") != strings.Join(split, "|") {
			t.Fatalf("whole %q, split at %d %q", whole, cut, split)
		}
	})
}
