package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
)

// pprofEnv names the environment variable that, when set to a loopback
// address (127.0.0.1:6060, [::1]:6060), serves net/http/pprof there for
// profiling a running server. It is off by default and refuses any other
// address: profiles reveal memory and cost CPU, so they are never exposed
// beyond the machine.
const pprofEnv = "HERALD_PPROF"

// startPprof serves the profiling handlers on addr if it is a loopback
// address, until the returned listener is closed (herald serve leaves it
// open for the life of the process).
func startPprof(addr string, stderr io.Writer) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pprofEnv, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s: %q is not a loopback address", pprofEnv, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pprofEnv, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	fmt.Fprintf(stderr, "herald: pprof on http://%s/debug/pprof/\n", ln.Addr())
	go http.Serve(ln, mux) //nolint:errcheck // ends when ln is closed
	return ln, nil
}
