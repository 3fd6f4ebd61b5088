package store

import "sync"

// immutableCache keeps, in this process, records that never change once
// written — a beneficiary's registration, a centre — so a hot path reads
// them without a Redis round trip. Nothing is ever stale: only what cannot
// change goes in. It holds at most max entries; when full it forgets an
// arbitrary one (Go's map order), which costs one later miss, no more.
type immutableCache[V any] struct {
	mu  sync.RWMutex
	m   map[string]V
	max int
}

func newImmutableCache[V any](max int) *immutableCache[V] {
	return &immutableCache[V]{m: make(map[string]V), max: max}
}

func (c *immutableCache[V]) get(k string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *immutableCache[V]) put(k string, v V) {
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
