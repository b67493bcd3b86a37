package bench

import "testing"

func TestResolveEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, proto string
		want       Endpoint
	}{
		{"ws://127.0.0.1:8080/ws", "", Endpoint{Target: Target{"127.0.0.1:8080", "127.0.0.1:8080", "/ws"}, Protocol: "herald.v1", WS: true}},
		{"ws://127.0.0.1:15674/ws", "stomp", Endpoint{Target: Target{"127.0.0.1:15674", "127.0.0.1:15674", "/ws"}, Protocol: "stomp", WS: true}},
		{"ws://localhost/mqtt", "mqtt", Endpoint{Target: Target{"localhost:80", "localhost", "/mqtt"}, Protocol: "mqtt", WS: true}},
		{"mqtt://127.0.0.1", "", Endpoint{Target: Target{"127.0.0.1:1883", "127.0.0.1", ""}, Protocol: "mqtt"}},
		{"mqtt://127.0.0.1:1999", "mqtt", Endpoint{Target: Target{"127.0.0.1:1999", "127.0.0.1:1999", ""}, Protocol: "mqtt"}},
		{"stomp://guest:pw@127.0.0.1", "", Endpoint{Target: Target{"127.0.0.1:61613", "127.0.0.1", ""}, Protocol: "stomp", Login: "guest", Passcode: "pw"}},
		{"tcp://127.0.0.1:7000", "stomp", Endpoint{Target: Target{"127.0.0.1:7000", "127.0.0.1:7000", ""}, Protocol: "stomp"}},
		{"tcp://127.0.0.1:7000", "mqtt", Endpoint{Target: Target{"127.0.0.1:7000", "127.0.0.1:7000", ""}, Protocol: "mqtt"}},
	} {
		got, err := resolveEndpoint(tc.url, tc.proto)
		if err != nil || got != tc.want {
			t.Errorf("%s %q: %+v %v, want %+v", tc.url, tc.proto, got, err, tc.want)
		}
	}
	for _, tc := range [][2]string{{"http://x/", ""}, {"tcp://x:1", ""}, {"tcp://x:1", "herald.v1"}, {"stomp://", ""},
		{"mqtt://x", "stomp"}, {"wss://x/ws", ""}, {"ws://x/ws", "amqp"}} {
		if e, err := resolveEndpoint(tc[0], tc[1]); err == nil {
			t.Errorf("%s %q accepted: %+v", tc[0], tc[1], e)
		}
	}
}

func TestStompDestination(t *testing.T) {
	t.Parallel()
	for topic, want := range map[string]string{
		"bench/fanout":   "/topic/bench.fanout",
		"x":              "/topic/x",
		"/queue/a":       "/queue/a",
		"/exchange/ex/k": "/exchange/ex/k",
	} {
		if got := stompDestination(topic); got != want {
			t.Errorf("%s: %s, want %s", topic, got, want)
		}
	}
}
