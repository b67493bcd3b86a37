package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
)

// Histogram is a log-linear latency histogram in the style of HdrHistogram:
// values (nanoseconds) below 256 are counted exactly; above that, every
// power-of-two range is split into 128 equal sub-buckets, so a bucket is at
// most 1/128 of its lower bound wide and a reported percentile (the bucket's
// midpoint, clamped to the observed min and max) is within 0.4% of the
// exact one. Values from 0 to 2^36 ns (68.7 s) are covered; larger values
// are clamped into the last bucket (the exact maximum is kept separately).
//
// Memory is fixed (30 KiB), Record never allocates, and histograms merge by
// adding counts. A Histogram is not safe for concurrent use: give each
// goroutine its own and Merge them afterwards.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64
}

const (
	histSubBits  = 7
	histSub      = 1 << histSubBits // linear sub-buckets per power of two
	histMaxBits  = 36               // values below 2^36 ns are resolved
	histBuckets  = (histMaxBits - histSubBits + 1) * histSub
	histMaxValue = 1<<histMaxBits - 1
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: math.MaxInt64} }

// bucketOf maps a value to its bucket index: index = e*128 + (v >> e),
// where e is chosen so that v>>e lies in [128, 256).
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1
	if e < 0 {
		e = 0
	}
	return e*histSub + int(v>>e)
}

// bucketRange returns the smallest value of bucket i and the bucket's width.
func bucketRange(i int) (lower, width int64) {
	e := i>>histSubBits - 1
	if e < 0 {
		e = 0
	}
	m := int64(i - e*histSub)
	return m << e, 1 << e
}

// Record adds one value (nanoseconds).
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min is the smallest recorded value (0 when empty).
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	return h.min
}

// Max is the largest recorded value (0 when empty).
func (h *Histogram) Max() int64 { return h.max }

// Mean is the arithmetic mean of the recorded values (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Percentile returns the value at percentile q (0-100) by the nearest-rank
// definition: the smallest recorded value with at least q% of the values
// at or below it. It returns 0 for an empty histogram.
func (h *Histogram) Percentile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	if q >= 100 {
		return h.max
	}
	rank := uint64(math.Ceil(q / 100 * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lower, width := bucketRange(i)
			v := lower + (width-1)/2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{min: math.MaxInt64} }

// histJSON is the wire form: only non-empty buckets, as [index, count].
type histJSON struct {
	Count   uint64      `json:"count"`
	Min     int64       `json:"min"`
	Max     int64       `json:"max"`
	Sum     float64     `json:"sum"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON encodes the histogram sparsely, so worker processes can send
// theirs to the parent for merging.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{Count: h.total, Min: h.Min(), Max: h.max, Sum: h.sum, Buckets: [][2]uint64{}}
	for i, c := range h.counts {
		if c > 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON produced.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	h.Reset()
	var n uint64
	for _, bc := range j.Buckets {
		if bc[0] >= histBuckets {
			return fmt.Errorf("histogram bucket %d out of range", bc[0])
		}
		h.counts[bc[0]] += bc[1]
		n += bc[1]
	}
	if n != j.Count {
		return fmt.Errorf("histogram buckets hold %d values, count says %d", n, j.Count)
	}
	h.total, h.sum, h.max = j.Count, j.Sum, j.Max
	if n > 0 {
		h.min = j.Min
	}
	return nil
}

// Latency is the summary printed in reports, in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Summary returns h's percentiles in microseconds, or nil when empty.
func (h *Histogram) Summary() *Latency {
	if h == nil || h.total == 0 {
		return nil
	}
	us := func(ns int64) float64 { return math.Round(float64(ns)/10) / 100 }
	return &Latency{
		Count: h.total,
		Min:   us(h.Min()),
		Mean:  math.Round(h.Mean()/10) / 100,
		P50:   us(h.Percentile(50)),
		P90:   us(h.Percentile(90)),
		P99:   us(h.Percentile(99)),
		P999:  us(h.Percentile(99.9)),
		Max:   us(h.max),
	}
}
