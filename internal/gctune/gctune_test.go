package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

// restore puts the collector back as the test found it.
func restore(t *testing.T) {
	pct := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	})
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestApply(t *testing.T) {
	restore(t)
	cases := []struct {
		name string
		s    Settings
		env  map[string]string
		pre  int // the runtime's GOGC before, as if read from GOGC
		want Effective
	}{
		{"default", Settings{}, nil, 100, Effective{Percent: DefaultPercent, MemoryLimit: math.MaxInt64, Source: "default"}},
		{"empty GOGC is unset", Settings{}, map[string]string{"GOGC": ""}, 100, Effective{Percent: DefaultPercent, MemoryLimit: math.MaxInt64, Source: "default"}},
		{"GOGC kept", Settings{}, map[string]string{"GOGC": "80"}, 80, Effective{Percent: 80, MemoryLimit: math.MaxInt64, Source: "GOGC"}},
		{"config beats GOGC", Settings{Percent: 200, MemoryLimit: 1 << 30}, map[string]string{"GOGC": "80"}, 80, Effective{Percent: 200, MemoryLimit: 1 << 30, Source: "config"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			debug.SetGCPercent(c.pre)
			debug.SetMemoryLimit(math.MaxInt64)
			got := Apply(c.s, env(c.env))
			if got != c.want {
				t.Errorf("Apply = %+v, want %+v", got, c.want)
			}
			if pct := debug.SetGCPercent(100); pct != c.want.Percent {
				t.Errorf("runtime GOGC %d, want %d", pct, c.want.Percent)
			}
			if limit := debug.SetMemoryLimit(-1); limit != c.want.MemoryLimit {
				t.Errorf("runtime memory limit %d, want %d", limit, c.want.MemoryLimit)
			}
		})
	}
	if s := (Effective{Percent: 50, MemoryLimit: math.MaxInt64, Source: "default"}).String(); s != "GOGC 50 (default), memory limit none" {
		t.Errorf("String = %q", s)
	}
}
