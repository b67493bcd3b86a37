package metrics

import (
	"math"
	"sync/atomic"
)

// Gauge is a value that can go up and down, exposed with TYPE gauge.
// Create one with [Registry.Gauge] or [GaugeVec.With]. All methods are
// lock-free, allocation-free and safe for concurrent use.
type Gauge struct {
	bits atomic.Uint64 // float64 bit pattern
}

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Inc adds 1.
func (g *Gauge) Inc() { addFloat(&g.bits, 1) }

// Dec subtracts 1.
func (g *Gauge) Dec() { addFloat(&g.bits, -1) }

// Add adds v, which may be negative.
func (g *Gauge) Add(v float64) { addFloat(&g.bits, v) }

// Value returns the current value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *Gauge) appendSamples(b []byte, name, labels string) []byte {
	return appendSample(b, name, "", labels, "", g.Value())
}
