package groupcommit

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryItemRunsOnceAndGetsItsBatchError(t *testing.T) {
	for _, tc := range []struct {
		name              string
		maxFlight, maxBat int
		callers           int
	}{
		{"one at a time", 1, 1, 50},
		{"one flight", 1, 16, 400},
		{"two flights", 2, 64, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[int]int{}
			var inFlight, most atomic.Int32
			boom := errors.New("odd batch")
			var batches atomic.Int32
			g := New(tc.maxFlight, tc.maxBat, func(items []int) error {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				if len(items) > tc.maxBat {
					t.Errorf("batch of %d, max %d", len(items), tc.maxBat)
				}
				time.Sleep(200 * time.Microsecond)
				mu.Lock()
				for _, it := range items {
					seen[it]++
				}
				mu.Unlock()
				if slices.Contains(items, 7) {
					return boom
				}
				batches.Add(1)
				return nil
			})
			errs := make([]error, tc.callers)
			var wg sync.WaitGroup
			for i := range tc.callers {
				wg.Go(func() { errs[i] = g.Do(i) })
			}
			wg.Wait()
			for i := range tc.callers {
				if seen[i] != 1 {
					t.Fatalf("item %d ran %d times", i, seen[i])
				}
			}
			if !errors.Is(errs[7], boom) {
				t.Fatalf("item 7 got %v, want its batch's error", errs[7])
			}
			if int(most.Load()) > tc.maxFlight {
				t.Fatalf("%d batches in flight at once, max %d", most.Load(), tc.maxFlight)
			}
			if g.flight != 0 || len(g.waiting) != 0 {
				t.Fatalf("left flight=%d waiting=%d", g.flight, len(g.waiting))
			}
		})
	}
}
