package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// CounterVec is a [Counter] partitioned by labels.
type CounterVec struct{ v *vec[Counter, *Counter] }

// With returns the counter for the given label values, in the order of the
// label names, creating it on first use. It panics if the number of values
// is wrong. See the package documentation for cost and cardinality.
func (v *CounterVec) With(values ...string) *Counter { return v.v.with(values) }

// Delete removes the child for the given label values from the exposition
// and reports whether it existed.
func (v *CounterVec) Delete(values ...string) bool { return v.v.delete(values) }

// GaugeVec is a [Gauge] partitioned by labels.
type GaugeVec struct{ v *vec[Gauge, *Gauge] }

// With returns the gauge for the given label values, in the order of the
// label names, creating it on first use. It panics if the number of values
// is wrong. See the package documentation for cost and cardinality.
func (v *GaugeVec) With(values ...string) *Gauge { return v.v.with(values) }

// Delete removes the child for the given label values from the exposition
// and reports whether it existed.
func (v *GaugeVec) Delete(values ...string) bool { return v.v.delete(values) }

// HistogramVec is a [Histogram] partitioned by labels.
type HistogramVec struct{ v *vec[Histogram, *Histogram] }

// With returns the histogram for the given label values, in the order of the
// label names, creating it on first use. It panics if the number of values
// is wrong. See the package documentation for cost and cardinality.
func (v *HistogramVec) With(values ...string) *Histogram { return v.v.with(values) }

// Delete removes the child for the given label values from the exposition
// and reports whether it existed.
func (v *HistogramVec) Delete(values ...string) bool { return v.v.delete(values) }

// keySep separates label values in map keys. 0xff never occurs in valid
// UTF-8, and stored values are always valid UTF-8, so keys are unambiguous.
const keySep = '\xff'

// stackKey is the largest multi-label key built without allocating.
const stackKey = 256

// vec is the shared implementation of the vector types.
type vec[T any, P interface {
	*T
	sampleWriter
}] struct {
	name       string
	labelNames []string
	init       func(*T) // optional child initialiser

	mu       sync.RWMutex
	children map[string]*child[T] // key: values joined by keySep
}

type child[T any] struct {
	m      T
	values []string // valid UTF-8, owned
	labels string   // rendered label pairs
}

func newVec[T any, P interface {
	*T
	sampleWriter
}](name string, labels []string, init func(*T)) *vec[T, P] {
	checkLabelNames(name, labels)
	return &vec[T, P]{
		name:       name,
		labelNames: slices.Clone(labels),
		init:       init,
		children:   make(map[string]*child[T]),
	}
}

func (v *vec[T, P]) with(values []string) *T {
	if len(values) != len(v.labelNames) {
		v.arityPanic(len(values))
	}
	var c *child[T]
	if len(values) == 1 {
		v.mu.RLock()
		c = v.children[values[0]]
		v.mu.RUnlock()
	} else {
		var buf [stackKey]byte
		key := appendKey(buf[:0], values)
		v.mu.RLock()
		c = v.children[string(key)] // no allocation for map lookups
		v.mu.RUnlock()
	}
	if c != nil {
		return &c.m
	}
	return v.create(values)
}

// create is the slow path of with: canonicalise the values and insert.
func (v *vec[T, P]) create(values []string) *T {
	vals := canonical(values)
	key := string(appendKey(nil, vals))
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.children[key]; c != nil { // lost a race, or values were not valid UTF-8
		return &c.m
	}
	c := &child[T]{values: vals, labels: renderLabels(v.labelNames, vals)}
	if v.init != nil {
		v.init(&c.m)
	}
	v.children[key] = c
	return &c.m
}

func (v *vec[T, P]) delete(values []string) bool {
	if len(values) != len(v.labelNames) {
		v.arityPanic(len(values))
	}
	key := string(appendKey(nil, canonical(values)))
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.children[key]
	delete(v.children, key)
	return ok
}

func (v *vec[T, P]) arityPanic(got int) {
	panic(fmt.Sprintf("metrics: %q: got %d label values, want %d", v.name, got, len(v.labelNames)))
}

// appendFamily writes all children, sorted by label values.
func (v *vec[T, P]) appendFamily(b []byte, name string) []byte {
	v.mu.RLock()
	cs := make([]*child[T], 0, len(v.children))
	for _, c := range v.children {
		cs = append(cs, c)
	}
	v.mu.RUnlock()
	slices.SortFunc(cs, func(a, b *child[T]) int { return slices.Compare(a.values, b.values) })
	for _, c := range cs {
		b = P(&c.m).appendSamples(b, name, c.labels)
	}
	return b
}

// canonical returns owned, valid UTF-8 copies of values.
func canonical(values []string) []string {
	out := make([]string, len(values))
	for i, s := range values {
		out[i] = strings.Clone(strings.ToValidUTF8(s, "\uFFFD"))
	}
	return out
}

// appendKey joins values with keySep. A single value is its own key.
func appendKey(b []byte, values []string) []byte {
	for i, s := range values {
		if i > 0 {
			b = append(b, keySep)
		}
		b = append(b, s...)
	}
	return b
}
