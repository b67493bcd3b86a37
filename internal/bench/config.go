package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Config is a parsed command line.
type Config struct {
	Scenario   string
	URL        string
	Target     Target
	Endpoint   Endpoint // fanout: --url and --protocol resolved
	PublishURL string   // sse: the publisher's endpoint
	sse        sseTarget

	Conns       int
	Messages    int           // chat: broadcasts to send
	Size        int           // payload bytes
	Window      int           // chat: broadcasts outstanding at most
	Rate        float64       // fanout: publishes/s; rpc: requests/s (0 = closed loop)
	Duration    time.Duration // fanout, rpc
	Requests    int           // rpc: stop after this many requests (0 = no limit)
	Method      string        // rpc
	Topic       string        // fanout
	Protocol    string        // fanout: herald.v1, stomp or mqtt
	Subprotocol string        // chat, echo, fanout over WebSocket: Sec-WebSocket-Protocol
	QoS         int           // fanout --protocol mqtt: 0 or 1
	Seed        uint64        // chat: which members speak

	PID     int           // server process to sample (RSS, CPU)
	Metrics string        // idle: Prometheus endpoint of the server
	Hold    time.Duration // idle: how long connections stay open before RSS is sampled
	Procs   int           // idle: worker processes
	Workers int           // fanout, sse: worker processes holding the subscribers
	Sources []netip.Addr  // source addresses

	Timeout         time.Duration // bound on each waiting phase
	DialConcurrency int
	ReadBuffer      int
	AllowRemote     bool
	JSON            bool
	Quiet           bool
	Progress        bool   // progress line even when stderr is not a terminal
	ReportFile      string // --report: SVG or HTML chart of the run
	Label           string

	Listen string   // serve
	Files  []string // table

	Worker  bool // idle, fanout, sse: run as a worker of a parent process
	FirstID int  // worker: index of its first connection

	prefix    []string // arguments before the scenario, for re-executing workers
	rawArgs   []string // the flags as given, for re-executing workers
	stderrTTY bool     // stderr is a terminal: show the progress line
}

// errHelp is returned when usage was requested.
var errHelp = flag.ErrHelp

const usageText = `usage: herald bench <scenario> [flags]

scenarios:
  chat    N "chat" members, M broadcasts of --size bytes from random members (reference 001)
            --conns 1000 --messages 10000 --size 64 --window 64 [--subprotocol chat]
            (any WebSocket broadcast server: every message to every member)
  fanout  N subscribers of one topic, one publisher at --rate msgs/s for --duration,
          over herald.v1, STOMP 1.2 or MQTT 3.1.1, on Herald or any broker
            --conns 100 --rate 1000 --duration 10s --size 64 --topic bench/fanout
            --url ws://HOST/ws [--protocol herald.v1|stomp|mqtt] [--subprotocol v12.stomp]
            --url stomp://[user:pass@]HOST:61613 | mqtt://HOST:1883 | tcp://HOST:PORT --protocol stomp|mqtt
            [--qos 0|1 (mqtt)]  STOMP destination: /topic/<topic, / as .>, or --topic /queue/x
            [--workers N: subscribers in N worker processes, each from its own 127.0.0.x]
  sse     as fanout, the subscribers over Herald's Server-Sent Events endpoint
            --url http://127.0.0.1:8080/events [--publish-url ws://HOST/ws | http://HOST/api/publish]
            --conns 100 --rate 1000 --duration 10s --size 64 --topic bench/fanout [--workers N]
  echo    any WebSocket echo server: each connection sends a message and waits for it back (closed loop)
            --conns 100 --duration 10s --size 64 [--subprotocol NAME]
  rpc     JSON-RPC requests: closed loop per connection, or open loop with --rate
            --conns 1000 --duration 10s [--rate 10000] [--requests N] --method echo
  idle    N idle herald.v1 connections subscribed to idle/<i>; server RSS per connection
            --conns 1000 --pid PID [--metrics URL] --hold 3s [--procs P --source 127.0.0.2,...]
  serve   an in-process Herald server with an "echo" method, for the other scenarios
            --listen 127.0.0.1:8080
  table   print a Markdown table of JSON reports (one per line) read from files or stdin
  peers   print the Markdown tables of a bench/peers/run.sh results file

common flags (load scenarios):
  --url ws://127.0.0.1:8080/ws   --json (print a JSON report)   --report FILE.svg|FILE.html (chart)
  --quiet (no progress line)   --progress (progress line even when stderr is not a terminal)
  --pid PID (sample the server's CPU)   --timeout 60s   --label TEXT   --source IP[,IP...]
  --dial-concurrency 64   --read-buffer BYTES   --allow-remote (targets outside 127.0.0.0/8)
`

// ParseArgs parses "<scenario> [flags]".
func ParseArgs(args []string, stderr io.Writer) (*Config, error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usageText)
		return nil, errHelp
	}
	c := &Config{Scenario: args[0]}
	fs := flag.NewFlagSet("herald bench "+c.Scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageText) }

	var sources string
	fanoutWorkers := func() {
		fs.IntVar(&c.Workers, "workers", 1, "worker processes holding the subscribers (each from its own 127.0.0.x)")
		fs.BoolVar(&c.Worker, "worker", false, "internal: run as a worker")
		fs.IntVar(&c.FirstID, "first-id", 0, "internal: first connection index")
	}
	load := func(conns int, timeout time.Duration, readBuffer int) {
		fs.StringVar(&c.URL, "url", "ws://127.0.0.1:8080/ws", "WebSocket endpoint")
		fs.IntVar(&c.Conns, "conns", conns, "connections")
		fs.IntVar(&c.PID, "pid", 0, "server PID (CPU and memory sampling)")
		fs.DurationVar(&c.Timeout, "timeout", timeout, "bound on each waiting phase")
		fs.IntVar(&c.DialConcurrency, "dial-concurrency", 64, "connection attempts in flight")
		fs.IntVar(&c.ReadBuffer, "read-buffer", readBuffer, "read buffer per connection")
		fs.StringVar(&sources, "source", "", "comma-separated source addresses")
		fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target outside 127.0.0.0/8")
		fs.BoolVar(&c.JSON, "json", false, "print a JSON report instead of text")
		fs.BoolVar(&c.Quiet, "quiet", false, "no progress line on stderr")
		fs.BoolVar(&c.Progress, "progress", false, "progress line on stderr even when it is not a terminal")
		fs.StringVar(&c.ReportFile, "report", "", "write an SVG (or, for a .html name, HTML) chart of the run to this file")
		fs.StringVar(&c.Label, "label", "", "label copied into the report")
	}
	switch c.Scenario {
	case "chat":
		load(1000, 60*time.Second, 32<<10)
		fs.IntVar(&c.Messages, "messages", 10000, "broadcasts to send")
		fs.IntVar(&c.Size, "size", 64, "message bytes")
		fs.IntVar(&c.Window, "window", 64, "broadcasts outstanding at most")
		fs.Uint64Var(&c.Seed, "seed", 1, "seed choosing the speaking members")
		fs.StringVar(&c.Subprotocol, "subprotocol", "chat", `WebSocket subprotocol to request ("" for none)`)
	case "fanout":
		load(100, 30*time.Second, 32<<10)
		fs.Float64Var(&c.Rate, "rate", 1000, "publishes per second")
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "publishing time")
		fs.IntVar(&c.Size, "size", 64, "payload bytes")
		fs.StringVar(&c.Topic, "topic", "bench/fanout", "topic (STOMP: /topic/<topic with . for />, or a destination starting with /)")
		fs.StringVar(&c.Protocol, "protocol", "", "herald.v1 (default for ws://), stomp or mqtt")
		fs.StringVar(&c.Subprotocol, "subprotocol", "", "WebSocket subprotocol (default herald.v1, v12.stomp or mqtt by --protocol)")
		fs.IntVar(&c.QoS, "qos", 0, "mqtt: QoS of the subscriptions and publications, 0 or 1")
		fanoutWorkers()
	case "sse":
		load(100, 30*time.Second, 32<<10)
		c.URL = "http://127.0.0.1:8080/events"
		fs.Lookup("url").DefValue = c.URL
		fs.Float64Var(&c.Rate, "rate", 1000, "publishes per second")
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "publishing time")
		fs.IntVar(&c.Size, "size", 64, "payload bytes")
		fs.StringVar(&c.Topic, "topic", "bench/fanout", "topic")
		fanoutWorkers()
		fs.StringVar(&c.PublishURL, "publish-url", "", "publisher: ws://HOST/ws (herald.v1, default: the events host) or http://HOST/api/publish")
	case "echo":
		load(100, 30*time.Second, 32<<10)
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "sending time")
		fs.IntVar(&c.Size, "size", 64, "message bytes")
		fs.StringVar(&c.Subprotocol, "subprotocol", "", `WebSocket subprotocol to request ("" for none)`)
	case "rpc":
		load(1000, 30*time.Second, 32<<10)
		fs.Float64Var(&c.Rate, "rate", 0, "requests per second, open loop (0: closed loop)")
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "sending time")
		fs.IntVar(&c.Requests, "requests", 0, "stop after this many requests (0: no limit)")
		fs.StringVar(&c.Method, "method", "echo", "method to call")
		fs.IntVar(&c.Size, "size", 0, "extra params bytes")
	case "idle":
		load(1000, 60*time.Second, 4096)
		fs.StringVar(&c.Metrics, "metrics", "", "server's Prometheus URL (goroutines, heap)")
		fs.DurationVar(&c.Hold, "hold", 3*time.Second, "time connections stay open before RSS is sampled")
		fs.IntVar(&c.Procs, "procs", 1, "worker processes")
		fs.IntVar(&c.Procs, "workers", 1, "the same as --procs")
		fs.BoolVar(&c.Worker, "worker", false, "internal: run as a worker")
		fs.IntVar(&c.FirstID, "first-id", 0, "internal: first connection index")
	case "serve":
		fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	case "table", "peers":
	default:
		fmt.Fprintf(stderr, "herald bench: unknown scenario %q\n\n%s", c.Scenario, usageText)
		return nil, fmt.Errorf("unknown scenario %q", c.Scenario)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	c.rawArgs = args[1:]
	if c.Scenario == "table" || c.Scenario == "peers" {
		c.Files = fs.Args()
		return c, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Scenario == "serve" {
		return c, nil
	}
	if err := c.check(sources); err != nil {
		fmt.Fprintf(stderr, "herald bench %s: %v\n", c.Scenario, err)
		return nil, err
	}
	return c, nil
}

// check validates a load scenario's flags.
func (c *Config) check(sources string) error {
	var t Target
	var err error
	switch c.Scenario {
	case "fanout":
		c.Endpoint, err = resolveEndpoint(c.URL, c.Protocol)
		t, c.Protocol = c.Endpoint.Target, c.Endpoint.Protocol
	case "sse":
		if c.sse, err = parseSSETarget(c.URL); err != nil {
			return err
		}
		t = Target{Addr: c.sse.Addr, Host: c.sse.Host, Path: c.sse.Path}
		if c.PublishURL == "" {
			c.PublishURL = "ws://" + c.sse.Host + "/ws"
		}
		pt, perr := ParseTarget(c.PublishURL)
		if strings.HasPrefix(c.PublishURL, "http://") {
			var st sseTarget
			st, perr = parseSSETarget(c.PublishURL)
			pt.Addr = st.Addr
		}
		if perr != nil {
			return fmt.Errorf("--publish-url: %w", perr)
		}
		if !c.AllowRemote && !isLoopback(pt.Addr) {
			return fmt.Errorf("publisher %s is not a loopback address (use --allow-remote to load other hosts)", pt.Addr)
		}
	default:
		t, err = ParseTarget(c.URL)
	}
	if err != nil {
		return err
	}
	c.Target = t
	if !c.AllowRemote && !isLoopback(t.Addr) {
		return fmt.Errorf("target %s is not a loopback address (use --allow-remote to load other hosts)", t.Addr)
	}
	for s := range strings.SplitSeq(sources, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("bad --source %q: %w", s, err)
		}
		c.Sources = append(c.Sources, a)
	}
	var errs []error
	positive := func(name string, v int) {
		if v < 1 {
			errs = append(errs, fmt.Errorf("--%s must be at least 1", name))
		}
	}
	positive("conns", c.Conns)
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("--timeout must be positive"))
	}
	switch c.Scenario {
	case "chat":
		positive("messages", c.Messages)
		positive("size", c.Size)
		positive("window", c.Window)
	case "fanout", "sse":
		positive("workers", c.Workers)
		if c.Workers > c.Conns {
			errs = append(errs, errors.New("--workers cannot exceed --conns"))
		}
		if c.Rate <= 0 {
			errs = append(errs, errors.New("--rate must be positive"))
		}
		if c.Duration <= 0 {
			errs = append(errs, errors.New("--duration must be positive"))
		}
		if c.Size < 24 {
			errs = append(errs, errors.New("--size must be at least 24 (the payload carries a timestamp)"))
		}
		if c.QoS != 0 && c.QoS != 1 {
			errs = append(errs, errors.New("--qos must be 0 or 1"))
		}
	case "echo":
		if c.Duration <= 0 {
			errs = append(errs, errors.New("--duration must be positive"))
		}
		if c.Size < 21 {
			errs = append(errs, errors.New("--size must be at least 21 (the message carries a timestamp)"))
		}
	case "rpc":
		if c.Rate < 0 || c.Requests < 0 || c.Size < 0 {
			errs = append(errs, errors.New("--rate, --requests and --size cannot be negative"))
		}
		if c.Duration <= 0 && c.Requests == 0 {
			errs = append(errs, errors.New("need a positive --duration or --requests"))
		}
		if c.Method == "" || strings.ContainsAny(c.Method, `"\`) {
			errs = append(errs, errors.New("--method must be a plain name"))
		}
	case "idle":
		positive("procs", c.Procs)
		if c.Procs > c.Conns {
			errs = append(errs, errors.New("--procs cannot exceed --conns"))
		}
	}
	return errors.Join(errs...)
}

// isLoopback reports whether addr (host:port) names a loopback address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
