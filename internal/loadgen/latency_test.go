package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func msList(vals ...int) []time.Duration {
	out := make([]time.Duration, len(vals))
	for i, v := range vals {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100) // 1..100 ms
	for i := range hundred {
		hundred[i] = i + 1
	}
	thousand := make([]int, 1000) // 1..1000 ms
	for i := range thousand {
		thousand[i] = i + 1
	}
	for _, tc := range []struct {
		name    string
		samples []int
		p       float64
		want    int
	}{
		{"one sample is every percentile", []int{7}, 50, 7},
		{"one sample p99", []int{7}, 99, 7},
		{"two samples median is the lower", []int{1, 2}, 50, 1},
		{"two samples p51 is the upper", []int{1, 2}, 51, 2},
		{"odd count median", []int{1, 2, 3, 4, 5}, 50, 3},
		{"1..100 p50", hundred, 50, 50},
		{"1..100 p95", hundred, 95, 95}, // 0.95*100 in floats is 95.00000000000001
		{"1..100 p99", hundred, 99, 99},
		{"1..100 p100", hundred, 100, 100},
		{"1..1000 p99.9", thousand, 99.9, 999},
		{"1..1000 p95", thousand, 95, 950},
		{"p0 is the smallest", []int{3, 4}, 0, 3},
		{"p95 of 10 rounds the rank up", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 95, 10},
		{"p50 of 10", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Percentile(msList(tc.samples...), tc.p)
			if want := time.Duration(tc.want) * time.Millisecond; got != want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.samples, tc.p, got, want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		want    Latency
	}{
		{"none", nil, Latency{}},
		{"unsorted input", msList(30, 10, 20), Latency{Count: 3, P50: 20, P95: 30, P99: 30, Max: 30}},
		{"sub-millisecond kept to the microsecond", []time.Duration{1500 * time.Microsecond, 250 * time.Microsecond},
			Latency{Count: 2, P50: 0.25, P95: 1.5, P99: 1.5, Max: 1.5}},
		{"nanoseconds round to microseconds", []time.Duration{1234567}, Latency{Count: 1, P50: 1.235, P95: 1.235, P99: 1.235, Max: 1.235}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.samples); got != tc.want {
				t.Errorf("Summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestPercentileAgainstDefinition checks random sets against the
// definition: the result is a sample, at least p% of samples are <= it,
// and fewer than p% are < it.
func TestPercentileAgainstDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + rng.IntN(500)
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(rng.IntN(50)) // many ties
		}
		slices.Sort(s)
		for _, p := range []float64{1, 25, 50, 90, 95, 99, 99.9, 100} {
			v := Percentile(s, p)
			atOrBelow, below := 0, 0
			for _, x := range s {
				if x <= v {
					atOrBelow++
				}
				if x < v {
					below++
				}
			}
			need := p / 100 * float64(n)
			if float64(atOrBelow) < need-1e-9 {
				t.Fatalf("n=%d p=%v: %v is too low, only %d samples at or below it", n, p, v, atOrBelow)
			}
			if float64(below) >= need-1e-9 && below > 0 {
				t.Fatalf("n=%d p=%v: %v is too high, %d samples below it", n, p, v, below)
			}
		}
	}
}
