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

// serve runs Herald as cfg describes until ctx ends, then shuts down
// gracefully: /healthz turns 503, the listener closes, and every client
// is closed after its queued messages are written, all within
// cfg.ShutdownTimeout. ready, if not nil, is called with the bound
// address once the server accepts connections.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, ready func(net.Addr)) error {
	opts := cfg.Options(logger)
	if err := applyHooks(&cfg, &opts); err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	reloadKeys, err := applyAuth(&cfg, &opts, logger)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	applyDurable(&cfg, &opts)
	cfg.Limits.apply(&opts)
	srv, err := herald.Open(opts)
	if err != nil {
		return err
	}
	stls, err := newServerTLS(&cfg.TLS)
	if err != nil {
		shutdownServer(srv, cfg.ShutdownTimeout)
		return err
	}
	hupCtx, stopHup := context.WithCancel(ctx)
	defer stopHup()
	onHangup(hupCtx, func() {
		reloadTLS(stls, logger)
		reloadJWTKeys(reloadKeys, logger)
		reloadClusterTLS(srv, logger)
	})
	demo.Register(srv, &demo.LED{})

	var draining atomic.Bool
	mc := demo.MuxConfig{
		Server: srv, WSPath: cfg.WSPath, Demo: cfg.Demo, Draining: draining.Load,
		EventsPath: cfg.EventsPath, StreamPath: cfg.StreamPath, PollPath: cfg.PollPath,
	}
	if cfg.Static != "" {
		mc.Static = os.DirFS(cfg.Static)
	}
	mux := demo.NewMux(mc)
	if err := mountBackends(&cfg, srv, mux, logger); err != nil {
		shutdownServer(srv, cfg.ShutdownTimeout)
		return err
	}
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.Limits.readHeaderTimeout(), // slowloris; no ReadTimeout: WebSocket connections live long
		IdleTimeout:       2 * time.Minute,                // keep-alive between plain HTTP requests
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	ln, err := listen(cfg.Listen, stls.forHTTP())
	if err != nil {
		shutdownServer(srv, cfg.ShutdownTimeout)
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.STOMPListen != "" {
		sln, err := listen(cfg.STOMPListen, stls.forTCP())
		if err != nil {
			ln.Close()
			shutdownServer(srv, cfg.ShutdownTimeout)
			return fmt.Errorf("stomp listen: %w", err)
		}
		defer sln.Close() // Shutdown closes it too, unless it came first
		// Shutdown closes it; ServeSTOMP then returns ErrServerClosed.
		go func() {
			if err := srv.ServeSTOMP(sln); err != nil && !errors.Is(err, herald.ErrServerClosed) {
				logger.Error("STOMP listener stopped", "err", err)
			}
		}()
		logger.Info("stomp listening", "addr", sln.Addr().String())
	}
	if cfg.MQTTListen != "" {
		mln, err := listen(cfg.MQTTListen, stls.forTCP())
		if err != nil {
			ln.Close()
			shutdownServer(srv, cfg.ShutdownTimeout)
			return fmt.Errorf("mqtt listen: %w", err)
		}
		defer mln.Close() // Shutdown closes it too, unless it came first
		go func() {
			if err := srv.ServeMQTT(mln); err != nil && !errors.Is(err, herald.ErrServerClosed) {
				logger.Error("MQTT listener stopped", "err", err)
			}
		}()
		logger.Info("mqtt listening", "addr", mln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	logStartup(logger, cfg, ln.Addr(), stls != nil)
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
func logStartup(logger *slog.Logger, cfg Config, addr net.Addr, secure bool) {
	http, ws := "http://", "ws://"
	if secure {
		http, ws = "https://", "wss://"
	}
	base := http + browsable(addr)
	attrs := []any{
		"addr", addr.String(),
		"version", resolvedVersion(),
		"websocket", ws + browsable(addr) + cfg.WSPath,
		"events", base + cfg.EventsPath,
		"client", base + "/herald.js",
		"health", base + "/healthz",
		"metrics", base + "/metrics",
		"auth", describeAuth(&cfg),
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
