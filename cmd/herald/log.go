package main

import (
	"io"
	"log/slog"
)

// newLogger returns the process's logger: text or JSON lines on w, at the
// configured level. lc has been validated.
func newLogger(w io.Writer, lc LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level)) // checked by Config.Validate; info otherwise
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
