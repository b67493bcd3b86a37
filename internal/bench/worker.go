package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"
)

// Scaling idle beyond one process. A process may hold 20,000 open files
// here and a source address has about 28,000 ephemeral ports, so with
// --procs P the parent re-executes its own binary P times as workers.
// Worker k opens its share of the connections from source address
// 127.0.0.(2+k) (or the k-th --source) and talks to the parent over its
// standard streams, one JSON line per message:
//
//	worker → parent  {"phase":"ready","report":{...}}  all subscribed
//	parent → worker  (closes the worker's stdin)       time to close
//	worker → parent  {"phase":"done","report":{...}}   closed; final counts
//
// The parent samples the server between "ready" and closing, and merges
// the final reports with Aggregate.

// workerEnv is set in every worker's environment. Binaries ignore it; test
// binaries use it to run Main instead of the tests.
const workerEnv = "HERALD_BENCH_WORKER"

type workerMsg struct {
	Phase    string          `json:"phase"`
	Report   Report          `json:"report"`
	Progress *workerProgress `json:"progress,omitempty"` // phase "progress"
}

// workerProgress is a worker's running counts, sent every second so the
// parent's progress line and series cover every process.
type workerProgress struct {
	Conns    int64 `json:"conns"`
	Received int64 `json:"received"`
	Errors   int64 `json:"errors"`
}

// commandPrefix returns the arguments between the program name and args
// when args is the tail of osArgs ("bench" for `herald bench idle ...`),
// so workers are started the same way as their parent.
func commandPrefix(osArgs, args []string) []string {
	if len(osArgs) == 0 || len(args) > len(osArgs)-1 {
		return nil
	}
	cut := len(osArgs) - len(args)
	if !slices.Equal(osArgs[cut:], args) {
		return nil
	}
	return slices.Clone(osArgs[1:cut])
}

// splitShares divides n connections among p workers as evenly as possible.
func splitShares(n, p int) []int {
	out := make([]int, p)
	for k := range out {
		out[k] = n / p
		if k < n%p {
			out[k]++
		}
	}
	return out
}

// workerSource is worker k's source address.
func workerSource(cfg *Config, k int) netip.Addr {
	if len(cfg.Sources) > 0 {
		return cfg.Sources[k%len(cfg.Sources)]
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + k)})
}

// workerArgs is the command line of worker k.
func workerArgs(cfg *Config, k, share, first int) []string {
	args := []string{"idle", "--worker", "--quiet", "--json",
		"--url", cfg.URL,
		"--conns", strconv.Itoa(share),
		"--first-id", strconv.Itoa(first),
		"--source", workerSource(cfg, k).String(),
		"--timeout", cfg.Timeout.String(),
		"--dial-concurrency", strconv.Itoa(cfg.DialConcurrency),
		"--read-buffer", strconv.Itoa(cfg.ReadBuffer),
	}
	if cfg.AllowRemote {
		args = append(args, "--allow-remote")
	}
	return args
}

// runIdleWorker is the worker side: open and subscribe, report, wait for
// stdin to close, close, report again.
func runIdleWorker(ctx context.Context, cfg *Config, stdin io.Reader, stdout, stderr io.Writer) int {
	rep := newReport(cfg)
	stats := NewStats()
	enc := json.NewEncoder(stdout)
	cpu := startCPU(0)
	conns, _ := openIdle(ctx, cfg, stats, rep, io.Discard)
	rep.CPU = cpu.stop()
	rep.Errors = stats.Errors.Load()
	if err := enc.Encode(workerMsg{Phase: "ready", Report: *rep}); err != nil {
		fmt.Fprintf(stderr, "idle worker: %v\n", err)
		return 1
	}
	io.Copy(io.Discard, stdin) // until the parent closes it
	if conns != nil {
		closeConns(conns, cfg, stats, rep, io.Discard, nil)
	}
	if err := enc.Encode(workerMsg{Phase: "done", Report: *rep}); err != nil {
		fmt.Fprintf(stderr, "idle worker: %v\n", err)
		return 1
	}
	return 0
}

// runIdleParent starts the workers, samples the server while all their
// connections are open, then has them close and merges their reports.
func runIdleParent(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Hold: cfg.Hold.String(), Procs: cfg.Procs}
	exe, err := os.Executable()
	if err != nil {
		rep.fail(err)
		rep.finish()
		return rep
	}
	before := sampleRSS(cfg.PID, rep)
	cpu := startCPU(cfg.PID)
	start := time.Now()
	var procs []*workerProc
	first := cfg.FirstID
	for k, share := range splitShares(cfg.Conns, cfg.Procs) {
		args := append(slices.Clone(cfg.prefix), workerArgs(cfg, k, share, first)...)
		first += share
		w, err := startWorker(exe, args, stderr, nil)
		if err != nil {
			rep.fail(fmt.Errorf("worker %d: %w", k, err))
			continue
		}
		procs = append(procs, w)
	}
	defer func() {
		for _, w := range procs {
			w.stop() // only does something if a worker is stuck
		}
	}()

	deadline := time.Now().Add(cfg.Timeout + 5*time.Second)
	var opened int
	var subscribed int64
	for k, w := range procs {
		m, ok := w.next(deadline)
		if !ok {
			rep.fail(fmt.Errorf("worker %d did not report ready", k))
			continue
		}
		w.last = &m.Report
		opened += m.Report.Opened
		if m.Report.Idle != nil {
			subscribed += m.Report.Idle.Subscribed
		}
		fmt.Fprintf(say, "worker %d: %d of %d connections from %s open and subscribed\n",
			k, m.Report.Opened, m.Report.Conns, workerSource(cfg, k))
	}
	openDur := time.Since(start)
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %dms (%d processes)\n",
		opened, cfg.Conns, cfg.Target.Addr, openDur.Milliseconds(), len(procs))
	hold(ctx, cfg.Hold)
	rep.CPU = cpu.stop()
	idle := measureIdle(ctx, cfg, before, subscribed, opened, rep)

	closeStart := time.Now()
	for _, w := range procs {
		w.stdin.Close()
	}
	deadline = time.Now().Add(cfg.Timeout)
	var finals []Report
	for k, w := range procs {
		if m, ok := w.next(deadline); ok {
			w.last = &m.Report
		} else {
			rep.fail(fmt.Errorf("worker %d did not report done", k))
		}
		if err := w.stop(); err != nil {
			rep.fail(fmt.Errorf("worker %d: %w", k, err))
		}
		if w.last != nil {
			finals = append(finals, *w.last)
		}
	}
	closeDur := time.Since(closeStart)
	fmt.Fprintf(say, "Closed %d connections to %s in %dms\n", opened, cfg.Target.Addr, closeDur.Milliseconds())

	agg := Aggregate(finals)
	rep.Conns, rep.Opened, rep.Failed, rep.Errors = cfg.Conns, agg.Opened, agg.Failed, agg.Errors
	rep.CPU.Client = agg.CPU.Client // the workers', from start to subscribed
	rep.ConnectHist = agg.ConnectHist
	rep.OpenMS, rep.CloseMS = ms(openDur), ms(closeDur)
	if agg.Error != "" {
		rep.fail(errors.New(agg.Error))
	}
	rep.Idle = idle
	rep.finish()
	return rep
}

// workerProc is a running worker and the messages it has sent.
type workerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	msgs    chan workerMsg
	last    *Report
	stopped bool
}

// startWorker starts a worker; its "progress" messages go to onProgress
// (if not nil) on the worker's reading goroutine, the others to next.
func startWorker(exe string, args []string, stderr io.Writer, onProgress func(workerProgress)) (*workerProc, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &workerProc{cmd: cmd, stdin: stdin, msgs: make(chan workerMsg, 2)}
	go func() {
		defer close(w.msgs)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var m workerMsg
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			if m.Phase == "progress" {
				if onProgress != nil && m.Progress != nil {
					onProgress(*m.Progress)
				}
				continue
			}
			w.msgs <- m
		}
	}()
	return w, nil
}

// next returns the worker's next message, false if it exited or the
// deadline passed first.
func (w *workerProc) next(deadline time.Time) (workerMsg, bool) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case m, ok := <-w.msgs:
		return m, ok
	case <-t.C:
		return workerMsg{}, false
	}
}

// stop waits for the worker to exit, killing it if it has not reported
// done (its stdin is closed first, which is what makes it finish).
func (w *workerProc) stop() error {
	if w.stopped {
		return nil
	}
	w.stopped = true
	w.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		return <-done
	}
}
