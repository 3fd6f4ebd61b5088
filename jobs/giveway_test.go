package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/store"
)

// fakeClock is a giveWay's clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)} }
func (c *fakeClock) gate(full int) *giveWay {
	g := newGiveWay(full, 2*time.Millisecond)
	g.now = c.now
	return g
}

func TestGiveWayWidth(t *testing.T) {
	type step struct {
		after time.Duration // since the step before
		rtt   time.Duration // an OTP claim's round trip
		want  int           // the width after it
	}
	const slow, fast = 5 * time.Millisecond, 500 * time.Microsecond
	tests := []struct {
		name  string
		full  int
		steps []step
	}{
		{"fast OTPs leave the lane its full width", 30, []step{{0, fast, 30}, {20 * time.Millisecond, fast, 30}}},
		{"a slow one halves it", 30, []step{{0, slow, 15}}},
		{"slow ones in one burst cut once", 30, []step{{0, slow, 15}, {time.Millisecond, slow, 15}, {48 * time.Millisecond, slow, 15}}},
		{"slow ones apart cut again, down to one", 30, []step{
			{0, slow, 15}, {50 * time.Millisecond, slow, 7}, {50 * time.Millisecond, slow, 3},
			{50 * time.Millisecond, slow, 1}, {50 * time.Millisecond, slow, 1},
		}},
		{"each fast one gives one back", 30, []step{{0, slow, 15}, {10 * time.Millisecond, fast, 16}, {10 * time.Millisecond, fast, 17}}},
		{"never past the full width", 4, []step{{0, slow, 2}, {0, fast, 3}, {0, fast, 4}, {0, fast, 4}}},
		{"the threshold itself is fast", 30, []step{{0, 2 * time.Millisecond, 30}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			g := clock.gate(tt.full)
			for i, s := range tt.steps {
				clock.add(s.after)
				g.sample(s.rtt)
				if g.width != s.want {
					t.Fatalf("step %d: width %d, want %d", i, g.width, s.want)
				}
			}
		})
	}
}

func TestGiveWayFullAgainWhenOTPsStop(t *testing.T) {
	clock := newFakeClock()
	g := clock.gate(8)
	for range 3 {
		g.sample(time.Second)
		clock.add(time.Second / 10)
	}
	if g.width != 1 {
		t.Fatalf("width %d after three slow OTPs, want 1", g.width)
	}
	ctx := context.Background()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Second + time.Millisecond) // the last OTP was 1.1 s ago
	for i := range 7 {
		if err := g.enter(ctx); err != nil {
			t.Fatalf("send %d of 8: %v", i+2, err)
		}
	}
	if g.width != 8 || g.inFlight != 8 {
		t.Fatalf("width %d with %d in flight, want 8 and 8", g.width, g.inFlight)
	}
}

func TestGiveWayEnterWaitsForRoom(t *testing.T) {
	clock := newFakeClock()
	g := clock.gate(2)
	g.sample(time.Second) // width 1
	ctx := context.Background()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	entered := make(chan error, 1)
	go func() { entered <- g.enter(ctx) }()
	select {
	case err := <-entered:
		t.Fatalf("second send entered (%v) while the first was in flight at width 1", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.leave()
	select {
	case err := <-entered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second send still waiting after the first left")
	}

	stopped, cancel := context.WithCancel(ctx)
	go func() { entered <- g.enter(stopped) }()
	cancel()
	select {
	case err := <-entered:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("enter after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("enter did not return when its context ended")
	}
	if g.inFlight != 1 {
		t.Fatalf("%d in flight, want 1", g.inFlight)
	}
}

// TestBulkGivesWayToOTPs: while OTP claims find Redis slow, the bulk lane
// sends one at a time instead of its full width, and it sends everything.
// "Slow" is set by GiveWayAbove: 1 ns makes every OTP claim slow, an hour
// none.
func TestBulkGivesWayToOTPs(t *testing.T) {
	const bulk, width, delay = 12, 8, 40 * time.Millisecond
	tests := []struct {
		name             string
		giveWayAbove     time.Duration
		minPeak, maxPeak int
	}{
		{"OTPs find Redis slow", time.Nanosecond, 1, 2},
		{"OTPs find Redis fast", time.Hour, 4, width},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 1, providers.RouterOptions{})
			var mu sync.Mutex
			var starts []time.Time // of the bulk sends at the double, each held for delay
			r.doubles[0].Respond(func(_ int, form url.Values) *twiliotest.Failure {
				if !strings.HasPrefix(form.Get("To"), "+9198") {
					return nil // an OTP
				}
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				return &twiliotest.Failure{Delay: delay}
			})
			w := r.started(t, WorkerOptions{GiveWayAbove: tt.giveWayAbove,
				Concurrency: map[store.Priority]int{store.PriorityBulk: width}})

			ctx, stopOTPs := context.WithCancel(context.Background())
			otps := make(chan struct{})
			go func() {
				defer close(otps)
				for ctx.Err() == nil {
					r.queue(t, "+917000000001", store.PriorityOTP)
					time.Sleep(20 * time.Millisecond)
				}
			}()
			defer func() { stopOTPs(); <-otps }()
			if tt.giveWayAbove == time.Nanosecond {
				eventually(t, 10*time.Second, "the bulk lane narrowed to one", func() bool {
					w.bulkWidth.mu.Lock()
					defer w.bulkWidth.mu.Unlock()
					return w.bulkWidth.width == 1
				})
			} else {
				r.doubles[0].WaitCount(t, 3, 10*time.Second) // OTPs flowing
			}
			var queued sync.WaitGroup
			for i := range bulk { // at once, so that they share batches
				queued.Go(func() { r.queue(t, fmt.Sprintf("+9198765%05d", i), store.PriorityBulk) })
			}
			queued.Wait()
			eventually(t, 20*time.Second, "every bulk message sent", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(starts) == bulk
			})
			// Each send is held for delay at the double: the most that
			// began within one delay of each other is how many were in
			// flight at once.
			peak := 0
			mu.Lock()
			defer mu.Unlock()
			for i, s := range starts {
				n := 0
				for _, o := range starts[i:] {
					if o.Sub(s) < delay {
						n++
					}
				}
				peak = max(peak, n)
			}
			t.Logf("%d bulk sends in flight at most", peak)
			if peak < tt.minPeak || peak > tt.maxPeak {
				t.Fatalf("%d bulk sends in flight at once, want %d to %d", peak, tt.minPeak, tt.maxPeak)
			}
		})
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !done(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not after %s: %s", timeout, what)
		}
	}
}
