package jobs

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hibiken/asynq"

	"sandesh/providers"
	"sandesh/store"
)

func TestQueues(t *testing.T) {
	id := "123019a2b3c4d5e6f7a8b9c0d1e2f3" // a message of shard 123: 123 mod 8 = 3
	for _, tc := range []struct {
		shards int
		p      store.Priority
		of     []string
		queue  string
	}{
		{1, store.PriorityTransactional, []string{"transactional"}, "transactional"},
		{0, store.PriorityBulk, []string{"bulk"}, "bulk"},
		{8, store.PriorityOTP, []string{"otp"}, "otp"},
		{8, store.PriorityTransactional, []string{"transactional-0", "transactional-1", "transactional-2", "transactional-3",
			"transactional-4", "transactional-5", "transactional-6", "transactional-7"}, "transactional-3"},
		{8, store.PriorityBulk, nil, "bulk-3"},
	} {
		t.Run(fmt.Sprintf("%s of %d", tc.p, tc.shards), func(t *testing.T) {
			q := Queues{Shards: tc.shards}
			if tc.of != nil && !slices.Equal(q.Of(tc.p), tc.of) {
				t.Errorf("Of = %v, want %v", q.Of(tc.p), tc.of)
			}
			if got := q.For(tc.p, id); got != tc.queue || !slices.Contains(q.Of(tc.p), got) {
				t.Errorf("For = %q, want %q, one of Of", got, tc.queue)
			}
		})
	}
}

// TestShardedQueuesDeliver: with a lane split over queues, as on a
// cluster, messages of many citizens (shards) go to the queues their
// shards name, and a worker that takes from all of them sends each.
func TestShardedQueuesDeliver(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	r.dispatch.Queues = Queues{Shards: 8}
	var ids []string
	for i := range 40 {
		ids = append(ids, r.queue(t, fmt.Sprintf("+9198765%05d", i), store.PriorityTransactional).ID)
	}
	ids = append(ids, r.queue(t, "+919876500100", store.PriorityBulk).ID)
	queues, err := asynq.NewInspector(r.conn).Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"transactional", "bulk"} {
		if slices.Contains(queues, q) {
			t.Errorf("queue %q holds tasks: a lane split over queues must not use it", q)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(queues), func(q string) bool { return !slices.Contains(Queues{8}.Of(store.PriorityTransactional), q) })); n < 4 {
		t.Errorf("40 citizens' messages in %d transactional queues (%v), want them spread", n, queues)
	}
	r.started(t, WorkerOptions{})
	for _, id := range ids {
		waitStatus(t, r, id, store.StatusSent)
	}
}
