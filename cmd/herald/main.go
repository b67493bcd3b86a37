// Command herald is the standalone Herald gateway: the library plus
// configuration, one HTTP listener and the demo web app.
//
//	herald [serve] [flags]   run the server (the default)
//	herald bench SCENARIO    load-test a server (chat, fanout, sse, rpc, echo, idle, serve)
//	herald version           print the version and build information
//	herald help              print this help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/heraldhq/herald/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a graceful shutdown, a second
		// one kills the process at once, as users expect of Ctrl-C.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run executes the command line and returns the exit status: 0 on
// success, 1 when the server fails, 2 for a usage or configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmd, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stderr, lookupEnv)
	case "bench":
		return bench.Main(rest, stdout, stderr)
	case "version":
		bi, _ := debug.ReadBuildInfo()
		writeVersion(stdout, bi)
		return 0
	case "help":
		writeUsage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "herald: unknown command %q\n\n", cmd)
	writeUsage(stderr)
	return 2
}

func runServe(ctx context.Context, args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cfg, err := LoadConfig(args, lookupEnv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "herald: %v\n", err)
		return 2
	}
	logger := newLogger(stderr, cfg.Log)
	if addr, ok := lookupEnv(pprofEnv); ok && addr != "" {
		if _, err := startPprof(addr, stderr); err != nil {
			fmt.Fprintf(stderr, "herald: %v\n", err)
			return 2
		}
	}
	logger.Info("garbage collector", "settings", applyGC(cfg.GC, lookupEnv).String())
	if err := serve(ctx, cfg, logger, nil); err != nil {
		logger.Error("herald failed", "err", err)
		return 1
	}
	return 0
}

func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Herald is a lightweight realtime gateway.

Usage:
  herald [serve] [flags]   run the server (the default command)
  herald bench SCENARIO    load-test a server: chat, fanout, sse, rpc, echo, idle, serve
                           (herald bench help lists their flags)
  herald version           print the version and build information
  herald help              print this help

"herald serve --help" lists the flags and their environment variables.
`)
}
