package jobs

import "time"

// reuse runs functions on goroutines kept from earlier calls. A send runs
// deep (breaker, twilio-go, net/http), and a new goroutine's stack grows to
// fit it by being copied, several times over: at a few thousand sends a
// second that copying took a tenth of the worker's CPU. A goroutine kept
// after its call keeps its grown stack for the next. reuse bounds nothing:
// callers bound how many run at once (the lane's slots), and that bounds
// the goroutines kept, give or take a few started while the idle ones were
// between calls (they end after keep).
type reuse struct {
	idle chan func()
	keep time.Duration // how long an idle goroutine waits for work before it ends
}

func newReuse(keep time.Duration) *reuse { return &reuse{idle: make(chan func()), keep: keep} }

// Go runs f on an idle kept goroutine, or on a new one if none is idle.
func (r *reuse) Go(f func()) {
	select {
	case r.idle <- f:
	default:
		go r.loop(f)
	}
}

func (r *reuse) loop(f func()) {
	t := time.NewTimer(r.keep)
	defer t.Stop()
	for {
		f()
		t.Reset(r.keep)
		select {
		case f = <-r.idle:
		case <-t.C:
			return
		}
	}
}
