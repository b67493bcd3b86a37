package metrics

import (
	"bytes"
	"io"
	"math"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// processStart approximates the process start time: package initialisation
// runs within milliseconds of exec, and time.Now is portable and free of
// the clock-tick guesswork needed to decode /proc/self/stat.
var processStart = time.Now()

// RuntimeMetrics registers process and Go runtime gauges on r:
//
//   - go_goroutines: runtime.NumGoroutine.
//   - go_memstats_heap_inuse_bytes: bytes in in-use heap spans (the
//     equivalent of runtime.MemStats.HeapInuse), read through runtime/metrics,
//     which unlike ReadMemStats does not stop the world.
//   - process_start_time_seconds: see processStart above.
//   - process_resident_memory_bytes: from /proc/self/statm (Linux only).
//   - process_open_fds: entries of /proc/self/fd (Linux only).
//
// The Linux metrics are registered only when /proc can be read at
// registration time; a later read failure yields NaN. Calling RuntimeMetrics
// twice on the same registry panics (duplicate names).
func RuntimeMetrics(r *Registry) {
	r.GaugeFunc("go_goroutines", "Number of goroutines that currently exist.",
		func() float64 { return float64(runtime.NumGoroutine()) })

	heap := newHeapInuse()
	r.GaugeFunc("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", heap.read)

	start := float64(processStart.UnixNano()) / 1e9
	r.GaugeFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
		func() float64 { return start })

	if runtime.GOOS == "linux" || runtime.GOOS == "android" {
		if _, err := residentBytes(); err == nil {
			r.GaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes.",
				func() float64 { return orNaN(residentBytes()) })
		}
		if _, err := openFDs(); err == nil {
			r.GaugeFunc("process_open_fds", "Number of open file descriptors.",
				func() float64 { return orNaN(openFDs()) })
		}
	}
}

func orNaN(v float64, err error) float64 {
	if err != nil {
		return math.NaN()
	}
	return v
}

// heapInuse reads HeapInuse through runtime/metrics with reused samples.
type heapInuse struct {
	mu      sync.Mutex
	samples [2]rtmetrics.Sample
}

func newHeapInuse() *heapInuse {
	h := new(heapInuse)
	h.samples[0].Name = "/memory/classes/heap/objects:bytes"
	h.samples[1].Name = "/memory/classes/heap/unused:bytes"
	return h
}

func (h *heapInuse) read() float64 {
	h.mu.Lock() // samples are reused; scrapes may overlap
	defer h.mu.Unlock()
	rtmetrics.Read(h.samples[:])
	var total uint64
	for _, s := range h.samples {
		if s.Value.Kind() != rtmetrics.KindUint64 {
			return math.NaN() // metric unsupported by this runtime
		}
		total += s.Value.Uint64()
	}
	return float64(total)
}

// residentBytes returns the resident set size from /proc/self/statm
// ("size resident shared text lib data dt", in pages).
func residentBytes() (float64, error) {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf [128]byte
	n, err := io.ReadFull(f, buf[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, err
	}
	fields := bytes.Fields(buf[:n])
	if len(fields) < 2 {
		return 0, errStatm
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0, err
	}
	return float64(pages) * float64(os.Getpagesize()), nil
}

var errStatm = &os.PathError{Op: "parse", Path: "/proc/self/statm", Err: os.ErrInvalid}

// openFDs counts the entries of /proc/self/fd, minus the descriptor used to
// read the directory itself.
func openFDs() (float64, error) {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	for {
		names, err := f.Readdirnames(256)
		n += len(names)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return float64(n - 1), nil
}
