package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is how often a run reports progress.
const progressEvery = 5 * time.Second

// load runs the timed part and returns how long requests were started for.
// Requests in flight when the time is up are waited for; waits for a free
// mobile are not.
func (r *runner) load(ctx context.Context) time.Duration {
	start := time.Now()
	wait, stop := context.WithDeadline(ctx, start.Add(r.cfg.Duration))
	defer stop()
	var started, inFlight atomic.Int64
	done := make(chan struct{})
	var reporting sync.WaitGroup
	if r.cfg.Progress != nil {
		reporting.Go(func() { r.report(start, &started, &inFlight, done) })
	}
	var window time.Duration
	if r.cfg.Rate > 0 {
		window = r.openLoop(ctx, wait, start, &started, &inFlight)
	} else {
		window = r.closedLoop(ctx, wait, start, &started, &inFlight)
	}
	close(done)
	reporting.Wait()
	r.progress("run: %d requests started in %.1fs", started.Load(), window.Seconds())
	return window
}

// openLoop starts requests on schedule: request i is due at start + i/rate,
// whatever the gateway's speed. A ticker wakes the scheduler (at most every
// millisecond) to start every request due by then. A request due while
// Concurrency are in flight is not sent, ever: it is counted as missed, so
// a slow gateway shows as missed requests and a lower achieved rate, not
// as a burst later.
func (r *runner) openLoop(ctx, wait context.Context, start time.Time, started, inFlight *atomic.Int64) time.Duration {
	slots := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	tick := time.Second / time.Duration(max(1, int64(r.cfg.Rate)))
	tick = min(max(tick, time.Millisecond), 10*time.Millisecond)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	end := start.Add(r.cfg.Duration)
	issued := int64(0)
loop:
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		due := int64(now.Sub(start).Seconds()*r.cfg.Rate) + 1
		for ; issued < due; issued++ {
			k := r.picker.next()
			select {
			case slots <- struct{}{}:
				started.Add(1)
				inFlight.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-slots; inFlight.Add(-1) }()
					r.send(ctx, wait, k)
				}()
			default:
				r.missed(k)
			}
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			break loop
		}
	}
	window := min(time.Since(start), r.cfg.Duration)
	wg.Wait()
	return window
}

// closedLoop runs Concurrency workers, each sending its next request as
// soon as its last one is answered, until the time is up.
func (r *runner) closedLoop(ctx, wait context.Context, start time.Time, started, inFlight *atomic.Int64) time.Duration {
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wait.Err() == nil {
				k := r.picker.next()
				started.Add(1)
				inFlight.Add(1)
				r.send(ctx, wait, k)
				inFlight.Add(-1)
			}
		}()
	}
	<-wait.Done()
	window := min(time.Since(start), r.cfg.Duration)
	wg.Wait()
	return window
}

// report writes a progress line every progressEvery until done.
func (r *runner) report(start time.Time, started, inFlight *atomic.Int64, done <-chan struct{}) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			el := time.Since(start).Seconds()
			n := started.Load()
			r.progress("%.0fs: %d requests started (%.1f/s), %d in flight", el, n, float64(n)/el, inFlight.Load())
		}
	}
}
