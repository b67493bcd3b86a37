package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// onHangup runs reload on every SIGHUP until ctx ends. One handler for
// everything a SIGHUP reloads (certificates, keys), so that one signal
// reloads all of it, in a known order; a SIGHUP never stops the server.
func onHangup(ctx context.Context, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload()
			}
		}
	}()
}
