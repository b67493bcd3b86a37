package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Main runs `herald bench <scenario> [flags]` and returns the exit status:
// 0 on success, 1 when the run failed or fell short (missing deliveries,
// failed connections, timeouts), 2 for a usage error. args excludes the
// program name (and "bench").
func Main(args []string, stdout, stderr io.Writer) int {
	// The progress line, worker processes and the scenario all write to
	// stderr; the caller's writer need not be safe for that.
	tty := isTerminal(stderr)
	stderr = &syncWriter{w: stderr}
	cfg, err := ParseArgs(args, stderr)
	if err != nil {
		if errors.Is(err, errHelp) && len(args) > 0 {
			return 0
		}
		return 2
	}
	cfg.prefix = commandPrefix(os.Args, args)
	cfg.stderrTTY = tty
	ctx := context.Background()
	switch cfg.Scenario {
	case "serve":
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runServe(ctx, cfg, stdout, stderr)
	case "table":
		return runTable(cfg.Files, os.Stdin, stdout, stderr)
	case "peers":
		return runPeers(cfg.Files, stdout, stderr)
	case "idle":
		if cfg.Worker {
			return runIdleWorker(ctx, cfg, os.Stdin, stdout, stderr)
		}
	case "fanout", "sse":
		if cfg.Worker {
			return runFanoutWorker(ctx, cfg, driverFor(cfg), os.Stdin, stdout, stderr)
		}
	}

	// Reference 001's lines go to stdout, or to stderr when stdout carries
	// the JSON report.
	say := stdout
	if cfg.JSON {
		say = stderr
		if cfg.Quiet {
			say = io.Discard
		}
	}
	var rep *Report
	switch cfg.Scenario {
	case "chat":
		rep = runChat(ctx, cfg, say, stderr)
	case "fanout":
		rep = runFanoutWith(ctx, cfg, driverFor(cfg), say, stderr)
	case "sse":
		rep = runFanoutWith(ctx, cfg, driverFor(cfg), say, stderr)
	case "echo":
		rep = runEcho(ctx, cfg, say, stderr)
	case "rpc":
		rep = runRPC(ctx, cfg, say, stderr)
	case "idle":
		rep = runIdle(ctx, cfg, say, stderr)
	}
	if cfg.ReportFile != "" {
		if err := writeReportFile(cfg.ReportFile, rep); err != nil {
			fmt.Fprintf(stderr, "herald bench: --report: %v\n", err)
			rep.fail(fmt.Errorf("--report: %w", err))
		}
	}
	if cfg.JSON {
		writeJSON(stdout, rep, false)
	} else {
		writeText(stdout, rep)
	}
	if rep.Error != "" {
		return 1
	}
	return 0
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
