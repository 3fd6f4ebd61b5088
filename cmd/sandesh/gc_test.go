package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC: the collector is tuned only when the operator set neither
// GOGC nor GOMEMLIMIT; either one leaves both to Go.
func TestTuneGC(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantGC    int
		wantLimit int64
	}{
		{"neither set", nil, gcPercent, memoryLimit},
		{"GOGC set", map[string]string{"GOGC": "off"}, 100, math.MaxInt64},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, 100, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Start from Go's defaults and put back what the test process had.
			oldGC, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
			defer func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) }()
			tuneGC(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64); gc != tc.wantGC || limit != tc.wantLimit {
				t.Fatalf("GC percent %d, memory limit %d; want %d, %d", gc, limit, tc.wantGC, tc.wantLimit)
			}
		})
	}
}
