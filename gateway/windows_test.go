package gateway

import (
	"fmt"
	"testing"
	"time"
)

func TestWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	type step struct {
		key   string
		after time.Duration // since t0
		want  windowNote    // ends is filled in from the window's start
		start time.Duration // the window's start, since t0
	}
	at := func(key string, after time.Duration, first bool, prev, n int, start time.Duration) step {
		return step{key, after, windowNote{first: first, prev: prev, n: n}, start}
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"the first of a window, then counted", 10, []step{
			at("a", 0, true, 0, 1, 0), at("a", time.Minute, false, 0, 2, 0), at("a", 9*time.Minute, false, 0, 3, 0),
		}},
		{"the next window knows the last one's count", 10, []step{
			at("a", 0, true, 0, 1, 0), at("a", time.Second, false, 0, 2, 0), at("a", 2*time.Second, false, 0, 3, 0),
			at("a", 10*time.Minute, true, 3, 1, 10*time.Minute), at("a", 11*time.Minute, false, 3, 2, 10*time.Minute),
			at("a", 25*time.Minute, true, 2, 1, 25*time.Minute),
		}},
		{"keys apart", 10, []step{at("a", 0, true, 0, 1, 0), at("b", time.Second, true, 0, 1, time.Second), at("a", 2*time.Second, false, 0, 2, 0)}},
		{"full: a key whose window ended is forgotten first", 2, []step{
			at("a", 0, true, 0, 1, 0), at("b", 9*time.Minute, true, 0, 1, 9*time.Minute), at("c", 11*time.Minute, true, 0, 1, 11*time.Minute),
			at("b", 12*time.Minute, false, 0, 2, 9*time.Minute), // still remembered
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindows(10*time.Minute, tc.max)
			for i, s := range tc.steps {
				s.want.ends = t0.Add(s.start + 10*time.Minute)
				if got := w.note(s.key, t0.Add(s.after)); got != s.want {
					t.Fatalf("step %d (%s at %s): %+v, want %+v", i, s.key, s.after, got, s.want)
				}
			}
			if len(w.seen) > tc.max {
				t.Fatalf("%d keys remembered, at most %d", len(w.seen), tc.max)
			}
		})
	}
	w := newWindows(time.Minute, 2)
	for i := range 5 {
		w.note(fmt.Sprint(i), t0)
	}
	if len(w.seen) > 2 {
		t.Fatalf("%d keys remembered, at most 2", len(w.seen))
	}
}
