package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replication is asynchronous: a master that dies takes with it whatever
// its replicas had not received, whatever its appendfsync. A step whose
// success the API acknowledges (ackedPath) is therefore followed, on the
// same connection, by WAIT 1 on a master that has a replica: an answer is
// sent only once a replica holds the step. When none confirms in
// replicaWait the step answers ErrNotReplicated (a 503): the client's
// retry, with its Idempotency-Key, replays what the master kept or redoes
// what it lost. A master without replicas (one server, the embedded
// Redis) is not waited on: it has nothing to wait for.

// ErrNotReplicated: the step ran on the master, but no replica confirmed
// it in time; it may be lost if the master dies now.
var ErrNotReplicated = errors.New("no replica confirmed the write in time")

// replicaWait bounds WAIT: a replica on the same network confirms in well
// under a millisecond, one that lags this much is as good as gone.
const replicaWait = 200 * time.Millisecond

// replicasReadEvery is how often a master's count of replicas is read
// again, in the background: a replica added or lost is seen within it.
const replicasReadEvery = 5 * time.Second

// replicas knows how many replicas each master has, read with ROLE.
type replicas struct {
	mu   sync.Mutex
	seen map[string]*replicaCount // by master address
}

type replicaCount struct {
	n       int
	at      time.Time
	reading bool
	// asker reads ROLE on a connection of its own, off the pool (and the
	// hooks) the requests' steps use: the read is no step's round trip.
	asker *redis.Client
}

// of is how many replicas the master c reaches has: read at its first
// use, then again in the background once replicasReadEvery old, so a step
// does not wait for it.
func (r *replicas) of(ctx context.Context, c *redis.Client) int {
	addr := c.Options().Addr
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[string]*replicaCount{}
	}
	got, ok := r.seen[addr]
	if ok && !got.at.IsZero() {
		n := got.n
		if !got.reading && time.Since(got.at) >= replicasReadEvery {
			got.reading = true
			go r.read(got)
		}
		r.mu.Unlock()
		return n
	}
	if !ok {
		opt := *c.Options()
		opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns = 1, 0, 1
		got = &replicaCount{asker: redis.NewClient(&opt)}
		r.seen[addr] = got
	}
	r.mu.Unlock()
	// Not known yet: every step that finds it so reads it, rather than
	// answer without waiting.
	r.read(got)
	r.mu.Lock()
	defer r.mu.Unlock()
	return got.n
}

// read counts the replicas of got's master into got. A master that cannot
// say (ROLE refused, as by the embedded Redis; or away) counts as having
// none until it can.
func (r *replicas) read(got *replicaCount) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := 0
	if role, err := got.asker.Do(ctx, "ROLE").Slice(); err == nil && len(role) >= 3 && role[0] == "master" {
		if list, ok := role[2].([]any); ok {
			n = len(list)
		}
	}
	r.mu.Lock()
	got.n, got.at, got.reading = n, time.Now(), false
	r.mu.Unlock()
}

// runAcked runs calls as runPipelined does, and when one of them is
// acknowledged (ack) and its master has a replica, waits for the replica
// on the connection that ran them: per master on a cluster (the calls of
// one master in one pipeline of that master's), on the one connection of
// a single server's pipeline otherwise. The acknowledged calls of a
// master no replica confirmed answer ErrNotReplicated.
func (r *replicas) runAcked(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall) []*redis.Cmd {
	switch c := rdb.(type) {
	case *redis.Client:
		return r.runOn(ctx, c, calls)
	case *redis.ClusterClient:
		return r.runOnMasters(ctx, c, calls)
	}
	return runPipelined(ctx, rdb, calls)
}

// runOn runs calls in one pipeline on c, WAIT last when they need it.
func (r *replicas) runOn(ctx context.Context, c *redis.Client, calls []scriptCall) []*redis.Cmd {
	acked := false
	for _, call := range calls {
		acked = acked || call.ack
	}
	if !acked || r.of(ctx, c) == 0 {
		return runPipelined(ctx, c, calls)
	}
	var wait *redis.Cmd
	cmds, again := pipelineThen(ctx, c, calls, func(p redis.Pipeliner) {
		wait = p.Do(ctx, "WAIT", 1, replicaWait.Milliseconds())
	})
	acks, err := wait.Int()
	if again {
		// A step run again after NOSCRIPT (a restarted Redis) came after
		// the pipeline's WAIT: it waits for its replica on its own.
		var n int64
		n, err = c.Wait(ctx, 1, replicaWait).Result()
		acks = int(n)
	}
	if err == nil && acks >= 1 {
		return cmds
	}
	for i, call := range calls {
		if call.ack && cmds[i].Err() == nil {
			cmds[i].SetErr(fmt.Errorf("%w (WAIT answered %d, %v)", ErrNotReplicated, acks, err))
		}
	}
	return cmds
}

// runOnMasters groups the acknowledged calls by the master of their
// first key's slot and runs each group on its master, the groups and the
// other calls (through the cluster client) at once. A call whose master
// is unknown, or moved (a failover), answers the error: the step did not
// run, and the client learns the new map for the next.
func (r *replicas) runOnMasters(ctx context.Context, cc *redis.ClusterClient, calls []scriptCall) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	groups := map[*redis.Client][]int{}
	var others []int // not acknowledged: the cluster client's own pipeline, which follows redirections
	for i, call := range calls {
		if !call.ack {
			others = append(others, i)
			continue
		}
		node, err := cc.MasterForKey(ctx, call.keys[0])
		if err != nil {
			cmds[i] = redis.NewCmd(ctx)
			cmds[i].SetErr(fmt.Errorf("find the master of %s: %w", call.keys[0], err))
			continue
		}
		groups[node] = append(groups[node], i)
	}
	var wg sync.WaitGroup
	if len(others) > 0 {
		wg.Go(func() {
			group := make([]scriptCall, len(others))
			for j, i := range others {
				group[j] = calls[i]
			}
			for j, cmd := range runPipelined(ctx, cc, group) {
				cmds[others[j]] = cmd
			}
		})
	}
	for node, at := range groups {
		wg.Go(func() {
			group := make([]scriptCall, len(at))
			for j, i := range at {
				group[j] = calls[i]
			}
			for j, cmd := range r.runOn(ctx, node, group) {
				cmds[at[j]] = cmd
			}
		})
	}
	wg.Wait()
	for _, cmd := range cmds {
		// Commands sent to a master's own client do not follow a
		// redirection, nor teach the cluster client the new map.
		if redis.HasErrorPrefix(cmd.Err(), "MOVED") || redis.HasErrorPrefix(cmd.Err(), "CLUSTERDOWN") {
			cc.ReloadState(ctx)
			break
		}
	}
	return cmds
}
