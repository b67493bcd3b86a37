package herald_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/stomp"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
	"github.com/heraldhq/herald/internal/wsframe"
)

// TestSTOMPErrors sends each kind of bad input on its own connection:
// each gets an ERROR frame naming the problem, then the connection
// closes, while a client connected all along keeps working.
func TestSTOMPErrors(t *testing.T) {
	srv, _, addr := startSTOMP(t, herald.Options{})
	bystander := stomptest.Dial(t, addr)
	bystander.Connect()
	bystander.Send("SUBSCRIBE", "", "id", "q", "destination", "/queue/kept", "ack", "client-individual", "receipt", "r")
	bystander.Receipt("r")
	srv.SendToQueue(context.Background(), "kept", []byte("held"))
	held := bystander.Expect("MESSAGE")

	connect := "CONNECT\naccept-version:1.2\nhost:h\n\n\x00"
	type errCase struct {
		name      string
		raw       string // sent after CONNECT unless noConnect
		noConnect bool
		message   string // a prefix of the ERROR's message header
		receipt   string // the ERROR's receipt-id, if any
	}
	cases := []errCase{
		{name: "unknown command", raw: "FLY\n\n\x00", message: "unknown command FLY"},
		{name: "frame before CONNECT", raw: "SEND\ndestination:/topic/a\n\n\x00", noConnect: true, message: "expected a CONNECT or STOMP frame first, got SEND"},
		{name: "version that cannot be agreed", raw: "CONNECT\naccept-version:2.0,3.1\nhost:h\n\n\x00", noConnect: true, message: "unsupported protocol version"},
		{name: "second CONNECT", raw: connect, message: "already connected"},
		{name: "invalid heart-beat", raw: "CONNECT\naccept-version:1.2\nheart-beat:soon\n\n\x00", noConnect: true, message: "invalid heart-beat header"},
		{name: "SEND without destination", raw: "SEND\nreceipt:s1\n\nx\x00", message: "SEND frame needs a destination header", receipt: "s1"},
		{name: "SUBSCRIBE without id", raw: "SUBSCRIBE\ndestination:/topic/a\n\n\x00", message: "SUBSCRIBE frame needs a id header"},
		{name: "SUBSCRIBE with a body", raw: "SUBSCRIBE\nid:1\ndestination:/topic/a\ncontent-length:1\n\nx\x00", message: "SUBSCRIBE frames must not have a body"},
		{name: "bad ack mode", raw: "SUBSCRIBE\nid:1\ndestination:/topic/a\nack:sometimes\n\n\x00", message: `invalid ack mode "sometimes"`},
		{name: "duplicate subscription id", raw: "SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\x00SUBSCRIBE\nid:1\ndestination:/topic/b\n\n\x00", message: `subscription id "1" is already in use`},
		{name: "unsupported destination", raw: "SEND\ndestination:/exchange/amq.topic\n\n\x00", message: `invalid destination "/exchange/amq.topic": unsupported destination`},
		{name: "wildcard in a SEND", raw: "SEND\ndestination:/topic/a.*\n\n\x00", message: `invalid destination "/topic/a.*": wildcard level`},
		{name: "subscribe to RPC", raw: "SUBSCRIBE\nid:1\ndestination:/rpc/status\n\n\x00", message: "cannot subscribe to /rpc/status"},
		{name: "ACK of unknown id", raw: "ACK\nid:1-99\nreceipt:a1\n\n\x00", message: `ACK of unknown id "1-99"`, receipt: "a1"},
		{name: "ACK of a malformed id", raw: "ACK\nid:nonsense\n\n\x00", message: `ACK of unknown id "nonsense"`},
		{name: "ACK without id", raw: "ACK\n\n\x00", message: "ACK frame needs a id header"},
		{name: "NACK of unknown id", raw: "NACK\nid:7-1\n\n\x00", message: `NACK of unknown id "7-1"`},
		{name: "COMMIT of unknown transaction", raw: "COMMIT\ntransaction:nope\n\n\x00", message: `unknown transaction "nope"`},
		{name: "BEGIN twice", raw: "BEGIN\ntransaction:t\n\n\x00BEGIN\ntransaction:t\n\n\x00", message: `transaction "t" already begun`},
		{name: "SEND in unknown transaction", raw: "SEND\ndestination:/topic/a\ntransaction:t9\n\n\x00", message: `unknown transaction "t9"`},
		{name: "BEGIN without transaction", raw: "BEGIN\n\n\x00", message: "BEGIN frame needs a transaction header"},
		{name: "oversize body", raw: "SEND\ndestination:/topic/a\ncontent-length:70000\n\n", message: "frame body too large: content-length 70000, limit 65536"},
		{name: "oversize body without content-length", raw: "SEND\ndestination:/topic/a\n\n" + strings.Repeat("x", 70000), message: "frame body too large"},
		{name: "too many headers", raw: "SEND\n" + strings.Repeat("h:v\n", 65) + "\n\x00", message: "too many headers: more than 64"},
		{name: "header line too long", raw: "SEND\nh:" + strings.Repeat("v", 9000) + "\n\n\x00", message: "header line too long"},
	}
	// The codec's malformed fixtures, sent by a connected 1.2 client.
	for _, fx := range stomptest.Fixtures {
		if fx.Err == "" || fx.Version != stomp.V12 || fx.Limits != (stomp.Limits{}) || len(fx.Frames) > 0 {
			continue
		}
		cases = append(cases, errCase{name: "fixture " + fx.Name, raw: fx.Raw, message: fx.Err})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := stomptest.Dial(t, addr)
			if !tc.noConnect {
				c.SendRaw(connect)
				c.Expect("CONNECTED")
			}
			c.SendRaw(tc.raw)
			rest := c.Closed()
			var e *stomp.Frame
			for _, f := range rest {
				switch f.Command {
				case "ERROR":
					if e != nil {
						t.Fatalf("two ERROR frames: %v", rest)
					}
					e = f
				case "RECEIPT":
				default:
					t.Fatalf("unexpected %s frame", f.Command)
				}
			}
			if e == nil {
				t.Fatalf("no ERROR frame before the close (got %d frames)", len(rest))
			}
			msg := header(e, "message")
			if !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want it to contain %q", msg, tc.message)
			}
			if got := header(e, "receipt-id"); got != tc.receipt {
				t.Errorf("receipt-id %q, want %q", got, tc.receipt)
			}
			if len(e.Body) == 0 || header(e, "content-length") != fmt.Sprint(len(e.Body)) {
				t.Errorf("ERROR body %q, content-length %q", e.Body, header(e, "content-length"))
			}
			if tc.message == "unsupported protocol version" && header(e, "version") != "1.0,1.1,1.2" {
				t.Errorf("version header %q", header(e, "version"))
			}
		})
	}

	// The bystander was not affected, and what it held is still its own.
	bystander.Send("SEND", "still fine", "destination", "/queue/kept")
	bystander.Send("ACK", "", "id", header(held, "ack"), "receipt", "acked")
	if ms := bystander.Receipt("acked"); len(ms) != 1 || string(ms[0].Body) != "still fine" {
		t.Fatalf("bystander got %v", ms)
	}
}

// TestSTOMPErrorOverWebSocket: the ERROR frame arrives as a message, then
// a close frame.
func TestSTOMPErrorOverWebSocket(t *testing.T) {
	_, base, _ := startSTOMP(t, herald.Options{})
	for _, tt := range []struct {
		raw  string
		code uint16
		msg  string
	}{
		{"CONNECT\naccept-version:1.2\n\n\x00FLY\n\n\x00", wsframe.CloseProtocolError, "unknown command FLY"},
		{"CONNECT\naccept-version:1.2\n\n\x00SEND\ndestination:/topic/a\ncontent-length:99999\n\n", wsframe.CloseMessageTooBig, "frame body too large"},
		{"CONNECT\naccept-version:1.2\n\n\x00DISCONNECT\nreceipt:bye\n\n\x00", wsframe.CloseNormal, ""},
	} {
		c := stomptest.DialWS(t, base+"/ws", "v11.stomp")
		c.SendRaw(tt.raw)
		rest := c.Closed()
		if len(rest) != 2 || rest[0].Command != "CONNECTED" {
			t.Fatalf("frames %v", rest)
		}
		if tt.msg == "" {
			if rest[1].Command != "RECEIPT" {
				t.Fatalf("frames %v", rest)
			}
		} else if rest[1].Command != "ERROR" || !strings.HasPrefix(header(rest[1], "message"), tt.msg) {
			t.Fatalf("frames %v", rest)
		}
		if c.CloseCode() != tt.code {
			t.Errorf("%q: close code %d, want %d", tt.msg, c.CloseCode(), tt.code)
		}
	}
}
