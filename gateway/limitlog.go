package gateway

import (
	"sync"
	"time"
)

// limitLog decides when "reply limit reached" is logged: once per mobile
// per window, with how many were held back before it. A bot caught in a
// reply loop sends thousands of SMS an hour, and a line for each would
// bury the log.
type limitLog struct {
	window time.Duration
	max    int // mobiles remembered; past it, those whose window ended are forgotten first

	mu   sync.Mutex
	seen map[string]*limitSeen
}

type limitSeen struct {
	since time.Time // when the last line for the mobile was logged
	held  int       // refusals not logged since
}

func newLimitLog(window time.Duration, max int) *limitLog {
	return &limitLog{window: window, max: max, seen: map[string]*limitSeen{}}
}

// note records a refusal for mobile at now and reports whether to log it,
// and how many refusals went unlogged before it.
func (l *limitLog) note(mobile string, now time.Time) (log bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.seen[mobile]; ok && now.Sub(s.since) < l.window {
		s.held++
		return false, 0
	} else if ok {
		held = s.held
	}
	if len(l.seen) >= l.max {
		l.forget(now)
	}
	l.seen[mobile] = &limitSeen{since: now}
	return true, held
}

// forget drops the mobiles whose window has ended, or else any one.
// Called with mu held.
func (l *limitLog) forget(now time.Time) {
	for m, s := range l.seen {
		if now.Sub(s.since) >= l.window {
			delete(l.seen, m)
		}
	}
	for m := range l.seen {
		if len(l.seen) < l.max {
			return
		}
		delete(l.seen, m)
	}
}
