package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/providers"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/store"
)

// TestEnqueuesAreBatched: messages queued at the same moment share tasks,
// and each is sent exactly once.
func TestEnqueuesAreBatched(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	const n = 300
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { r.queue(t, fmt.Sprintf("+9198765%05d", i), store.PriorityTransactional) })
	}
	wg.Wait()
	insp := asynq.NewInspector(r.conn)
	defer insp.Close()
	q, err := insp.GetQueueInfo(string(store.PriorityTransactional))
	if err != nil {
		t.Fatal(err)
	}
	if q.Pending >= n || q.Pending == 0 {
		t.Fatalf("%d tasks for %d messages queued at once: want them batched", q.Pending, n)
	}
	t.Logf("%d messages in %d tasks", n, q.Pending)
	r.started(t, WorkerOptions{})
	r.doubles[0].WaitCount(t, n, 20*time.Second)
	seen := map[string]bool{}
	for _, m := range r.doubles[0].Messages() {
		if seen[m.To] {
			t.Fatalf("%s got two SMS", m.To)
		}
		seen[m.To] = true
	}
	if len(seen) != n {
		t.Fatalf("%d mobiles reached, want %d", len(seen), n)
	}
}

// TestBatchHandsBackAFailedMessage: a temporary failure of one message of
// a batch does not hold up or resend the others; the failed one comes back
// as a task of its own and is sent on its retry.
func TestBatchHandsBackAFailedMessage(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	r.doubles[0].Respond(twiliotest.FailFirst(1, twiliotest.Failure{Status: 500, Code: 20500}))
	w := r.worker(WorkerOptions{})
	ids := r.confirmations(t, 3)
	payload, _ := json.Marshal(batchPayload{Priority: store.PriorityTransactional, MessageIDs: ids})
	if err := w.ProcessBatch(context.Background(), asynq.NewTask(TypeBatch, payload)); err != nil {
		t.Fatalf("batch: %v; want it done, the failed message handed back", err)
	}
	var failed string
	sent := 0
	for _, id := range ids {
		switch st := r.status(t, id).Status; st {
		case store.StatusSent:
			sent++
		case store.StatusSending:
			failed = id
		default:
			t.Fatalf("message %s is %s", id, st)
		}
	}
	if sent != 2 || failed == "" {
		t.Fatalf("%d sent, failed %q; want 2 sent and 1 to retry", sent, failed)
	}
	insp := asynq.NewInspector(r.conn)
	defer insp.Close()
	later, err := insp.ListScheduledTasks(string(store.PriorityTransactional))
	if err != nil || len(later) != 1 {
		t.Fatalf("%d tasks scheduled (%v), want the failed message's own", len(later), err)
	}
	if got, _, _ := taskMessages(later[0].Type, later[0].Payload); len(got) != 1 || got[0] != failed {
		t.Fatalf("scheduled task carries %v, want [%s]", got, failed)
	}
	r.started(t, WorkerOptions{})
	waitStatus(t, r, failed, store.StatusSent)
	if got := r.status(t, failed); got.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2", got.Attempts)
	}
	if n := len(r.doubles[0].Messages()); n != 3 {
		t.Fatalf("the double accepted %d SMS, want 3", n)
	}
}

// TestSameMessageTwiceInOneWorker: two tasks of one worker on one message
// at once (a replayed request queued it again) send it once; the second
// comes back later instead of claiming.
func TestSameMessageTwiceInOneWorker(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	r.doubles[0].Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Delay: 200 * time.Millisecond} })
	w := r.worker(WorkerOptions{})
	m, err := r.store.CreateMessage(context.Background(), store.NewMessage{To: "+919876543210",
		Template: "dose_confirmation", Body: "hello", Encoding: "GSM-7", Segments: 1, Priority: store.PriorityTransactional})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = w.ProcessSend(context.Background(), sendTask(m.ID)) })
	}
	wg.Wait()
	var waited int
	for _, err := range errs {
		var we *waitError
		switch {
		case err == nil:
		case errors.As(err, &we):
			waited++
		default:
			t.Fatalf("task: %v", err)
		}
	}
	if got := r.status(t, m.ID); waited != 1 || got.Attempts != 1 || got.Status != store.StatusSent {
		t.Fatalf("waited %d, message %s after %d attempts; want one sent, one told to wait", waited, got.Status, got.Attempts)
	}
	if n := len(r.doubles[0].Messages()); n != 1 {
		t.Fatalf("the double got %d SMS, want 1", n)
	}
}

// TestBatchStoppedBeforeItsSendsGivesBackItsClaims: a batch claims its
// messages in one step, then waits for the lane's slots; stopped while it
// waits, it gives the leases back, so the retried batch (or another
// worker) sends them at once instead of after the lease.
func TestBatchStoppedBeforeItsSendsGivesBackItsClaims(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	w := r.worker(WorkerOptions{Concurrency: map[store.Priority]int{store.PriorityTransactional: 2}})
	ids := r.confirmations(t, 3)
	slots := w.slots[store.PriorityTransactional]
	for range cap(slots) { // every send slot busy
		slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	payload, _ := json.Marshal(batchPayload{Priority: store.PriorityTransactional, MessageIDs: ids})
	if err := w.ProcessBatch(ctx, asynq.NewTask(TypeBatch, payload)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("batch stopped while waiting: %v, want the deadline", err)
	}
	for _, id := range ids {
		if _, busy := w.working.Load(id); busy {
			t.Fatalf("message %s still marked as worked on", id)
		}
		if _, res, err := r.store.ClaimStale(context.Background(), id, "other-worker", time.Minute); err != nil || res != store.Claimed {
			t.Fatalf("another worker's claim of %s = %v %v, want Claimed: the stopped batch kept its lease", id, res, err)
		}
	}
	if n := len(r.doubles[0].Messages()); n != 0 {
		t.Fatalf("the double accepted %d SMS from a batch that never had a slot", n)
	}
}

// TestBatchClaimsAgainAfterALongWaitForASlot: a message a batch claimed
// waits for a send slot while its lease runs. If the lease ran out and
// another worker took the message meanwhile (the sweeper queued it again
// during a brownout), the batch must not send it too: it claims it again
// before its send and finds it taken.
func TestBatchClaimsAgainAfterALongWaitForASlot(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	w := r.worker(WorkerOptions{Concurrency: map[store.Priority]int{store.PriorityTransactional: 1}, ReclaimAfter: 50 * time.Millisecond})
	ctx := context.Background()
	id := r.confirmations(t, 1)[0]
	slots := w.slots[store.PriorityTransactional]
	slots <- struct{}{} // the only send slot is busy
	payload, _ := json.Marshal(batchPayload{Priority: store.PriorityTransactional, MessageIDs: []string{id}})
	done := make(chan error, 1)
	go func() { done <- w.ProcessBatch(ctx, asynq.NewTask(TypeBatch, payload)) }()
	waitStatus(t, r, id, store.StatusSending) // claimed by the batch, waiting for the slot
	// Its lease runs out; another worker claims it.
	if err := r.rdb.HSet(ctx, r.store.KeyOf("msg", id), "lock_until", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, res, err := r.store.Claim(ctx, id, "other-worker", time.Minute); err != nil || res != store.Claimed {
		t.Fatalf("the other worker's claim: %v %v", res, err)
	}
	time.Sleep(100 * time.Millisecond)
	<-slots // the slot frees up
	if err := <-done; err != nil {
		t.Fatalf("batch: %v; want the taken message handed back", err)
	}
	if n := len(r.doubles[0].Messages()); n != 0 {
		t.Fatalf("the batch sent a message another worker holds (%d SMS at the double)", n)
	}
}

// TestBatchClaimsInChunks: a batch claims its messages a chunk at a time,
// the next chunk once the one before has its send slots, so one claim
// script never holds Redis for a whole batch and claims stay close to
// their sends.
func TestBatchClaimsInChunks(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	r.doubles[0].Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Delay: 300 * time.Millisecond} })
	w := r.worker(WorkerOptions{Concurrency: map[store.Priority]int{store.PriorityTransactional: 2}})
	ctx := context.Background()
	ids := r.confirmations(t, 24)
	payload, _ := json.Marshal(batchPayload{Priority: store.PriorityTransactional, MessageIDs: ids})
	done := make(chan error, 1)
	go func() { done <- w.ProcessBatch(ctx, asynq.NewTask(TypeBatch, payload)) }()
	time.Sleep(150 * time.Millisecond) // the first two sends are at the double
	claimed := 0
	for _, id := range ids {
		if r.status(t, id).Status == store.StatusSending {
			claimed++
		}
	}
	if claimed == 0 || claimed > claimChunk || claimChunk >= len(ids) {
		t.Fatalf("%d of %d messages claimed while the first sends are out, want 1 to %d (a chunk)", claimed, len(ids), claimChunk)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(r.doubles[0].Messages()); n != len(ids) {
		t.Fatalf("%d SMS at the double, want %d", n, len(ids))
	}
}

// confirmations records n transactional messages to n mobiles, queued and
// not yet sent, and returns their ids.
func (r *rig) confirmations(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		m, err := r.store.CreateMessage(context.Background(), store.NewMessage{To: fmt.Sprintf("+9198765%05d", i),
			Template: "dose_confirmation", Body: "hello", Encoding: "GSM-7", Segments: 1, Priority: store.PriorityTransactional})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}
