package metrics

import (
	"fmt"
	"slices"
)

// GaugeVecFunc registers a gauge family with one label whose samples are
// obtained by calling fn at every scrape: one sample per key of the map
// it returns, in key order. It suits sets that come and go (a cluster's
// peers), where keeping vector children up to date would need deletes.
// fn must be safe for concurrent use and fast.
// It panics if name or label is invalid or name is in use, or fn is nil.
func (r *Registry) GaugeVecFunc(name, help, label string, fn func() map[string]float64) {
	r.registerFuncVec(name, help, typeGauge, label, fn)
}

// CounterVecFunc is GaugeVecFunc for counters: each key's value must not
// decrease while the key is present.
func (r *Registry) CounterVecFunc(name, help, label string, fn func() map[string]float64) {
	r.registerFuncVec(name, help, typeCounter, label, fn)
}

func (r *Registry) registerFuncVec(name, help, typ, label string, fn func() map[string]float64) {
	if fn == nil {
		panic(fmt.Sprintf("metrics: nil func for %q", name))
	}
	if !validLabelName(label) {
		panic(fmt.Sprintf("metrics: invalid label name %q for %q", label, name))
	}
	r.register(name, help, typ, funcVec{label: label, fn: fn})
}

// funcVec is a labelled family collected at scrape time.
type funcVec struct {
	label string
	fn    func() map[string]float64
}

func (v funcVec) appendFamily(b []byte, name string) []byte {
	vals := v.fn()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendSample(b, name, "", string(appendLabel(nil, v.label, k)), "", vals[k])
	}
	return b
}
