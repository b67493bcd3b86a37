package bench

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactPercentile is the nearest-rank percentile of a sorted sample.
func exactPercentile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q / 100 * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 60e9, histMaxValue} {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d, below the previous %d", v, i, prev)
		}
		prev = i
		lower, width := bucketRange(i)
		if v < lower || v >= lower+width {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, lower, lower+width)
		}
		if v >= 256 && float64(width)/float64(lower) > 1.0/128 {
			t.Errorf("bucket %d is %d wide at %d: more than 1/128", i, width, lower)
		}
	}
	if got := bucketOf(histMaxValue); got != histBuckets-1 {
		t.Errorf("largest value in bucket %d, want %d", got, histBuckets-1)
	}
	if got := bucketOf(math.MaxInt64); got != histBuckets-1 {
		t.Errorf("overflow value in bucket %d, want clamped to %d", got, histBuckets-1)
	}
}

func TestHistogramPercentilesMatchExact(t *testing.T) {
	t.Parallel()
	quantiles := []float64{0, 1, 25, 50, 90, 99, 99.9, 99.99, 100}
	samples := map[string]func(r *rand.Rand) int64{
		"uniform 1us-60s": func(r *rand.Rand) int64 { return 1000 + r.Int64N(60e9) },
		"log-uniform":     func(r *rand.Rand) int64 { return int64(math.Exp(r.Float64()*math.Log(60e9/1e3)) * 1e3) },
		"exponential":     func(r *rand.Rand) int64 { return int64(r.ExpFloat64()*50e3) + 1000 },
		"small exact":     func(r *rand.Rand) int64 { return r.Int64N(256) },
	}
	for name, gen := range samples {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			h := NewHistogram()
			vals := make([]int64, 100_000)
			for i := range vals {
				vals[i] = gen(r)
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range quantiles {
				want, got := exactPercentile(vals, q), h.Percentile(q)
				if want == 0 {
					if got != 0 {
						t.Errorf("p%v = %d, want 0", q, got)
					}
					continue
				}
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
					t.Errorf("p%v = %d, exact %d: relative error %.4f > 1%%", q, got, want, rel)
				}
			}
			if h.Min() != vals[0] || h.Max() != vals[len(vals)-1] || h.Count() != uint64(len(vals)) {
				t.Errorf("min/max/count = %d/%d/%d, want %d/%d/%d", h.Min(), h.Max(), h.Count(), vals[0], vals[len(vals)-1], len(vals))
			}
		})
	}
}

func TestHistogramMergeEqualsCombined(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 10_000 {
		v := r.Int64N(1e9)
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	a.Merge(nil)
	a.Merge(NewHistogram())
	if a.counts != all.counts || a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() {
		t.Fatal("merged histogram differs from the one that saw every value")
	}
	for _, q := range []float64{50, 99, 99.9} {
		if a.Percentile(q) != all.Percentile(q) {
			t.Errorf("p%v: merged %d, combined %d", q, a.Percentile(q), all.Percentile(q))
		}
	}
}

func TestHistogramJSONRoundTrip(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	for _, v := range []int64{5, 5, 300, 70_000, 2e9} {
		h.Record(v)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	got := NewHistogram()
	if err := json.Unmarshal(b, got); err != nil {
		t.Fatal(err)
	}
	if got.counts != h.counts || got.total != h.total || got.min != h.min || got.max != h.max || got.sum != h.sum {
		t.Fatalf("round trip changed the histogram: %s", b)
	}
	empty, _ := json.Marshal(NewHistogram())
	e := NewHistogram()
	if err := json.Unmarshal(empty, e); err != nil || e.Count() != 0 || e.Min() != 0 {
		t.Fatalf("empty round trip: %v %+v", err, e.Summary())
	}
	for _, bad := range []string{`{"count":1,"buckets":[[99999,1]]}`, `{"count":2,"buckets":[[1,1]]}`, `[`} {
		if err := json.Unmarshal([]byte(bad), NewHistogram()); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestHistogramEmptyAndClamp(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	if h.Percentile(50) != 0 || h.Summary() != nil || h.Mean() != 0 {
		t.Fatal("empty histogram reports values")
	}
	h.Record(-5)
	h.Record(100e9)
	if h.Min() != 0 || h.Max() != 100e9 || h.Percentile(100) != 100e9 {
		t.Fatalf("min %d max %d p100 %d", h.Min(), h.Max(), h.Percentile(100))
	}
	if s := h.Summary(); s.Count != 2 || s.Max != 100e6 {
		t.Fatalf("summary %+v", s)
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	h := NewHistogram()
	v := int64(1)
	if n := testing.AllocsPerRun(1000, func() { h.Record(v); v = v*3 + 7 }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}
