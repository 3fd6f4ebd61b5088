package store

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher runs the scripts every message passes through — create, claim,
// advance — for many goroutines in shared pipelines (group commit). Under
// load web handlers and worker slots all wait on Redis round trips, and on
// a small machine each round trip's syscalls at both ends cost more than
// the script itself; one pipeline of ten scripts costs the syscalls of one.
// Each script stays atomic on its own: a pipeline is not a transaction, and
// no script here depends on another in the same batch.
//
// It has no goroutine of its own and adds no delay: a caller that finds no
// pipeline in flight sends at once, with whatever others queued meanwhile;
// callers arriving while one is in flight queue up, and the caller whose
// pipeline comes back hands the queue, as the next batch, to the first of
// them. One pipeline in flight at a time keeps batches deep (go-redis
// measured the same for its experimental AutoPipeliner, which we do not use
// on the path that must lose no message).
type batcher struct {
	rdb       redis.UniversalClient
	maxFlight int
	maxBatch  int

	mu      sync.Mutex
	flight  int
	waiting []*batchCall
}

type batchCall struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any

	cmd *redis.Cmd
	// lead hands this caller a batch to send, its own call first; done
	// says another caller's pipeline carried it.
	lead chan []*batchCall
	done chan struct{}
}

func newBatcher(rdb redis.UniversalClient) *batcher {
	return &batcher{rdb: rdb, maxFlight: 1, maxBatch: 128}
}

// batchTimeout bounds one pipeline whatever the callers' contexts say: a
// batch carries many callers, so no one caller's cancellation may abort it.
const batchTimeout = 5 * time.Second

// run evaluates script as script.Run would, possibly in a pipeline shared
// with other callers. A call whose ctx has ended before its batch is sent
// is not sent.
func (b *batcher) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &batchCall{ctx: ctx, script: script, keys: keys, args: args, lead: make(chan []*batchCall, 1), done: make(chan struct{})}
	b.mu.Lock()
	if b.flight < b.maxFlight {
		b.flight++
		batch := b.take(c)
		b.mu.Unlock()
		b.send(batch)
		return c.cmd
	}
	b.waiting = append(b.waiting, c)
	b.mu.Unlock()
	select {
	case <-c.done:
	case batch := <-c.lead:
		b.send(batch)
	}
	return c.cmd
}

// take removes up to maxBatch calls from the queue, after first if given.
// The caller holds mu.
func (b *batcher) take(first *batchCall) []*batchCall {
	var batch []*batchCall
	if first != nil {
		batch = append(batch, first)
	}
	n := min(len(b.waiting), b.maxBatch-len(batch))
	batch = append(batch, b.waiting[:n]...)
	b.waiting = append([]*batchCall(nil), b.waiting[n:]...)
	return batch
}

// send runs a batch whose first call is the caller's own, releases the
// others in it, then hands the next batch to the first caller still
// waiting — it waits anyway, and this caller gets its answer back without
// sending for others — or gives up its place in flight.
func (b *batcher) send(batch []*batchCall) {
	b.exec(batch)
	for _, c := range batch[1:] {
		close(c.done)
	}
	b.mu.Lock()
	if len(b.waiting) == 0 {
		b.flight--
		b.mu.Unlock()
		return
	}
	next := b.take(nil)
	b.mu.Unlock()
	next[0].lead <- next
}

func (b *batcher) exec(batch []*batchCall) {
	live := make([]*batchCall, 0, len(batch))
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.cmd = redis.NewCmd(c.ctx)
			c.cmd.SetErr(err)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(live) == 1 {
		c := live[0]
		c.cmd = c.script.Run(ctx, b.rdb, c.keys, c.args...)
		return
	}
	pipe := b.rdb.Pipeline()
	for _, c := range live {
		c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for _, c := range live {
		// A restarted Redis has forgotten the scripts: Run loads them again.
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			c.cmd = c.script.Run(ctx, b.rdb, c.keys, c.args...)
		}
	}
}
