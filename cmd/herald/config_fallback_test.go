package main

import (
	"io"
	"testing"
)

// TestFallbackPathSettings: the SSE, streaming and long-polling paths are
// settings like any other, from the environment and from flags.
func TestFallbackPathSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HERALD_EVENTS_PATH": "/e", "HERALD_STREAM_PATH": "/s", "HERALD_POLL_PATH": "/p"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := LoadConfig([]string{"--poll-path", "/lp"}, lookup, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EventsPath != "/e" || cfg.StreamPath != "/s" || cfg.PollPath != "/lp" {
		t.Errorf("paths %q %q %q, want /e /s and the flag's /lp", cfg.EventsPath, cfg.StreamPath, cfg.PollPath)
	}
	def := DefaultConfig()
	if def.EventsPath != "/events" || def.StreamPath != "/stream" || def.PollPath != "/poll" {
		t.Errorf("defaults %q %q %q", def.EventsPath, def.StreamPath, def.PollPath)
	}
}
