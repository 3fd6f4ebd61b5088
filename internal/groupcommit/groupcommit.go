// Package groupcommit runs the work of many goroutines in shared batches:
// each caller hands over one item and waits; items that arrive while a
// batch is in flight go together in the next one. Under load the cost of
// one round trip is shared by a whole batch; when idle an item goes at
// once, alone, with no added delay — unlike a timer-based batcher, which
// makes every item wait for its tick.
package groupcommit

import "sync"

// Committer batches items for exec. It is safe for concurrent use and has
// no goroutine of its own: the caller whose batch comes back hands the
// queue, as the next batch, to the first caller still waiting (it waits
// anyway), so a caller never runs more than one batch after its own.
type Committer[T any] struct {
	exec      func(items []T) error
	maxFlight int
	maxBatch  int

	mu      sync.Mutex
	flight  int
	waiting []*call[T]
}

type call[T any] struct {
	item T
	err  error
	// lead hands this caller a batch to run, its own item first; done
	// says another caller's batch carried it.
	lead chan []*call[T]
	done chan struct{}
}

// New builds a Committer that runs at most maxFlight batches at once, each
// of at most maxBatch items. exec's error is every item's in that batch.
func New[T any](maxFlight, maxBatch int, exec func(items []T) error) *Committer[T] {
	return &Committer[T]{exec: exec, maxFlight: max(1, maxFlight), maxBatch: max(1, maxBatch)}
}

// Do runs item in a batch and returns that batch's error.
func (g *Committer[T]) Do(item T) error {
	c := &call[T]{item: item, lead: make(chan []*call[T], 1), done: make(chan struct{})}
	g.mu.Lock()
	if g.flight < g.maxFlight {
		g.flight++
		batch := g.take(c)
		g.mu.Unlock()
		g.run(batch)
		return c.err
	}
	g.waiting = append(g.waiting, c)
	g.mu.Unlock()
	select {
	case <-c.done:
	case batch := <-c.lead:
		g.run(batch)
	}
	return c.err
}

// take removes up to maxBatch calls from the queue, after first if given.
// The caller holds mu.
func (g *Committer[T]) take(first *call[T]) []*call[T] {
	var batch []*call[T]
	if first != nil {
		batch = append(batch, first)
	}
	n := min(len(g.waiting), g.maxBatch-len(batch))
	batch = append(batch, g.waiting[:n]...)
	g.waiting = append([]*call[T](nil), g.waiting[n:]...)
	return batch
}

// run executes a batch whose first call is the caller's own, releases the
// others in it, then passes the next batch on or gives up its place.
func (g *Committer[T]) run(batch []*call[T]) {
	items := make([]T, len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	err := g.exec(items)
	for _, c := range batch {
		c.err = err
	}
	for _, c := range batch[1:] {
		close(c.done)
	}
	g.mu.Lock()
	if len(g.waiting) == 0 {
		g.flight--
		g.mu.Unlock()
		return
	}
	next := g.take(nil)
	g.mu.Unlock()
	next[0].lead <- next
}
