package jobs

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/providers"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/store"
)

// A worker that dies in the middle of a send (here: stuck in a provider
// call, its heartbeat gone) has its message rescued by another worker
// within a few seconds, not after asynq's lease and recoverer (60–90 s).
func TestRescueOfDeadWorkersClaims(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	r.doubles[0].Respond(twiliotest.FailFirst(1, twiliotest.Failure{Hang: true}))
	m := r.queue(t, "+919876543210", store.PriorityOTP)

	// The dying worker beats once, then claims and hangs in the provider.
	dying := r.worker(WorkerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.store.Heartbeat(ctx, dying.id, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	stuck := make(chan error, 1)
	go func() { stuck <- dying.ProcessSend(ctx, sendTask(m.ID)) }()
	waitUntil(t, 2*time.Second, "the dying worker's call", func() bool { return r.doubles[0].Calls() == 1 })

	start := time.Now()
	r.started(t, WorkerOptions{RescueEvery: 50 * time.Millisecond, HeartbeatTTL: 500 * time.Millisecond})
	waitUntil(t, 3*time.Second, "the rescued message to be sent", func() bool {
		return r.status(t, m.ID).Status == store.StatusSent
	})
	t.Logf("rescued and sent %v after the rescuer started", time.Since(start).Round(time.Millisecond))

	// The dead worker's call finally fails; its release must not undo the rescue.
	cancel()
	<-stuck
	got := r.status(t, m.ID)
	if got.Status != store.StatusSent || got.ErrorCode != "" || got.Provider != "p1" {
		t.Fatalf("after the dead worker's late failure: %s code %q provider %q", got.Status, got.ErrorCode, got.Provider)
	}
	if n := r.doubles[0].Count(); n != 1 {
		t.Fatalf("the double accepted %d messages, want 1", n)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A worker counts as dead two beats after its heartbeat expired — after a
// Redis restart live workers beat again within one — and a rescuer never
// takes its own claims.
func TestRescueWaitsOutAGraceAndSparesItsOwnClaims(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	ctx := context.Background()
	rescuer := r.worker(WorkerOptions{HeartbeatTTL: 500 * time.Millisecond}) // dead 700 ms after the last beat
	claims := map[string]store.Message{}
	for i, worker := range []string{rescuer.id, "gone", "back"} {
		if err := r.store.Heartbeat(ctx, worker, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		m := r.queue(t, fmt.Sprintf("+91987654321%d", i), store.PriorityTransactional)
		if _, res, err := r.store.Claim(ctx, m.ID, worker, time.Minute); err != nil || res != store.Claimed {
			t.Fatalf("claim: %v %v", res, err)
		}
		claims[worker] = m
	}
	rescue := func() int {
		t.Helper()
		n, err := rescuer.RescueOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rescue(); n != 0 {
		t.Fatalf("rescued %d claims of workers that just beat", n)
	}
	time.Sleep(800 * time.Millisecond)
	if err := r.store.Heartbeat(ctx, "back", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := rescue(); n != 1 {
		t.Fatalf("rescued %d, want 1: the dead worker's, not its own nor the one that came back", n)
	}
	for worker, want := range map[string]store.Status{rescuer.id: store.StatusSending, "back": store.StatusSending} {
		got := r.status(t, claims[worker].ID)
		if got.Status != want || got.Attempts != 1 {
			t.Fatalf("claim of %s: %s attempts %d", worker, got.Status, got.Attempts)
		}
	}
	if n := rescue(); n != 0 {
		t.Fatalf("a forgotten dead worker was rescued again: %d", n)
	}
}

// A worker killed between asynq's dequeue and its claim leaves a task
// active in asynq and its message queued: a second task sends it.
func TestRescueOfTasksDequeuedButNeverClaimed(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	ctx := context.Background()
	m := r.queue(t, "+919876543210", store.PriorityOTP)

	// Another server takes the task and holds it without claiming.
	holding := make(chan struct{})
	release := make(chan struct{})
	srv := asynq.NewServer(r.conn, asynq.Config{Concurrency: 1, Queues: map[string]int{string(store.PriorityOTP): 1},
		TaskCheckInterval: 10 * time.Millisecond, ShutdownTimeout: time.Millisecond, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeSend, func(ctx context.Context, _ *asynq.Task) error {
		close(holding)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errors.New("let go")
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	defer close(release)
	<-holding
	if err := r.store.Heartbeat(ctx, "killed", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond)

	r.started(t, WorkerOptions{RescueEvery: 50 * time.Millisecond, HeartbeatTTL: 500 * time.Millisecond})
	waitUntil(t, 3*time.Second, "the unclaimed message to be sent", func() bool {
		return r.status(t, m.ID).Status == store.StatusSent
	})
	if n := r.doubles[0].Count(); n != 1 {
		t.Fatalf("the double accepted %d messages, want 1", n)
	}
}

// A claim this worker made whose answer was lost (Redis went away as the
// script ran) leaves the message sending under this worker's own lease.
// The next task for it takes the claim over at once instead of waiting a
// minute for the lease to lapse; while a task of this worker is really on
// the message, another task of it still waits.
func TestOwnStaleClaimTakenOver(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	w := r.worker(WorkerOptions{})
	ctx := context.Background()
	m := r.queue(t, "+919876543210", store.PriorityTransactional)
	if _, res, err := r.store.Claim(ctx, m.ID, w.id, time.Minute); err != nil || res != store.Claimed {
		t.Fatalf("claim as if its answer were lost: %v %v", res, err)
	}
	w.working.Store(m.ID, struct{}{}) // a task of this worker is on it
	if err := w.ProcessSend(ctx, sendTask(m.ID)); err == nil || r.doubles[0].Count() != 0 {
		t.Fatalf("while its own task is on the message: err %v, %d sent; want a wait and nothing sent", err, r.doubles[0].Count())
	}
	w.working.Delete(m.ID)
	if err := w.ProcessSend(ctx, sendTask(m.ID)); err != nil {
		t.Fatalf("the stale claim was not taken over: %v", err)
	}
	if got := r.status(t, m.ID); got.Status != store.StatusSent || r.doubles[0].Count() != 1 {
		t.Fatalf("message is %s, %d sent; want sent once", got.Status, r.doubles[0].Count())
	}
	// Another worker's live lease is still respected.
	m2 := r.queue(t, "+919876543210", store.PriorityTransactional)
	if _, _, err := r.store.Claim(ctx, m2.ID, "someone-else", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := w.ProcessSend(ctx, sendTask(m2.ID)); err == nil || r.doubles[0].Count() != 1 {
		t.Fatalf("another worker's lease: err %v, %d sent", err, r.doubles[0].Count())
	}
}

// A claim of this worker's whose answer was lost, with no task of it on the
// message, is queued again by the rescuer instead of waiting for asynq's
// recovery; claims its tasks are handling, and other workers' live claims,
// are left alone.
func TestRescueOwnStaleClaims(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	w := r.worker(WorkerOptions{})
	ctx := context.Background()
	stale := r.queue(t, "+919876543210", store.PriorityTransactional)
	handled := r.queue(t, "+919876543211", store.PriorityTransactional)
	other := r.queue(t, "+919876543212", store.PriorityTransactional)
	for _, c := range []struct{ id, worker string }{{stale.ID, w.id}, {handled.ID, w.id}, {other.ID, "someone-else"}} {
		if _, res, err := r.store.Claim(ctx, c.id, c.worker, time.Minute); err != nil || res != store.Claimed {
			t.Fatalf("claim %s: %v %v", c.id, res, err)
		}
	}
	w.working.Store(handled.ID, struct{}{})
	if n, err := w.RescueOwnStale(ctx, time.Now().Add(-time.Minute)); err != nil || n != 0 {
		t.Fatalf("claims younger than the cutoff: rescued %d, %v", n, err)
	}
	n, err := w.RescueOwnStale(ctx, time.Now().Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("rescued %d, %v; want only the stale claim", n, err)
	}
	if again, _ := w.RescueOwnStale(ctx, time.Now().Add(time.Second)); again != 0 {
		t.Fatalf("rescued %d more on a second pass", again)
	}
	r.started(t, WorkerOptions{})
	waitStatus(t, r, stale.ID, store.StatusSent)
	for _, id := range []string{handled.ID, other.ID} {
		if got := r.status(t, id); got.Status != store.StatusSending {
			t.Fatalf("message %s is %s: a claim that was not stale was touched", id, got.Status)
		}
	}
}
