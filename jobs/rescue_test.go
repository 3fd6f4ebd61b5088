package jobs

import (
	"context"
	"testing"
	"time"

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

	// The dying worker never beats: it claims and hangs in the provider.
	dying := r.worker(WorkerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stuck := make(chan error, 1)
	go func() { stuck <- dying.ProcessSend(ctx, sendTask(m.ID)) }()
	waitUntil(t, 2*time.Second, "the dying worker's call", func() bool { return r.doubles[0].Calls() == 1 })

	start := time.Now()
	r.started(t, WorkerOptions{RescueEvery: 50 * time.Millisecond})
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

// After a Redis restart that outlasted the heartbeat's TTL, live workers
// beat again within one beat: a rescuer waits a grace of two beats before it
// takes their claims, and never takes its own.
func TestRescueWaitsOutAGraceAndSparesItsOwnClaims(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	ctx := context.Background()
	rescuer := r.worker(WorkerOptions{HeartbeatTTL: 500 * time.Millisecond}) // grace 200 ms
	own := r.queue(t, "+919876543210", store.PriorityTransactional)
	other := r.queue(t, "+919876543211", store.PriorityTransactional)
	for _, c := range []struct{ id, worker string }{{own.ID, rescuer.id}, {other.ID, "back-soon"}} {
		if _, res, err := r.store.Claim(ctx, c.id, c.worker, time.Minute); err != nil || res != store.Claimed {
			t.Fatalf("claim: %v %v", res, err)
		}
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
		t.Fatalf("first sighting rescued %d", n)
	}
	if err := r.store.Heartbeat(ctx, "back-soon", time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if n := rescue(); n != 0 {
		t.Fatalf("rescued %d claims of a worker that came back", n)
	}
	if err := r.store.Retire(ctx, "back-soon"); err != nil {
		t.Fatal(err)
	}
	if n := rescue(); n != 0 {
		t.Fatalf("rescued %d before the grace", n)
	}
	time.Sleep(250 * time.Millisecond)
	if n := rescue(); n != 1 {
		t.Fatalf("after the grace rescued %d, want 1 (the other worker's, not its own)", n)
	}
	if got := r.status(t, own.ID); got.Status != store.StatusSending {
		t.Fatalf("own claim: %s", got.Status)
	}
}
