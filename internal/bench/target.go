package bench

import (
	"fmt"
	"net"
	"net/url"
)

// Endpoint is where a scenario's connections go and what they speak:
// the --url resolved with --protocol.
type Endpoint struct {
	Target   Target
	Protocol string // herald.v1, stomp or mqtt (fanout); chat, echo: the scenario's own
	WS       bool   // WebSocket; otherwise the protocol over plain TCP
	Login    string // from the URL's user information (STOMP login)
	Passcode string
}

// defaultPorts are the conventional ports of the plain-TCP schemes.
var defaultPorts = map[string]string{"mqtt": "1883", "stomp": "61613"}

// resolveEndpoint maps --url and --protocol to an endpoint:
//
//	ws://host[:port]/path   WebSocket; --protocol herald.v1 (default), stomp or mqtt
//	mqtt://host[:port]      MQTT 3.1.1 over TCP (port 1883 by default)
//	stomp://host[:port]     STOMP 1.2 over TCP (port 61613 by default)
//	tcp://host:port         --protocol mqtt or stomp over TCP
//
// protocol is "" when --protocol was not given, so that the scheme can
// choose it.
func resolveEndpoint(raw, protocol string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("bad --url: %w", err)
	}
	var e Endpoint
	if u.User != nil {
		e.Login = u.User.Username()
		e.Passcode, _ = u.User.Password()
	}
	switch u.Scheme {
	case "ws":
		t, err := ParseTarget(raw)
		if err != nil {
			return Endpoint{}, err
		}
		if protocol == "" {
			protocol = "herald.v1"
		}
		e.Target, e.Protocol, e.WS = t, protocol, true
		return e, e.checkProtocol()
	case "mqtt", "stomp":
		if protocol != "" && protocol != u.Scheme {
			return Endpoint{}, fmt.Errorf("--url %s:// speaks %s, not --protocol %s", u.Scheme, u.Scheme, protocol)
		}
		protocol = u.Scheme
	case "tcp":
		if protocol != "mqtt" && protocol != "stomp" {
			return Endpoint{}, fmt.Errorf("--url tcp:// needs --protocol mqtt or stomp")
		}
	default:
		return Endpoint{}, fmt.Errorf("bad --url %q: the scheme must be ws, mqtt, stomp or tcp", raw)
	}
	if u.Hostname() == "" {
		return Endpoint{}, fmt.Errorf("bad --url %q: no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = defaultPorts[protocol]
	}
	e.Target = Target{Addr: net.JoinHostPort(u.Hostname(), port), Host: u.Host}
	e.Protocol = protocol
	return e, e.checkProtocol()
}

func (e Endpoint) checkProtocol() error {
	switch e.Protocol {
	case "herald.v1", "mqtt", "stomp":
		return nil
	}
	return fmt.Errorf("--protocol must be herald.v1, stomp or mqtt, not %q", e.Protocol)
}
