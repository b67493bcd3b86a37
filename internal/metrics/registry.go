package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry holds a set of metrics and exposes them in the Prometheus text
// format. The zero value is not usable; create one with [NewRegistry].
// A Registry is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	families []*family         // sorted by name
	series   map[string]string // every exposed sample name -> owning family name
}

// family is one registered metric family.
type family struct {
	name   string
	header string // pre-rendered "# HELP ...\n# TYPE ...\n"
	s      familyWriter
}

// familyWriter appends all samples of a family (no HELP/TYPE lines).
type familyWriter interface {
	appendFamily(b []byte, name string) []byte
}

// sampleWriter appends the samples of one metric (one child of a vector, or
// a plain metric) with the given pre-rendered label pairs.
type sampleWriter interface {
	appendSamples(b []byte, name, labels string) []byte
}

// single adapts a label-less metric to familyWriter.
type single struct{ m sampleWriter }

func (s single) appendFamily(b []byte, name string) []byte { return s.m.appendSamples(b, name, "") }

// metric types as spelled in # TYPE lines.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{series: make(map[string]string)}
}

// Counter registers and returns a new counter.
// It panics if name is invalid or already in use.
func (r *Registry) Counter(name, help string) *Counter {
	c := new(Counter)
	r.register(name, help, typeCounter, single{c})
	return c
}

// Gauge registers and returns a new gauge.
// It panics if name is invalid or already in use.
func (r *Registry) Gauge(name, help string) *Gauge {
	g := new(Gauge)
	r.register(name, help, typeGauge, single{g})
	return g
}

// GaugeFunc registers a gauge whose value is obtained by calling fn at every
// scrape. fn must be safe for concurrent use and should be fast.
// It panics if name is invalid or already in use, or if fn is nil.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	if fn == nil {
		panic(fmt.Sprintf("metrics: nil func for %q", name))
	}
	r.register(name, help, typeGauge, single{funcMetric(fn)})
}

// CounterFunc registers a counter whose value is obtained by calling fn at
// every scrape. fn must return a monotonically non-decreasing value, be safe
// for concurrent use and be fast.
// It panics if name is invalid or already in use, or if fn is nil.
func (r *Registry) CounterFunc(name, help string, fn func() float64) {
	if fn == nil {
		panic(fmt.Sprintf("metrics: nil func for %q", name))
	}
	r.register(name, help, typeCounter, single{funcMetric(fn)})
}

// Histogram registers and returns a new histogram with the given bucket
// upper bounds (see [Histogram] for the rules; nil means [DefBuckets]).
// It panics if name is invalid or in use, or the buckets are invalid.
func (r *Registry) Histogram(name, help string, buckets []float64) *Histogram {
	h := new(Histogram)
	h.init(newHistMeta(name, buckets))
	r.register(name, help, typeHistogram, single{h})
	return h
}

// CounterVec registers and returns a counter partitioned by the given label
// names. It panics if name or a label name is invalid, or name is in use.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	v := &CounterVec{v: newVec[Counter](name, labels, nil)}
	r.register(name, help, typeCounter, v.v)
	return v
}

// GaugeVec registers and returns a gauge partitioned by the given label
// names. It panics if name or a label name is invalid, or name is in use.
func (r *Registry) GaugeVec(name, help string, labels ...string) *GaugeVec {
	v := &GaugeVec{v: newVec[Gauge](name, labels, nil)}
	r.register(name, help, typeGauge, v.v)
	return v
}

// HistogramVec registers and returns a histogram partitioned by the given
// label names; every child uses the same buckets (nil means [DefBuckets]).
// It panics if name or a label name is invalid, a label is named "le",
// name is in use, or the buckets are invalid.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	for _, l := range labels {
		if l == "le" {
			panic(fmt.Sprintf("metrics: histogram %q: label name \"le\" is reserved", name))
		}
	}
	meta := newHistMeta(name, buckets)
	v := &HistogramVec{v: newVec[Histogram](name, labels, func(h *Histogram) { h.init(meta) })}
	r.register(name, help, typeHistogram, v.v)
	return v
}

// register validates name and adds the family. Label names are validated by
// newVec before we get here.
func (r *Registry) register(name, help, typ string, s familyWriter) {
	if !validMetricName(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	claims := []string{name}
	if typ == typeHistogram {
		claims = append(claims, name+"_bucket", name+"_sum", name+"_count")
	}
	f := &family{name: name, header: renderHeader(name, help, typ), s: s}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range claims {
		if owner, ok := r.series[c]; ok {
			if owner == name {
				panic(fmt.Sprintf("metrics: duplicate metric name %q", name))
			}
			panic(fmt.Sprintf("metrics: series %q of metric %q collides with metric %q", c, name, owner))
		}
	}
	for _, c := range claims {
		r.series[c] = name
	}
	i, _ := slices.BinarySearchFunc(r.families, name, func(f *family, n string) int {
		return strings.Compare(f.name, n)
	})
	r.families = slices.Insert(r.families, i, f)
}

// snapshot returns the registered families, sorted by name.
func (r *Registry) snapshot() []*family {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.families)
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*.
// The reserved "__" prefix is checked separately.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkLabelNames panics on invalid, reserved or repeated label names.
func checkLabelNames(metric string, labels []string) {
	for i, l := range labels {
		if !validLabelName(l) {
			panic(fmt.Sprintf("metrics: metric %q: invalid label name %q", metric, l))
		}
		if strings.HasPrefix(l, "__") {
			panic(fmt.Sprintf("metrics: metric %q: label name %q uses the reserved prefix \"__\"", metric, l))
		}
		if slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("metrics: metric %q: duplicate label name %q", metric, l))
		}
	}
}
