package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyHist is a fixed-size log-linear histogram of durations, safe for
// concurrent use: a million samples cost no more memory than ten, so the
// bench's own footprint does not grow with the backlog. Values are kept in
// microseconds with 32 sub-buckets per power of two (relative error ≤ 3%).
type latencyHist struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64 // exact, microseconds
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// histIndex maps v ≥ 0 to its bucket: values below histSub are exact, above
// that each power of two is split into histSub equal buckets.
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - 1 // ≥ histSubBits
	shift := exp - histSubBits
	return (shift+1)*histSub + int((v>>shift)&(histSub-1))
}

// histUpper is the largest value that falls in bucket i.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	low := (int64(histSub) + int64(i%histSub)) << shift
	return low + (int64(1) << shift) - 1
}

func (h *latencyHist) record(d time.Duration) {
	v := d.Microseconds()
	if v < 0 {
		v = 0 // the relay saw the row before the ERP's commit returned
	}
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the smallest bucket bound with at least q of the samples
// at or below it (capped by the exact maximum).
func (h *latencyHist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	want := int64(q*float64(n) + 0.5)
	want = max(want, 1)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= want {
			return time.Duration(min(histUpper(i), h.max.Load())) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}

// latencySummary is what the report prints of a histogram.
type latencySummary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *latencyHist) summary() latencySummary {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return latencySummary{
		Count: h.n.Load(),
		P50:   ms(h.quantile(0.50)),
		P90:   ms(h.quantile(0.90)),
		P99:   ms(h.quantile(0.99)),
		Max:   ms(time.Duration(h.max.Load()) * time.Microsecond),
	}
}
