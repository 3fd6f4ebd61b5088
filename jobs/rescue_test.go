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
