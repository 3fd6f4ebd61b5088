// Package memo keeps, in one process, values that never change once known
// for their key — a beneficiary's registration, a centre, the E.164 form
// of a number as typed — so a hot path finds them without asking Redis or
// parsing again.
package memo

import "sync"

// Map holds at most max entries; nothing in it is ever stale, because
// only what cannot change goes in. When full it forgets an arbitrary entry
// (Go's map order), which costs one later miss, no more. It is safe for
// concurrent use.
type Map[V any] struct {
	mu  sync.RWMutex
	m   map[string]V
	max int
}

// New returns an empty Map of at most max entries.
func New[V any](max int) *Map[V] {
	return &Map[V]{m: make(map[string]V), max: max}
}

// Get returns the value kept for k.
func (c *Map[V]) Get(k string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// Put keeps v for k.
func (c *Map[V]) Put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}
