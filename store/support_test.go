package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAuditSearch(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const asha, ravi = "+919876543210", "+919812345678"
	entries := []AuditEntry{
		{ActorID: "key_a", ActorName: "Helpline A", Action: "resend", MobileE164: asha, Mobile: "+91******3210", Reason: "lost SMS"},
		{ActorID: "key_b", ActorName: "Helpline B", Action: "resend", MobileE164: asha, Mobile: "+91******3210"},
		{ActorID: "key_a", ActorName: "Helpline A", Action: "search", MobileE164: ravi, Mobile: "+91******5678"},
		{ActorID: "key_c", ActorName: "Admin", Action: "create_key"},
	}
	for _, e := range entries {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	actions := func(es []AuditEntry) string {
		var b []string
		for _, e := range es {
			b = append(b, e.ActorID+"/"+e.Action)
		}
		return strings.Join(b, ",")
	}
	for _, tc := range []struct {
		name string
		q    AuditQuery
		want string
	}{
		{"everything", AuditQuery{Limit: 10}, "key_c/create_key,key_a/search,key_b/resend,key_a/resend"},
		{"limit", AuditQuery{Limit: 2}, "key_c/create_key,key_a/search"},
		{"no limit reads nothing", AuditQuery{}, ""},
		{"actor", AuditQuery{ActorID: "key_a", Limit: 10}, "key_a/search,key_a/resend"},
		{"mobile", AuditQuery{Mobile: asha, Limit: 10}, "key_b/resend,key_a/resend"},
		{"mobile and actor", AuditQuery{Mobile: asha, ActorID: "key_a", Limit: 10}, "key_a/resend"},
		{"mobile and limit", AuditQuery{Mobile: asha, Limit: 1}, "key_b/resend"},
		{"unknown mobile", AuditQuery{Mobile: "+919999999999", Limit: 10}, ""},
		{"unknown actor", AuditQuery{ActorID: "key_x", Limit: 10}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AuditSearch(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if actions(got) != tc.want {
				t.Fatalf("got %s, want %s", actions(got), tc.want)
			}
		})
	}
	got, _ := s.AuditSearch(ctx, AuditQuery{Mobile: asha, ActorID: "key_a", Limit: 1})
	if len(got) != 1 || got[0].Reason != "lost SMS" || got[0].Mobile != "+91******3210" || got[0].MobileE164 != "" {
		t.Fatalf("entry = %+v: want the reason and the masked mobile, not the full one", got)
	}
	// Neither the entries nor the key names hold the full mobile.
	keys, _ := s.rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		raw, _ := s.rdb.LRange(ctx, k, 0, -1).Result()
		if strings.Contains(k, asha) || strings.Contains(strings.Join(raw, ""), asha) {
			t.Fatalf("%s holds the full mobile", k)
		}
	}
}

func TestResendsLeft(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	left := func() int {
		t.Helper()
		n, err := s.ResendsLeft(ctx, "appt:A1", 3)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if left() != 3 {
		t.Fatalf("before any resend: %d left", left())
	}
	for i, want := range []int{2, 1, 0} {
		if ok, _, err := s.AllowResend(ctx, "appt:A1", 3); !ok || err != nil {
			t.Fatalf("resend %d refused: %v", i+1, err)
		}
		if got := left(); got != want {
			t.Fatalf("after %d resends: %d left, want %d", i+1, got, want)
		}
		clock.Add(10 * time.Minute)
	}
	if ok, _, _ := s.AllowResend(ctx, "appt:A1", 3); ok || left() != 0 {
		t.Fatal("a fourth resend in the hour was allowed")
	}
	// An hour after the first, one frees up; reading spends nothing.
	clock.Add(31 * time.Minute)
	if left() != 1 || left() != 1 {
		t.Fatalf("an hour after the first resend: %d left, want 1", left())
	}
	if n, _ := s.ResendsLeft(ctx, "appt:other", 3); n != 3 {
		t.Fatalf("another subject has %d left", n)
	}
}

func TestAPIKeys(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	var ids []string
	for _, k := range []APIKey{{Role: RoleSupport, Name: "Helpline"}, {Role: RoleCenter, Name: "PHC", CenterID: "C1"}, {Role: RoleAdmin, Name: "Ops"}} {
		made, _, err := s.CreateAPIKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, made.ID)
		clock.Add(time.Second)
	}
	if err := s.RevokeAPIKey(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	got, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ids[0] || got[0].Name != "Helpline" || got[1].CenterID != "C1" || !got[0].CreatedAt.Equal(t0) {
		t.Fatalf("keys = %+v; want the two unrevoked, oldest first", got)
	}
	revokedAt := clock.Now()
	clock.Add(time.Minute)
	if err := s.RevokeAPIKey(ctx, ids[2]); err != nil { // again: its first time stands
		t.Fatal(err)
	}
	all, err := s.AllAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[2].ID != ids[2] || !all[2].RevokedAt.Equal(revokedAt.Truncate(time.Millisecond)) || !all[0].RevokedAt.IsZero() {
		t.Fatalf("all keys = %+v; want three, the last revoked at %s", all, revokedAt)
	}
}

func TestUSSDSessions(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	const mobile = "+919876543210"
	steps := []USSDStep{
		{SessionID: "ATUid_1", Mobile: mobile, ServiceCode: "*384*12#"},
		{SessionID: "ATUid_1", Mobile: mobile, ServiceCode: "*384*12#", Text: "1", Steps: 1},
		{SessionID: "ATUid_1", Mobile: mobile, ServiceCode: "*384*12#", Text: "1*2", Steps: 2, Ended: true},
		{SessionID: "ATUid_2", Mobile: mobile, ServiceCode: "*384*12#"},
		// The same provider session id from another mobile is another session.
		{SessionID: "ATUid_2", Mobile: "+919812345678", ServiceCode: "*384*12#", Text: "9", Steps: 1},
	}
	for _, st := range steps {
		if err := s.RecordUSSD(ctx, st); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Second)
	}
	if err := s.RecordUSSD(ctx, USSDStep{Mobile: mobile}); err == nil {
		t.Fatal("a step without a session id was recorded")
	}
	got, err := s.USSDSessions(ctx, mobile, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d sessions, want 2: %+v", len(got), got)
	}
	newest, first := got[0], got[1]
	if newest.Text != "" || newest.Ended || !newest.StartedAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("newest = %+v", newest)
	}
	if first.Text != "1*2" || first.Steps != 2 || !first.Ended || !first.StartedAt.Equal(t0) ||
		!first.UpdatedAt.Equal(t0.Add(2*time.Second)) || first.ServiceCode != "*384*12#" {
		t.Errorf("first = %+v", first)
	}
	if strings.Contains(fmt.Sprint(got), "ATUid") {
		t.Errorf("the provider's session id is shown: %+v", got)
	}
	for i := range ussdHistoryLimit + 5 {
		if err := s.RecordUSSD(ctx, USSDStep{SessionID: fmt.Sprint("many", i), Mobile: mobile}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.USSDSessions(ctx, mobile, 1000); len(got) != ussdHistoryLimit {
		t.Fatalf("%d sessions kept, want %d", len(got), ussdHistoryLimit)
	}
}
