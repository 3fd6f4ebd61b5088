package jobs

import (
	"context"
	"sync"
	"time"
)

// giveWay narrows the bulk lane while OTPs find Redis slow. The lanes have
// queues, dequeue loops and send slots of their own, but they share one
// Redis (and, on a small machine, the same cores): a bulk backlog drained
// at full width queues every OTP round trip — the web's request and
// enqueue, the worker's dequeue, claim and outcome — behind its own. On
// two cores an OTP's claim took 4.6 ms (p50) beside 30 bulk sends in
// flight and 0.8 ms beside 6, and the 6 drained the backlog about as fast.
//
// Each OTP claim's round trip is a sample: one above slow halves the bulk
// sends allowed in flight (at most once per cutEvery, so that one burst
// is one cut), one below gives one back, and once no OTP has been claimed
// for quiet the lane has its full width again. Bulk sends already in
// flight finish; only new ones wait. No series shows the width: it moves
// only when OTPs are sent, and an OTP is sent only on a KYVS match (see
// kyvsOTP).
type giveWay struct {
	full     int
	slow     time.Duration
	quiet    time.Duration
	cutEvery time.Duration
	now      func() time.Time

	mu       sync.Mutex
	width    int
	inFlight int
	lastOTP  time.Time
	lastCut  time.Time
	changed  chan struct{} // closed, and replaced, when a waiter may go on
}

func newGiveWay(full int, slow time.Duration) *giveWay {
	return &giveWay{
		full: full, width: full, slow: slow, quiet: time.Second, cutEvery: 50 * time.Millisecond,
		now: time.Now, changed: make(chan struct{}),
	}
}

// sample records the round trip of one OTP claim.
func (g *giveWay) sample(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.lastOTP = now
	switch {
	case d > g.slow && now.Sub(g.lastCut) >= g.cutEvery:
		g.lastCut = now
		g.setWidth(max(1, g.width/2))
	case d <= g.slow && g.width < g.full:
		g.setWidth(g.width + 1)
	}
}

// enter waits until one more bulk send may be in flight, or ctx ends.
func (g *giveWay) enter(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.width < g.full && g.now().Sub(g.lastOTP) > g.quiet {
			g.setWidth(g.full)
		}
		if g.inFlight < g.width {
			g.inFlight++
			g.mu.Unlock()
			return nil
		}
		changed := g.changed
		g.mu.Unlock()
		// Without OTPs there are no samples to widen the lane again: look
		// once more after quiet.
		t := time.NewTimer(g.quiet)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// leave ends a bulk send that entered.
func (g *giveWay) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if g.inFlight == g.width-1 { // it was full: someone may be waiting
		g.wake()
	}
}

// setWidth is called with mu held.
func (g *giveWay) setWidth(n int) {
	if n == g.width {
		return
	}
	g.width = n
	g.wake()
}

// wake lets every waiter look again; called with mu held.
func (g *giveWay) wake() {
	close(g.changed)
	g.changed = make(chan struct{})
}
