package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/groupcommit"
)

// batcher runs the scripts every message passes through — create, claim,
// advance — for many goroutines in shared pipelines (group commit). Under
// load web handlers and worker slots all wait on Redis round trips, and on
// a small machine each round trip's syscalls at both ends cost more than
// the script itself; one pipeline of ten scripts costs the syscalls of one.
// Each script stays atomic on its own: a pipeline is not a transaction, and
// no script here depends on another in the same batch.
//
// It adds no delay (see groupcommit): a caller that finds no pipeline in
// flight sends at once, with whatever others queued meanwhile. One
// pipeline in flight at a time keeps batches deep (go-redis measured the
// same for its experimental AutoPipeliner, which we do not use on the path
// that must lose no message).
type batcher struct {
	rdb   redis.UniversalClient
	group *groupcommit.Committer[*batchCall]
}

type batchCall struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any

	cmd *redis.Cmd
}

func newBatcher(rdb redis.UniversalClient) *batcher {
	b := &batcher{rdb: rdb}
	b.group = groupcommit.New(1, 128, func(calls []*batchCall) error {
		b.exec(calls) // each call carries its own answer
		return nil
	})
	return b
}

// batchTimeout bounds one pipeline whatever the callers' contexts say: a
// batch carries many callers, so no one caller's cancellation may abort it.
const batchTimeout = 5 * time.Second

// run evaluates script as script.Run would, possibly in a pipeline shared
// with other callers. A call whose ctx has ended before its batch is sent
// is not sent.
func (b *batcher) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &batchCall{ctx: ctx, script: script, keys: keys, args: args}
	_ = b.group.Do(c)
	return c.cmd
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
