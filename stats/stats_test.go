package stats

import (
	"context"
	"testing"
	"time"

	"sandesh/internal/redistest"
)

// testDB is this package's Redis database in tests.
const testDB = 9

func TestCountsReachRedis(t *testing.T) {
	rdb := redistest.New(t, testDB)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 8, 35, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	ist := time.FixedZone("IST", 5*3600+1800)
	// Two processes count; the dashboard reads their sum.
	web, worker := New(rdb, "t:", ist, clock), New(rdb, "t:", ist, clock)
	web.Status("appointment_slip", "queued", "")
	web.Status("appointment_slip", "delivered", "primary")
	for range 3 {
		worker.Status("appointment_slip", "sent", "primary")
		worker.Segments("appointment_slip", 2)
	}
	worker.Status("dose_confirmation", "failed", "secondary")
	now = now.Add(-2 * time.Minute) // counted two minutes ago
	worker.Status("dose_confirmation", "sent", "primary")
	now = now.Add(2 * time.Minute)
	if got, _ := web.LastMinutes(ctx, 5); len(got) != 0 {
		t.Fatalf("counts in Redis before a flush: %v", got)
	}
	for _, c := range []*Counter{web, worker} {
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := web.LastMinutes(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	p := got["primary"]
	if len(p) != 5 || p[4].Counts["sent"] != 3 || p[4].Counts["delivered"] != 1 || p[2].Counts["sent"] != 1 ||
		!p[4].Start.Equal(now.Truncate(time.Minute)) || p[0].Counts["sent"] != 0 {
		t.Fatalf("primary's minutes: %+v", p)
	}
	if s := got["secondary"]; s[4].Counts["failed"] != 1 {
		t.Fatalf("secondary's minutes: %+v", s)
	}
	if _, ok := got[""]; ok {
		t.Fatal("a status before any provider is counted under a provider")
	}
	today, err := worker.Today(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(today) != 2 || today[0] != (TemplateDay{Template: "appointment_slip", SMS: 3, Segments: 6}) ||
		today[1] != (TemplateDay{Template: "dose_confirmation", SMS: 1}) {
		t.Fatalf("today: %+v", today)
	}
	// A second flush adds nothing twice.
	if err := worker.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := worker.Today(ctx); again[0].SMS != 3 {
		t.Fatalf("a second flush counted again: %+v", again)
	}
	if ttl := rdb.TTL(ctx, "t:stats:day:2026-11-23").Val(); ttl < 7*24*time.Hour {
		t.Errorf("a day's counts are kept %v", ttl)
	}
	if ttl := rdb.TTL(ctx, worker.keyOfMinute(now.Unix()/60)).Val(); ttl < 2*time.Hour || ttl > 3*time.Hour {
		t.Errorf("a minute's counts are kept %v", ttl)
	}
}

func TestFlushKeepsCountsWhenRedisFails(t *testing.T) {
	rdb := redistest.New(t, testDB)
	ctx := context.Background()
	c := New(rdb, "t:", time.UTC, nil)
	c.Status("security_code", "sent", "primary")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Flush(cancelled); err == nil {
		t.Fatal("a flush that could not reach Redis said it did")
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.LastMinutes(ctx, 1)
	if err != nil || got["primary"][0].Counts["sent"] != 1 {
		t.Fatalf("the count kept for the next flush: %+v, %v", got, err)
	}
}

func TestBreakerChanges(t *testing.T) {
	rdb := redistest.New(t, testDB)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	c := New(rdb, "t:", time.UTC, func() time.Time { return at })
	if err := c.BreakerChanged(ctx, "primary", "open"); err != nil {
		t.Fatal(err)
	}
	got, err := c.BreakerChanges(ctx)
	if err != nil || got["primary"].State != "open" || !got["primary"].At.Equal(at) {
		t.Fatalf("%+v, %v", got, err)
	}
	var nothing *Counter // a process without a dashboard counts nothing
	nothing.Status("x", "sent", "p")
	nothing.Segments("x", 1)
	if err := nothing.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}
