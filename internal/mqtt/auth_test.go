package mqtt

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
)

// tokenHooks accept the passcode "good" or "better" as subject "alice"
// ("better" may not subscribe to chat/...), "other" as subject "bob",
// and refuse anything else.
var tokenHooks = core.Hooks{
	Authorize: func(_ context.Context, s *core.Scope, a core.Action, t string) error {
		if s.Current().Claims["narrow"] == true && strings.HasPrefix(t, "chat/") {
			return core.ErrForbidden
		}
		return nil
	},
	Connect: func(_ context.Context, i *core.ConnectInfo) (core.Identity, error) {
		switch i.Passcode {
		case "good":
			return core.Identity{Subject: "alice"}, nil
		case "better":
			return core.Identity{Subject: "alice", Claims: map[string]any{"narrow": true}}, nil
		case "other":
			return core.Identity{Subject: "bob"}, nil
		}
		return core.Identity{}, fmt.Errorf("bad token: %w", core.ErrUnauthorized)
	},
}

func withMethod(method, data string) func(*packets.Packet) {
	return func(pk *packets.Packet) {
		pk.Properties.AuthenticationMethod, pk.Properties.AuthenticationData = method, []byte(data)
	}
}

func authPacket(code byte, method, data string) []byte {
	return encodeClient(&testing.T{}, &packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Auth}, ProtocolVersion: 5, ReasonCode: code,
		Properties: packets.Properties{AuthenticationMethod: method, AuthenticationData: []byte(data)},
	})
}

// TestReauthentication: CONNECT with method "token", then AUTH 0x19.
func TestReauthentication(t *testing.T) {
	ts := newTestServer(t, tokenHooks, Options{})
	cl := ts.dial(t, 5)
	ack := cl.connect("a", true, withMethod(AuthMethod, "good"))
	if ack.ReasonCode != codeSuccess || ack.Properties.AuthenticationMethod != AuthMethod {
		t.Fatalf("CONNACK 0x%02x method %q", ack.ReasonCode, ack.Properties.AuthenticationMethod)
	}
	cl.write(authPacket(codeReauthenticate, AuthMethod, "better"))
	if a := cl.expect(packets.Auth); a.ReasonCode != codeSuccess || a.Properties.AuthenticationMethod != AuthMethod {
		t.Fatalf("AUTH 0x%02x %q", a.ReasonCode, a.Properties.AuthenticationMethod)
	}
	cl.ping() // still connected
}

// TestReauthenticationRefused: each case ends the connection with a
// DISCONNECT of the given reason.
func TestReauthenticationRefused(t *testing.T) {
	cases := []struct {
		name    string
		connect func(*packets.Packet)
		auth    []byte
		want    byte
	}{
		{"bad token", withMethod(AuthMethod, "good"), authPacket(codeReauthenticate, AuthMethod, "forged"), codeNotAuthorized},
		{"another subject", withMethod(AuthMethod, "good"), authPacket(codeReauthenticate, AuthMethod, "other"), codeNotAuthorized},
		{"another method", withMethod(AuthMethod, "good"), authPacket(codeReauthenticate, "SCRAM-SHA-1", "x"), codeProtocolError},
		{"continue, not re-authenticate", withMethod(AuthMethod, "good"), authPacket(0x18, AuthMethod, "better"), codeProtocolError},
		{"no method at CONNECT", func(pk *packets.Packet) {
			pk.Connect.UsernameFlag, pk.Connect.Username, pk.Connect.PasswordFlag, pk.Connect.Password = true, []byte("u"), true, []byte("good")
		}, authPacket(codeReauthenticate, AuthMethod, "better"), codeProtocolError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, tokenHooks, Options{})
			cl := ts.dial(t, 5)
			if ack := cl.connect("a", true, c.connect); ack.ReasonCode != codeSuccess {
				t.Fatalf("CONNACK 0x%02x", ack.ReasonCode)
			}
			cl.write(c.auth)
			got := cl.expectClosed()
			if len(got) == 0 || got[len(got)-1].FixedHeader.Type != packets.Disconnect || got[len(got)-1].ReasonCode != c.want {
				t.Fatalf("closed with %v, want DISCONNECT 0x%02x", got, c.want)
			}
		})
	}
}

// TestAuthenticationData: with method "token" and no password the token
// is the Authentication Data; a wrong one is refused with 0x86.
func TestAuthenticationData(t *testing.T) {
	ts := newTestServer(t, tokenHooks, Options{})
	if ack := ts.dial(t, 5).connect("a", true, withMethod(AuthMethod, "forged")); ack.ReasonCode != codeBadUserOrPassword {
		t.Fatalf("CONNACK 0x%02x, want 0x86", ack.ReasonCode)
	}
}

// TestReauthenticationRevokes: subscriptions the new identity may no
// longer have are dropped, shared ones included.
func TestReauthenticationRevokes(t *testing.T) {
	ts := newTestServer(t, tokenHooks, Options{})
	cl := ts.dial(t, 5)
	cl.connect("a", true, withMethod(AuthMethod, "good"))
	cl.subscribe(1, nil, sub("chat/#", 0), sub("$share/g/chat/#", 0), sub("news/#", 0))
	cl.write(authPacket(codeReauthenticate, AuthMethod, "better"))
	cl.expect(packets.Auth)
	pub := ts.dial(t, 5)
	pub.connect("p", true, withMethod(AuthMethod, "good"))
	pub.publish("chat/x", 0, false, 0, "revoked", nil)
	pub.publish("news/x", 0, false, 0, "kept", nil)
	if m := cl.expect(packets.Publish); m.TopicName != "news/x" {
		t.Fatalf("got %s after the re-authentication, want news/x first", m.TopicName)
	}
}
