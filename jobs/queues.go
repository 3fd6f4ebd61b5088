package jobs

import (
	"strconv"

	"sandesh/store"
)

// Queues names the asynq queues of each lane. asynq keeps a queue's keys
// under one hash tag (asynq:{name}:…), so on a Redis Cluster one queue
// lives on one master: there the transactional and bulk lanes are split
// into Shards queues each ("transactional-0" … "transactional-7"), a
// message going to the one its citizen's shard names (store.ShardNumber),
// so that every master carries its share and a worker consumes them all.
// OTPs are few and stay one queue. With Shards 1 (one Redis, Sentinel) a
// lane is one queue named as the lane.
type Queues struct{ Shards int }

// ClusterQueueShards is how many queues a lane has on a cluster.
const ClusterQueueShards = 8

func (q Queues) shards(p store.Priority) int {
	if p == store.PriorityOTP || q.Shards <= 1 {
		return 1
	}
	return q.Shards
}

// Of lists lane p's queues.
func (q Queues) Of(p store.Priority) []string {
	n := q.shards(p)
	if n == 1 {
		return []string{string(p)}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = string(p) + "-" + strconv.Itoa(i)
	}
	return out
}

// For is the queue of lane p that message id goes to.
func (q Queues) For(p store.Priority, id string) string {
	n := q.shards(p)
	if n == 1 {
		return string(p)
	}
	return string(p) + "-" + strconv.Itoa(store.ShardNumber(id)%n)
}
