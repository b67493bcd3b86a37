package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/gctune"
)

// benchServer is Herald as a library, the way an application embeds it,
// plus what the scenarios need: an "echo" method (returns its params) and
// an echoing text handler. It serves WebSocket on /ws, Server-Sent Events
// on /events, the publish API (loopback, no key) on /api/publish and
// Prometheus metrics on /metrics.
type benchServer struct {
	srv *herald.Server
	hs  *http.Server
	ln  net.Listener
}

func newBenchServer(listen string) (*benchServer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	srv := herald.New(herald.Options{})
	srv.Handle("echo", func(_ context.Context, params json.RawMessage) (any, error) {
		if params == nil {
			return nil, nil
		}
		return params, nil
	})
	srv.HandleText(func(_ context.Context, text string) (string, error) { return text, nil })
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/metrics", srv.MetricsHandler())
	mux.Handle("/events", srv.EventsHandler())
	mux.Handle("POST /api/publish", srv.PublishHandler(herald.PublishAPIOptions{AllowLoopbackWithoutKey: true}))
	b := &benchServer{srv: srv, ln: ln, hs: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go b.hs.Serve(ln)
	return b, nil
}

// URL is the WebSocket endpoint.
func (b *benchServer) URL() string { return "ws://" + b.ln.Addr().String() + "/ws" }

// MetricsURL is the Prometheus endpoint.
func (b *benchServer) MetricsURL() string { return "http://" + b.ln.Addr().String() + "/metrics" }

// Close stops accepting, then closes every client (1001) and waits for
// them, up to ctx.
func (b *benchServer) Close(ctx context.Context) error {
	err := b.hs.Shutdown(ctx)
	if serr := b.srv.Shutdown(ctx); serr != nil && !errors.Is(serr, herald.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// runServe runs the benchmark server until ctx ends (SIGINT or SIGTERM
// from Main). Its first line of output is for scripts to parse.
func runServe(ctx context.Context, cfg *Config, stdout, stderr io.Writer) int {
	// The collector as `herald serve` sets it (ADR 0015); GOGC=100 in the
	// environment measures Go's own default.
	fmt.Fprintf(stderr, "herald bench serve: %v\n", gctune.Apply(gctune.Settings{}, os.LookupEnv))
	b, err := newBenchServer(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "herald bench serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "herald bench serve: %s metrics %s pid %d\n", b.URL(), b.MetricsURL(), os.Getpid())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "herald bench serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}
