package gateway

import (
	"sync"
	"time"
)

// wrongKeys counts the refused keys each source address sent in the
// current minute, in this process: it decides when one is logged and when
// they are answered 429. Kept in memory, so that a flood of junk keys
// costs Redis nothing and bad input changes nothing there; with several
// web processes an address gets each one's allowance.
type wrongKeys struct {
	perMinute int
	max       int // addresses remembered; past it, those of an ended minute go first

	mu   sync.Mutex
	seen map[string]*wrongKeysSeen
}

type wrongKeysSeen struct {
	since time.Time // the start of the address's current minute
	n     int       // refusals in it
	prev  int       // refusals in its previous minute, for the log
}

func newWrongKeys(perMinute, max int) *wrongKeys {
	return &wrongKeys{perMinute: perMinute, max: max, seen: map[string]*wrongKeysSeen{}}
}

// note records a refused key from addr at now. log: the first of the
// address's minute, to be logged with unlogged (the refusals of its
// minute before, less the one logged). wait > 0: past the allowance,
// answer 429 with that Retry-After.
func (w *wrongKeys) note(addr string, now time.Time) (log bool, unlogged int, wait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.seen[addr]
	if !ok || now.Sub(s.since) >= time.Minute {
		prev := 0
		if ok {
			prev = s.n
		}
		if !ok && len(w.seen) >= w.max {
			w.forget(now)
		}
		s = &wrongKeysSeen{since: now, prev: prev}
		w.seen[addr] = s
		log, unlogged = true, max(prev-1, 0)
	}
	s.n++
	if s.n > w.perMinute {
		wait = s.since.Add(time.Minute).Sub(now)
	}
	return log, unlogged, wait
}

// forget drops the addresses whose minute has ended, or else any one.
// Called with mu held.
func (w *wrongKeys) forget(now time.Time) {
	for a, s := range w.seen {
		if now.Sub(s.since) >= time.Minute {
			delete(w.seen, a)
		}
	}
	for a := range w.seen {
		if len(w.seen) < w.max {
			return
		}
		delete(w.seen, a)
	}
}
