package bench

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseArgsDefaults(t *testing.T) {
	t.Parallel()
	c, err := ParseArgs([]string{"chat"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Reference 001's test is the default.
	if c.Conns != 1000 || c.Messages != 10000 || c.Size != 64 || c.Window != 64 || c.URL != "ws://127.0.0.1:8080/ws" ||
		c.Target.Addr != "127.0.0.1:8080" || c.ReadBuffer != 32<<10 || c.Timeout != time.Minute {
		t.Fatalf("chat defaults %+v", c)
	}
	c, _ = ParseArgs([]string{"rpc"}, io.Discard)
	if c.Method != "echo" || c.Rate != 0 || c.Duration != 10*time.Second || c.Conns != 1000 {
		t.Fatalf("rpc defaults %+v", c)
	}
	c, _ = ParseArgs([]string{"idle"}, io.Discard)
	if c.ReadBuffer != 4096 || c.Procs != 1 || c.Hold != 3*time.Second {
		t.Fatalf("idle defaults %+v", c)
	}
	c, _ = ParseArgs([]string{"fanout"}, io.Discard)
	if c.Topic != "bench/fanout" || c.Rate != 1000 || c.Size != 64 {
		t.Fatalf("fanout defaults %+v", c)
	}
	c, _ = ParseArgs([]string{"serve"}, io.Discard)
	if c.Listen != "127.0.0.1:8080" {
		t.Fatalf("serve defaults %+v", c)
	}
}

func TestParseArgsFlags(t *testing.T) {
	t.Parallel()
	c, err := ParseArgs(strings.Fields("idle --url ws://localhost:9/x --conns 19000 --procs 2 --source 127.0.0.2,127.0.0.3 "+
		"--pid 42 --metrics http://127.0.0.1:9/metrics --hold 5s -json -quiet --label pinned --timeout 2m"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
	if c.Conns != 19000 || c.Procs != 2 || len(c.Sources) != 2 || c.Sources[0] != want[0] || c.Sources[1] != want[1] ||
		c.PID != 42 || c.Hold != 5*time.Second || !c.JSON || !c.Quiet || c.Label != "pinned" || c.Timeout != 2*time.Minute ||
		c.Target.Path != "/x" {
		t.Fatalf("%+v", c)
	}
	if c, err := ParseArgs(strings.Fields("idle --workers 3"), io.Discard); err != nil || c.Procs != 3 {
		t.Fatalf("idle --workers: %+v %v", c, err)
	}
	c, err = ParseArgs([]string{"table", "a.jsonl", "b.jsonl"}, io.Discard)
	if err != nil || len(c.Files) != 2 {
		t.Fatalf("table: %+v %v", c, err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                  "",
		"bogus":                             "unknown scenario",
		"chat --conns 0":                    "--conns must be at least 1",
		"chat --window 0":                   "--window",
		"chat --messages -1":                "--messages",
		"chat --url wss://127.0.0.1/ws":     "only ws://",
		"chat --url ws://10.0.0.1/ws":       "not a loopback address",
		"chat --source 127.0.0.x":           "bad --source",
		"chat --nope":                       "flag provided but not defined",
		"chat extra":                        "unexpected argument",
		"fanout --rate 0":                   "--rate must be positive",
		"fanout --size 8":                   "--size must be at least 24",
		"rpc --duration 0":                  "positive --duration or --requests",
		"rpc --rate -1":                     "cannot be negative",
		`rpc --method a"b`:                  "plain name",
		"idle --procs 3 --conns 2":          "cannot exceed",
		"chat --timeout 0":                  "--timeout must be positive",
		"serve --conns 1":                   "flag provided but not defined",
		"fanout --duration 0 --messages 10": "flag provided but not defined",
	}
	for args, want := range tests {
		var stderr strings.Builder
		_, err := ParseArgs(strings.Fields(args), &stderr)
		if err == nil {
			t.Errorf("%q: accepted", args)
			continue
		}
		if !strings.Contains(err.Error(), want) && !strings.Contains(stderr.String(), want) {
			t.Errorf("%q: error %q, stderr %q; want %q", args, err, stderr.String(), want)
		}
	}
	if _, err := ParseArgs([]string{"chat", "--url", "ws://10.0.0.1/ws", "--allow-remote"}, io.Discard); err != nil {
		t.Errorf("--allow-remote refused: %v", err)
	}
	if _, err := ParseArgs([]string{"help"}, io.Discard); !errors.Is(err, errHelp) {
		t.Errorf("help: %v", err)
	}
}
