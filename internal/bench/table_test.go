package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	t.Parallel()
	lines := `{"meta":"run header, not a report"}
{"scenario":"chat","label":"unpinned","conns":1000,"opened":1000,"received":10000000,"expected":10000000,"elapsed_ms":6000,"rate":1666667,"settings":{"messages":10000,"size":64,"window":64},"cpu":{"client_cores":0.6,"server_cores":1.2},"env":{"loadavg_start":1,"loadavg_end":2}}
{"scenario":"rpc","conns":1000,"opened":1000,"received":100,"elapsed_ms":10,"rate":10000,"settings":{"mode":"open","rate":10000,"duration":"10s"},"latency_us":{"p50":400,"p99":2900,"p999":15000,"max":19000},"cpu":{"client_cores":0.5},"error":"a|b"}
{"scenario":"idle","conns":19000,"opened":19000,"settings":{"procs":2,"hold":"3s"},"idle":{"rss_before":10485760,"rss_after":41943040,"bytes_per_conn":1735,"goroutines":12}}
not json
`
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	if code := runTable([]string{path}, nil, &out, &errw); code != 0 {
		t.Fatalf("code %d: %s", code, errw.String())
	}
	got := out.String()
	for _, want := range []string{
		"| unpinned | chat: 10000 broadcasts of 64 B, window 64 | 1000/1000 | **1,666,667 deliveries/s** (10000000 in 6.0 s) | - | 0.60 / 1.20 | 0 | 1.00 → 2.00 |",
		"| rpc open loop 10000/s, 10s |", "0.40 / 2.90 / 15.00 / 19.00 ms", "0 (a/b)",
		"**1735 B/conn** (RSS 10.0 → 40.0 MiB, 12 goroutines)", "idle, 2 procs, hold 3s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 5 {
		t.Errorf("%d lines, want header, rule and 3 rows:\n%s", n, got)
	}
	if code := runTable(nil, strings.NewReader(lines), &out, &errw); code != 0 {
		t.Fatal("stdin")
	}
	if code := runTable([]string{filepath.Join(t.TempDir(), "missing")}, nil, &out, &errw); code != 1 {
		t.Fatal("missing file accepted")
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}
