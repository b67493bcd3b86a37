package metrics

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRuntimeMetrics(t *testing.T) {
	r := NewRegistry()
	RuntimeMetrics(r)
	e, err := parseExposition(render(t, r))
	if err != nil {
		t.Fatal(err)
	}
	linux := runtime.GOOS == "linux"
	for _, tc := range []struct {
		name    string
		present bool
		ok      func(float64) bool
	}{
		{"go_goroutines", true, func(v float64) bool { return v >= 1 }},
		{"go_memstats_heap_inuse_bytes", true, func(v float64) bool { return v > 0 && v < 1<<40 }},
		{"process_start_time_seconds", true, func(v float64) bool {
			return v <= float64(time.Now().Unix())+1 && v > float64(time.Now().Add(-time.Hour).Unix())
		}},
		{"process_resident_memory_bytes", linux, func(v float64) bool { return v > 1<<20 && v < 1<<40 }},
		{"process_open_fds", linux, func(v float64) bool { return v >= 3 }},
	} {
		v, ok := e.value(tc.name)
		if ok != tc.present {
			t.Errorf("%s present=%v, want %v", tc.name, ok, tc.present)
			continue
		}
		if ok && !tc.ok(v) {
			t.Errorf("%s = %v: implausible", tc.name, v)
		}
		if ok && e.types[tc.name] != "gauge" {
			t.Errorf("%s has type %q", tc.name, e.types[tc.name])
		}
	}
	mustPanic(t, "duplicate metric name", func() { RuntimeMetrics(r) })
}

func TestHeapInuseMatchesMemStats(t *testing.T) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	got := newHeapInuse().read()
	// Not read atomically together, so allow for some drift.
	if want := float64(ms.HeapInuse); math.Abs(got-want) > want/2 {
		t.Errorf("heap inuse %v, MemStats.HeapInuse %v", got, want)
	}
}

func TestOpenFDs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	before, err := openFDs()
	if err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for range 3 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	after, _ := openFDs()
	for _, f := range files {
		f.Close()
	}
	if after-before != 3 {
		t.Errorf("open fds went from %v to %v after opening 3 files", before, after)
	}
}

func TestResidentBytes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	rss, err := residentBytes()
	if err != nil {
		t.Fatal(err)
	}
	// VmRSS in /proc/self/status is in kB and read at a slightly
	// different moment; it must be in the same ballpark.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	var kb float64
	for _, line := range strings.Split(string(status), "\n") {
		if n, _ := fmt.Sscanf(line, "VmRSS: %g kB", &kb); n == 1 {
			break
		}
	}
	if kb == 0 || math.Abs(rss-kb*1024) > kb*1024/4 {
		t.Errorf("statm RSS %v bytes, status VmRSS %v kB", rss, kb)
	}
}
