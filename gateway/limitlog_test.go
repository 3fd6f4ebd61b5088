package gateway

import (
	"testing"
	"time"
)

func TestLimitLog(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	type step struct {
		mobile   string
		after    time.Duration // since t0
		wantLog  bool
		wantHeld int
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"the first is logged, the rest of the window not", 10, []step{
			{"a", 0, true, 0}, {"a", time.Minute, false, 0}, {"a", 9 * time.Minute, false, 0},
		}},
		{"the next window's first tells how many were held", 10, []step{
			{"a", 0, true, 0}, {"a", time.Second, false, 0}, {"a", 2 * time.Second, false, 0},
			{"a", 10 * time.Minute, true, 2}, {"a", 11 * time.Minute, false, 0}, {"a", 25 * time.Minute, true, 1},
		}},
		{"mobiles apart", 10, []step{{"a", 0, true, 0}, {"b", time.Second, true, 0}, {"a", 2 * time.Second, false, 0}}},
		{"full: a mobile whose window ended is forgotten first", 2, []step{
			{"a", 0, true, 0}, {"b", 9 * time.Minute, true, 0}, {"c", 11 * time.Minute, true, 0},
			{"b", 12 * time.Minute, false, 0}, // still remembered
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimitLog(10*time.Minute, tc.max)
			for i, s := range tc.steps {
				log, held := l.note(s.mobile, t0.Add(s.after))
				if log != s.wantLog || held != s.wantHeld {
					t.Fatalf("step %d (%s at %s): log %v held %d, want %v %d", i, s.mobile, s.after, log, held, s.wantLog, s.wantHeld)
				}
			}
			if len(l.seen) > tc.max {
				t.Fatalf("%d mobiles remembered, at most %d", len(l.seen), tc.max)
			}
		})
	}
}
