package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/demo"
)

// readHeaderTimeout bounds how long a client may take to send a request's
// headers (slowloris). The server sets no ReadTimeout or WriteTimeout:
// they would bound whole requests, and WebSocket connections live long.
const readHeaderTimeout = 10 * time.Second

// serve runs Herald as cfg describes until ctx ends, then shuts down
// gracefully: /healthz turns 503, the listener closes, and every client
// is closed after its queued messages are written, all within
// cfg.ShutdownTimeout. ready, if not nil, is called with the bound
// address once the server accepts connections.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, ready func(net.Addr)) error {
	srv := herald.New(cfg.Options(logger))
	demo.Register(srv, &demo.LED{})

	var draining atomic.Bool
	mc := demo.MuxConfig{Server: srv, WSPath: cfg.WSPath, Demo: cfg.Demo, Draining: draining.Load}
	if cfg.Static != "" {
		mc.Static = os.DirFS(cfg.Static)
	}
	hs := &http.Server{
		Handler:           demo.NewMux(mc),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       2 * time.Minute, // keep-alive between plain HTTP requests
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		shutdownServer(srv, cfg.ShutdownTimeout)
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	logStartup(logger, cfg, ln.Addr())
	if slices.Contains(cfg.AllowedOrigins, "*") {
		logger.Warn(`allowed_origins has "*": any web page can connect on its visitors' behalf`)
	}
	if ready != nil {
		ready(ln.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	case serveErr = <-served:
		// The listener failed on its own; clean up all the same.
		logger.Error("server stopped", "err", serveErr)
	}

	draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Both at once, each with the whole budget: the HTTP server closes
	// its listener and finishes plain requests (it does not track the
	// WebSocket connections, which were taken over), while Herald closes
	// every WebSocket client with 1001 after its queued messages.
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(sctx) }()
	srvErr := srv.Shutdown(sctx)
	httpErr := <-httpDone
	if httpErr != nil {
		hs.Close() // requests still running past the timeout are cut off
	}
	if serveErr == nil {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	if err := errors.Join(serveErr, httpErr, srvErr); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// shutdownServer releases a server that never served.
func shutdownServer(srv *herald.Server, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// logStartup writes the one line that says where Herald is.
func logStartup(logger *slog.Logger, cfg Config, addr net.Addr) {
	base := "http://" + browsable(addr)
	attrs := []any{
		"addr", addr.String(),
		"version", resolvedVersion(),
		"websocket", "ws://" + browsable(addr) + cfg.WSPath,
		"health", base + "/healthz",
		"metrics", base + "/metrics",
	}
	if cfg.Static != "" {
		attrs = append(attrs, "static", cfg.Static, "app", base+"/")
	}
	if cfg.Demo {
		demoURL := base + "/"
		if cfg.Static != "" {
			demoURL = base + demo.DemoPrefix
		}
		attrs = append(attrs, "demo", demoURL)
	}
	logger.Info("herald serving", attrs...)
}

// browsable is addr as a browser on this machine would reach it: an
// unspecified listen address (":8080") becomes localhost.
func browsable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
