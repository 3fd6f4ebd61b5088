// Package doubletest holds what the provider doubles of the tests share:
// the log of the messages a double accepted, the calls it took and the
// answers a test scripted for them.
package doubletest

import (
	"net/url"
	"sync"
	"testing"
	"time"
)

// Log is a double's record of messages M and its scripted failures F. Its
// methods are safe for concurrent use; a double embeds it, so tests call
// Respond, Messages, Count, Calls and WaitCount on the double.
type Log[M, F any] struct {
	name    string // the double's, for failure messages
	mu      sync.Mutex
	calls   int
	msgs    []M
	respond func(n int, form url.Values) *F
	changed chan struct{} // closed and replaced whenever a message is accepted
}

// NewLog starts an empty log for the double called name.
func NewLog[M, F any](name string) *Log[M, F] {
	return &Log[M, F]{name: name, changed: make(chan struct{})}
}

// Respond sets how the double answers the calls that passed its checks: f
// gets the 1-based number of the call and its form, and returns nil to
// answer as the provider normally does, or a failure. f runs on the
// server's handler goroutines, concurrently. nil (the default) accepts.
func (l *Log[M, F]) Respond(f func(n int, form url.Values) *F) {
	l.mu.Lock()
	l.respond = f
	l.mu.Unlock()
}

// Call counts a call as it arrives and returns its 1-based number.
func (l *Log[M, F]) Call() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return l.calls
}

// Failure is what the test scripted for call n with form, nil for none.
func (l *Log[M, F]) Failure(n int, form url.Values) *F {
	l.mu.Lock()
	respond := l.respond
	l.mu.Unlock()
	if respond == nil {
		return nil
	}
	return respond(n, form)
}

// Accept records an accepted message and wakes WaitCount.
func (l *Log[M, F]) Accept(m M) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// Messages returns the accepted messages in the order they were accepted.
func (l *Log[M, F]) Messages() []M {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]M(nil), l.msgs...)
}

// Count returns how many messages were accepted.
func (l *Log[M, F]) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

// Calls returns how many calls arrived, failed ones included.
func (l *Log[M, F]) Calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// WaitCount waits until at least n messages were accepted and fails the
// test (t.Fatalf: call it from the test goroutine) if that takes longer
// than timeout.
func (l *Log[M, F]) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		got, ch := len(l.msgs), l.changed
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("%s: %d messages accepted within %v, want %d", l.name, l.Count(), timeout, n)
			return
		}
	}
}
