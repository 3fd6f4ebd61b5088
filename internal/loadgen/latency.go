package loadgen

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a set of durations in milliseconds. Percentiles are
// exact: computed from every recorded sample, by the nearest-rank method
// (the smallest sample with at least p% of the samples at or below it).
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize sorts samples in place and summarises them; no samples give
// the zero Latency.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	return Latency{
		Count: len(samples),
		P50:   ms(Percentile(samples, 50)),
		P95:   ms(Percentile(samples, 95)),
		P99:   ms(Percentile(samples, 99)),
		Max:   ms(samples[len(samples)-1]),
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted,
// which must be sorted ascending and not empty: the sample at rank
// ceil(p/100 × n). p <= 0 gives the smallest sample.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	rank := int(math.Ceil(p / 100 * float64(n)))
	// p/100*n is computed in floating point: 0.95*100 is 95.00000000000001,
	// whose ceiling would skip a rank. Snap values within rounding of a
	// whole number to it.
	if exact := math.Round(p / 100 * float64(n)); math.Abs(exact-p/100*float64(n)) < 1e-9 {
		rank = int(exact)
	}
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
