package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDeadMessages(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	dead := queue(t, s, "+919876543210")
	ruled := queue(t, s, "+919876543211")
	if _, err := s.Advance(ctx, dead.ID, Update{Status: StatusFailed, Provider: "primary", ErrorCode: "30008", DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, ruled.ID, Update{Status: StatusFailed, ErrorCode: "opted_out"}); err != nil {
		t.Fatal(err)
	}
	// A late report does not list it twice.
	if _, err := s.Advance(ctx, dead.ID, Update{Status: StatusFailed, ErrorCode: "30008", DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	list, total, err := s.DeadLetters(ctx, 10)
	if err != nil || total != 1 || len(list) != 1 {
		t.Fatalf("dead letters %+v (%d), %v; want the one failed for good", list, total, err)
	}
	d := list[0]
	if d.ID != "msg:"+dead.ID || d.Kind != DeadMessage || d.Ref != dead.ID || d.Template != "security_code" ||
		d.To != "+919876543210" || d.Reason != "30008" || !d.At.Equal(t0) {
		t.Fatalf("dead letter %+v", d)
	}

	// Five admins retry at once: one new message, the old one stays failed.
	var wins atomic.Int32
	var again string
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			id, err := s.RetryDeadLetter(ctx, d.ID)
			switch {
			case err == nil:
				wins.Add(1)
				again = id
			case !errors.Is(err, ErrRetried) && !errors.Is(err, ErrNotFound):
				t.Errorf("retry: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d retries went through, want 1", wins.Load())
	}
	m, err := s.Message(ctx, again)
	if err != nil || m.Status != StatusQueued || m.To != dead.To || m.Body != "Your code is ****" || m.Template != dead.Template {
		t.Fatalf("retried message %+v, %v", m, err)
	}
	if body, err := s.SendBody(ctx, again); err != nil || body != "Your code is 4821" {
		t.Fatalf("retried body %q, %v", body, err)
	}
	if old, _ := s.Message(ctx, dead.ID); old.Status != StatusFailed {
		t.Fatalf("the dead message moved back to %s", old.Status)
	}
	if pending, _ := s.PendingBefore(ctx, t0.Add(time.Minute), 10); !slices.Contains(pending, again) {
		t.Fatalf("retried message not pending (a lost enqueue would lose it): %v", pending)
	}
	if n, err := s.DeadLetterCount(ctx); err != nil || n != 0 {
		t.Fatalf("%d dead letters after the retry, %v", n, err)
	}
	if _, err := s.RetryDeadLetter(ctx, d.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second retry: %v, want ErrNotFound", err)
	}

	// A dead letter whose message expired with the retention is dropped
	// when retried; and listing one forgets those past the retention.
	gone := queue(t, s, "+919876543213")
	if _, err := s.Advance(ctx, gone.ID, Update{Status: StatusFailed, ErrorCode: "30008", DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	s.rdb.Del(ctx, s.messageKey(gone.ID))
	if _, err := s.RetryDeadLetter(ctx, "msg:"+gone.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retry of an expired message: %v, want ErrNotFound", err)
	}
	if n, _ := s.DeadLetterCount(ctx); n != 0 {
		t.Fatalf("%d dead letters after dropping the expired one", n)
	}
	old := queue(t, s, "+919876543214")
	if _, err := s.Advance(ctx, old.ID, Update{Status: StatusFailed, ErrorCode: "30008", DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	clock.Add(s.retention + time.Minute)
	recent := queue(t, s, "+919876543215")
	if _, err := s.Advance(ctx, recent.ID, Update{Status: StatusFailed, ErrorCode: "30008", DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	if list, total, _ := s.DeadLetters(ctx, 10); total != 1 || list[0].Ref != recent.ID {
		t.Fatalf("dead letters past the retention kept: %+v (%d)", list, total)
	}
	if left, _ := s.rdb.HLen(ctx, s.deadInfoKey()).Result(); left != 1 {
		t.Fatalf("%d descriptions kept for 1 dead letter", left)
	}
	s.rdb.Del(ctx, s.deadKey(), s.deadInfoKey())

	// An OTP that was valid for minutes is not sent again after them.
	otp, err := s.CreateMessage(ctx, NewMessage{To: "+919876543212", Template: "kyvs_otp", Language: "en",
		Body: "OTP 123456", Masked: "OTP ******", Encoding: "GSM-7", Segments: 1, Priority: PriorityOTP, ValidFor: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, otp.ID, Update{Status: StatusFailed, ErrorCode: "http_500", DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	clock.Add(4 * time.Minute)
	if _, err := s.RetryDeadLetter(ctx, "msg:"+otp.ID); !errors.Is(err, ErrExpired) {
		t.Fatalf("retry of an expired OTP: %v, want ErrExpired", err)
	}
}

func TestDeadDebts(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustCenter(t, s, testCenter)
	ben := mustBeneficiary(t, s, "+919876543210")
	a := mustBook(t, s, ben.ID, testToday, testCode, testToday) // its slip left owed
	n := SlipNotification(a.ID)
	for i := 1; i < MaxDebtTries; i++ {
		if dead, err := s.DebtFailed(ctx, n, "send appointment_slip: unavailable", false); err != nil || dead {
			t.Fatalf("failure %d: dead=%v, %v", i, dead, err)
		}
	}
	if dead, err := s.DebtFailed(ctx, n, "send appointment_slip: unavailable", false); err != nil || !dead {
		t.Fatalf("failure %d: dead=%v, %v; want a dead letter", MaxDebtTries, dead, err)
	}
	if owed, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10); slices.Contains(owed, n) {
		t.Fatal("a dead debt is still owed: the sweeper would try it for ever")
	}
	list, _, err := s.DeadLetters(ctx, 10)
	if err != nil || len(list) != 1 || list[0].Kind != DeadDebt || list[0].Ref != n || list[0].Tries != MaxDebtTries {
		t.Fatalf("dead letters %+v, %v", list, err)
	}
	if id, err := s.RetryDeadLetter(ctx, list[0].ID); err != nil || id != "" {
		t.Fatalf("retry: %q, %v", id, err)
	}
	if owed, _ := s.OwedBefore(ctx, time.Now(), 10); !slices.Contains(owed, n) {
		t.Fatalf("retried debt not owed: %v", owed)
	}
	// Tries start again; a failure that cannot pass without a fix is dead at once.
	if dead, err := s.DebtFailed(ctx, n, "send appointment_slip: cannot render", true); err != nil || !dead {
		t.Fatalf("permanent failure: dead=%v, %v", dead, err)
	}
	if dead, err := s.DebtFailed(ctx, CancellationNotification(a.ID), "x", true); err != nil || dead {
		t.Fatalf("a debt not owed became a dead letter: %v, %v", dead, err)
	}
}
