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
	rdb      redis.UniversalClient
	replicas *replicas
	group    *groupcommit.Committer[*batchCall]
}

// scriptCall is one script to run with its keys and arguments; after,
// when set, adds commands to the pipeline right after it (commands on
// other slots than the script's, which a cluster refuses in the script).
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	after  func(ctx context.Context, p redis.Pipeliner)
	// ack: the API acknowledges the step; it waits for a replica (see
	// replication.go).
	ack bool
}

type batchCall struct {
	ctx context.Context
	scriptCall

	cmd *redis.Cmd
}

func newBatcher(rdb redis.UniversalClient, reps *replicas) *batcher {
	b := &batcher{rdb: rdb, replicas: reps}
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
	return b.runCall(ctx, scriptCall{script: script, keys: keys, args: args})
}

// runCall is run for a scriptCall.
func (b *batcher) runCall(ctx context.Context, call scriptCall) *redis.Cmd {
	c := &batchCall{ctx: ctx, scriptCall: call}
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
	calls := make([]scriptCall, len(live))
	acked := false
	for i, c := range live {
		calls[i] = c.scriptCall
		acked = acked || c.ack
	}
	run := runPipelined
	if acked {
		run = b.replicas.runAcked
	}
	for i, cmd := range run(ctx, b.rdb, calls) {
		live[i].cmd = cmd
	}
}

// runPipelined runs calls in one pipeline (one per master on a cluster)
// and returns their answers in order. Each script stays atomic on its own;
// a pipeline is not a transaction.
func runPipelined(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall) []*redis.Cmd {
	if len(calls) == 1 && calls[0].after == nil {
		c := calls[0]
		return []*redis.Cmd{c.script.Run(ctx, rdb, c.keys, c.args...)}
	}
	cmds, _ := pipelineThen(ctx, rdb, calls, nil)
	return cmds
}

// pipelineThen runs calls in one pipeline and last (when given) after
// them in the same pipeline; it returns the calls' answers in order, and
// whether an acknowledged call was run again after the pipeline (its
// script forgotten by a restarted Redis).
func pipelineThen(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall, last func(p redis.Pipeliner)) ([]*redis.Cmd, bool) {
	cmds := make([]*redis.Cmd, len(calls))
	pipe := rdb.Pipeline()
	for i, c := range calls {
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		if c.after != nil {
			c.after(ctx, pipe)
		}
	}
	if last != nil {
		last(pipe)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	again := false
	for i, c := range calls {
		// A restarted Redis has forgotten the scripts: Run loads them again.
		if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			cmds[i] = c.script.Run(ctx, rdb, c.keys, c.args...)
			again = again || c.ack
		}
	}
	return cmds, again
}
