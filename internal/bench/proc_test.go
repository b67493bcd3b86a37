package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	t.Parallel()
	got, err := parseVmRSS([]byte("Name:\therald\nVmPeak:\t  10 kB\nVmRSS:\t    8812 kB\nThreads: 5\n"))
	if err != nil || got != 8812*1024 {
		t.Fatalf("got %d, %v", got, err)
	}
	for _, bad := range []string{"Name: x\n", "VmRSS: 12 MB\n", "VmRSS: x kB\n"} {
		if _, err := parseVmRSS([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	stat := "1234 (herald (bench) x) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 3*time.Second {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseStatCPU([]byte("1 (x) S 1 2")); err == nil {
		t.Error("short stat accepted")
	}
}

func TestOwnProcess(t *testing.T) {
	t.Parallel()
	rss, err := readRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Fatalf("own RSS %d, %v", rss, err)
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m := startCPU(os.Getpid())
	if c := m.stop(); c.Client < 0 || c.Server < 0 {
		t.Fatalf("negative CPU %+v", c)
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 12\n" +
		"go_goroutines_other 3\nherald_connections 19000\nrequests{protocol=\"x\"} 5\n"
	got, err := parseMetrics(strings.NewReader(text), "go_goroutines", "herald_connections", "missing")
	if err != nil || len(got) != 2 || got["go_goroutines"] != 12 || got["herald_connections"] != 19000 {
		t.Fatalf("got %v, %v", got, err)
	}
}
