package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// TestServeTCPListenError: a taken STOMP or MQTT port makes serve fail
// with a listen error that names the listener.
func TestServeTCPListenError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix string
		take   func(c *Config, addr string)
	}{
		{"stomp listen: ", func(c *Config, addr string) { c.STOMPListen, c.MQTTListen = addr, "" }},
		{"mqtt listen: ", func(c *Config, addr string) { c.STOMPListen, c.MQTTListen = "", addr }},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Listen = "127.0.0.1:0"
		tc.take(&cfg, ln.Addr().String())
		err = serve(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
		ln.Close()
		var opErr *net.OpError
		if !errors.As(err, &opErr) || !strings.HasPrefix(err.Error(), tc.prefix) {
			t.Errorf("serve with a taken port: %v, want %q…", err, tc.prefix)
		}
	}
}
