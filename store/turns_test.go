package store

import (
	"context"
	"testing"
	"time"
)

// TestTakeTurn: within a period one holder has the turn, whoever asks; a
// period on, the next to ask takes it, the last holder included.
func TestTakeTurn(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const period = 300 * time.Millisecond
	for _, step := range []struct {
		holder string
		wait   time.Duration
		want   bool
	}{
		{"a", 0, true},
		{"b", 0, false},
		{"a", 0, false},
		{"b", 100 * time.Millisecond, false},
		{"b", period, true},
		{"a", 0, false},
		{"b", period, true},
	} {
		time.Sleep(step.wait)
		got, err := s.TakeTurn(ctx, "sweep", step.holder, period)
		if err != nil || got != step.want {
			t.Fatalf("%s after %s: turn %v, %v; want %v", step.holder, step.wait, got, err, step.want)
		}
	}
	if got, err := s.TakeTurn(ctx, "rescue", "a", period); err != nil || !got {
		t.Errorf("another job's turn: %v, %v; want its own", got, err)
	}
}
