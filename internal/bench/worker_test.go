package bench

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestCommandPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		osArgs, args, want []string
	}{
		{[]string{"hbench", "idle", "--conns", "5"}, []string{"idle", "--conns", "5"}, []string{}},
		{[]string{"herald", "bench", "idle"}, []string{"idle"}, []string{"bench"}},
		{[]string{"bench.test", "-test.v"}, []string{"idle"}, nil},
		{nil, []string{"idle"}, nil},
		{[]string{"x"}, []string{"idle", "--a"}, nil},
	}
	for _, tt := range tests {
		if got := commandPrefix(tt.osArgs, tt.args); !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("commandPrefix(%q, %q) = %q, want %q", tt.osArgs, tt.args, got, tt.want)
		}
	}
}

func TestSplitShares(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ n, p int }{{19000, 2}, {10, 3}, {5, 5}, {7, 1}} {
		s := splitShares(tt.n, tt.p)
		sum := 0
		for _, v := range s {
			sum += v
			if v < tt.n/tt.p || v > tt.n/tt.p+1 {
				t.Errorf("%d over %d: uneven share %d", tt.n, tt.p, v)
			}
		}
		if len(s) != tt.p || sum != tt.n {
			t.Errorf("%d over %d: %v", tt.n, tt.p, s)
		}
	}
}

func TestWorkerArgsRoundTrip(t *testing.T) {
	t.Parallel()
	parent := &Config{Scenario: "idle", URL: "ws://127.0.0.1:9/ws", Conns: 100, Procs: 2, Timeout: time.Minute,
		DialConcurrency: 32, ReadBuffer: 2048}
	args := workerArgs(parent, 1, 50, 50)
	c, err := ParseArgs(args, nil)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	if !c.Worker || c.Conns != 50 || c.FirstID != 50 || c.Procs != 1 || len(c.Sources) != 1 ||
		c.Sources[0] != netip.MustParseAddr("127.0.0.3") || c.ReadBuffer != 2048 || c.DialConcurrency != 32 ||
		!c.JSON || !c.Quiet || c.Timeout != time.Minute {
		t.Fatalf("worker config %+v", c)
	}
	parent.Sources = []netip.Addr{netip.MustParseAddr("127.0.0.9")}
	if got := workerSource(parent, 3); got != parent.Sources[0] {
		t.Fatalf("explicit source: %v", got)
	}
}
