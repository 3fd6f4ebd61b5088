package store

import (
	"context"
	"testing"
	"time"
)

func TestOrphansAreClaimsOfDeadWorkers(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if err := s.Heartbeat(ctx, "alive", time.Minute); err != nil {
		t.Fatal(err)
	}
	byLive := queue(t, s, "+919876543210")
	byDead := queue(t, s, "+919876543211")
	finished := queue(t, s, "+919876543212")
	for _, c := range []struct {
		m      Message
		worker string
	}{{byLive, "alive"}, {byDead, "dead"}, {finished, "dead"}} {
		if _, res, err := s.Claim(ctx, c.m.ID, c.worker, time.Minute); err != nil || res != Claimed {
			t.Fatalf("claim %s: %v %v", c.m.ID, res, err)
		}
	}
	if _, err := s.Advance(ctx, finished.ID, Update{Status: StatusSent, Provider: "p1", ProviderMessageID: "SM1"}); err != nil {
		t.Fatal(err)
	}

	orphans, err := s.Orphans(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 1 || orphans[0].ID != byDead.ID || orphans[0].Worker != "dead" ||
		orphans[0].Priority != PriorityTransactional || orphans[0].Attempts != 1 {
		t.Fatalf("orphans = %+v, want only %s of worker dead", orphans, byDead.ID)
	}

	// The lease of the dead worker still stands: a new claim waits…
	if _, res, _ := s.Claim(ctx, byDead.ID, "alive", time.Minute); res != Busy {
		t.Fatalf("claim before rescue = %v, want Busy", res)
	}
	// …until the claim is rescued, once.
	if ok, err := s.Rescue(ctx, orphans[0]); err != nil || !ok {
		t.Fatalf("rescue: %v %v", ok, err)
	}
	if ok, _ := s.Rescue(ctx, orphans[0]); ok {
		t.Fatal("the same claim was rescued twice")
	}
	if _, res, _ := s.Claim(ctx, byDead.ID, "alive", time.Minute); res != Claimed {
		t.Fatalf("claim after rescue = %v, want Claimed", res)
	}
	if orphans, _ := s.Orphans(ctx, 100); len(orphans) != 0 {
		t.Fatalf("orphans after rescue = %+v", orphans)
	}

	// The dead worker's late failure does not touch the rescued message.
	if err := s.Release(ctx, byDead.ID, "dead", "p1", "timeout"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(ctx, byDead.ID)
	if got.ErrorCode != "" {
		t.Fatalf("a stale release wrote error %q over the rescuer's claim", got.ErrorCode)
	}
	if _, res, _ := s.Claim(ctx, byDead.ID, "other", time.Minute); res != Busy {
		t.Fatalf("a stale release dropped the rescuer's lease: claim = %v", res)
	}

	// A worker whose heartbeat came back is not robbed.
	back := queue(t, s, "+919876543213")
	if _, _, err := s.Claim(ctx, back.ID, "late", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "late", time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Rescue(ctx, Orphan{ID: back.ID, Worker: "late"}); ok {
		t.Fatal("rescued a claim of a live worker")
	}
	if err := s.Retire(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if orphans, _ := s.Orphans(ctx, 100); len(orphans) != 1 || orphans[0].ID != back.ID {
		t.Fatalf("after retire, orphans = %+v, want %s", orphans, back.ID)
	}
	inflight, _ := s.oldestInShards(ctx, s.inflightKey, "+inf", 100)
	if want := []string{byLive.ID, byDead.ID, back.ID}; !sameSet(inflight, want) {
		t.Fatalf("in flight: %v, want %v", inflight, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

// RescueOwn drops a worker's own stale lease only as it was listed: a
// claim taken again meanwhile (a new lease) is left alone.
func TestRescueOwn(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	m := queue(t, s, "+919876543210")
	if _, res, err := s.Claim(ctx, m.ID, "w1", time.Minute); err != nil || res != Claimed {
		t.Fatalf("claim: %v %v", res, err)
	}
	listed, err := s.StaleOwnClaims(ctx, "w1", time.Now().Add(time.Second), 10)
	if err != nil || len(listed) != 1 || listed[0].ID != m.ID {
		t.Fatalf("own claims = %+v, %v", listed, err)
	}
	if others, _ := s.StaleOwnClaims(ctx, "w2", time.Now().Add(time.Second), 10); len(others) != 0 {
		t.Fatalf("w2's own claims = %+v", others)
	}
	time.Sleep(2 * time.Millisecond) // the next lease must differ from the listed one
	if _, res, _ := s.ClaimStale(ctx, m.ID, "w1", time.Minute); res != Claimed {
		t.Fatalf("claim taken again: %v", res)
	}
	if ok, err := s.RescueOwn(ctx, listed[0]); err != nil || ok {
		t.Fatalf("rescue of a lease replaced meanwhile = %v, %v; want false", ok, err)
	}
	listed, _ = s.StaleOwnClaims(ctx, "w1", time.Now().Add(time.Second), 10)
	if ok, err := s.RescueOwn(ctx, listed[0]); err != nil || !ok {
		t.Fatalf("rescue of the current lease = %v, %v", ok, err)
	}
	if _, res, _ := s.Claim(ctx, m.ID, "w2", time.Minute); res != Claimed {
		t.Fatalf("after the rescue another worker's claim = %v, want Claimed", res)
	}
}
