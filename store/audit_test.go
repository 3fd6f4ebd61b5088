package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAuditTrail(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	if got, err := s.AuditTrail(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty trail: %v %v", got, err)
	}
	const n = 5
	for i := range n {
		err := s.Audit(ctx, AuditEntry{
			At: time.Unix(1, 0), ActorID: "key_1", ActorName: "ops", Role: RoleAdmin,
			Action: fmt.Sprint("action ", i), Target: fmt.Sprint("ben:", i), Detail: "d",
		})
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Second)
	}
	for _, tc := range []struct {
		limit int
		want  int
	}{
		{1, 1},
		{3, 3},
		{n, n},
		{n + 1, n},
		{1000, n},
	} {
		t.Run(fmt.Sprint("limit ", tc.limit), func(t *testing.T) {
			got, err := s.AuditTrail(ctx, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("%d entries, want %d", len(got), tc.want)
			}
			for j, e := range got {
				i := n - 1 - j // newest first
				want := AuditEntry{
					At: t0.Add(time.Duration(i) * time.Second), ActorID: "key_1", ActorName: "ops", Role: RoleAdmin,
					Action: fmt.Sprint("action ", i), Target: fmt.Sprint("ben:", i), Detail: "d",
				}
				if e != want {
					t.Fatalf("entry %d = %+v, want %+v", j, e, want)
				}
			}
		})
	}
}

func TestAuditTrailZeroLimit(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for range 3 {
		if err := s.Audit(ctx, AuditEntry{Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{0, -1} {
		if got, err := s.AuditTrail(ctx, limit); err != nil || len(got) != 0 {
			t.Fatalf("AuditTrail(%d) = %d entries, %v; want none", limit, len(got), err)
		}
	}
}

func TestAllowResend(t *testing.T) {
	const perHour = 3
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	for i, st := range []struct {
		at      time.Duration // since t0
		subject string
		ok      bool
		wait    time.Duration // when refused
	}{
		{0, "appt:a", true, 0},
		{10 * time.Minute, "appt:a", true, 0},
		{20 * time.Minute, "appt:a", true, 0},
		{20 * time.Minute, "appt:a", false, 40 * time.Minute},
		{20 * time.Minute, "appt:b", true, 0}, // another subject has its own window
		{30 * time.Minute, "appt:a", false, 30 * time.Minute},
		{time.Hour - time.Millisecond, "appt:a", false, time.Millisecond},
		{time.Hour, "appt:a", true, 0}, // the first resend has left the window
		{time.Hour, "appt:a", false, 10 * time.Minute},
		{time.Hour + 10*time.Minute, "appt:a", true, 0},
		{time.Hour + 20*time.Minute, "appt:a", true, 0},
		{time.Hour + 20*time.Minute, "appt:a", false, 40 * time.Minute},
		{time.Hour + 20*time.Minute, "appt:b", true, 0},
		{time.Hour + 20*time.Minute, "appt:b", true, 0}, // its first, at +20m, has just left
		{time.Hour + 20*time.Minute, "appt:b", true, 0},
		{time.Hour + 20*time.Minute, "appt:b", false, time.Hour},
	} {
		clock.mu.Lock()
		clock.now = t0.Add(st.at)
		clock.mu.Unlock()
		ok, wait, err := s.AllowResend(ctx, st.subject, perHour)
		if err != nil {
			t.Fatal(err)
		}
		if ok != st.ok || wait != st.wait {
			t.Fatalf("step %d (%s at +%v): allowed %v wait %v, want %v %v", i+1, st.subject, st.at, ok, wait, st.ok, st.wait)
		}
	}
}

func TestAllowResendBurst(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perHour int
	}{
		{"three an hour", 3},
		{"one an hour", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(t0)
			s := newClockStore(t, clock)
			ctx := context.Background()
			for i := range tc.perHour {
				if ok, _, err := s.AllowResend(ctx, "ben:1", tc.perHour); !ok || err != nil {
					t.Fatalf("resend %d refused: %v", i+1, err)
				}
			}
			ok, wait, err := s.AllowResend(ctx, "ben:1", tc.perHour)
			if ok || err != nil || wait <= 0 || wait > time.Hour {
				t.Fatalf("resend %d: allowed %v wait %v err %v; want refused with 0 < wait <= 1h", tc.perHour+1, ok, wait, err)
			}
			if ok, _, err := s.AllowResend(ctx, "ben:2", tc.perHour); !ok || err != nil {
				t.Fatalf("another subject refused: %v", err)
			}
			clock.Add(30 * time.Minute)
			if ok, _, _ := s.AllowResend(ctx, "ben:1", tc.perHour); ok {
				t.Fatal("allowed again within the hour")
			}
			clock.Add(30*time.Minute + time.Millisecond)
			for i := range tc.perHour {
				if ok, _, err := s.AllowResend(ctx, "ben:1", tc.perHour); !ok || err != nil {
					t.Fatalf("after the hour, resend %d refused: %v", i+1, err)
				}
			}
		})
	}
}
