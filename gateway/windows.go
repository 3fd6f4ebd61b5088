package gateway

import (
	"sync"
	"time"
)

// windows counts events per key in fixed windows that start with a key's
// first event, in this process, remembering at most max keys (past it,
// those whose window has ended are forgotten first). The reply-limit log
// and the refused-key throttle both ask it one question: is this the
// first event of the key's window, how many came in its window before,
// and how many now?
type windows struct {
	length time.Duration
	max    int

	mu   sync.Mutex
	seen map[string]*window
}

type window struct {
	start time.Time
	n     int // events in it
	prev  int // events in the key's window before it
}

func newWindows(length time.Duration, max int) *windows {
	return &windows{length: length, max: max, seen: map[string]*window{}}
}

// windowNote is what note says of one event.
type windowNote struct {
	first bool      // the first event of the key's window
	prev  int       // events in the key's previous window (0 if none remembered)
	n     int       // events in the current window, this one included
	ends  time.Time // when the current window ends
}

// note records an event for key at now.
func (w *windows) note(key string, now time.Time) windowNote {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.seen[key]
	first := !ok || now.Sub(cur.start) >= w.length
	if first {
		prev := 0
		if ok {
			prev = cur.n
		} else if len(w.seen) >= w.max {
			w.forget(now)
		}
		cur = &window{start: now, prev: prev}
		w.seen[key] = cur
	}
	cur.n++
	return windowNote{first: first, prev: cur.prev, n: cur.n, ends: cur.start.Add(w.length)}
}

// forget drops the keys whose window has ended, or else any one. Called
// with mu held.
func (w *windows) forget(now time.Time) {
	for k, cur := range w.seen {
		if now.Sub(cur.start) >= w.length {
			delete(w.seen, k)
		}
	}
	for k := range w.seen {
		if len(w.seen) < w.max {
			return
		}
		delete(w.seen, k)
	}
}
