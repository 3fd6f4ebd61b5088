package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestReceive(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const mobile = "+919876543210"
	one := mustBeneficiary(t, s, mobile)
	two := mustBeneficiary(t, s, mobile)
	limit := ReplyLimit{Max: 2, Window: time.Hour}
	in := func(sid string) Inbound {
		return Inbound{Provider: "primary", ProviderMessageID: sid, From: mobile, To: "+15005550006", Body: "STATUS",
			Encoding: "GSM-7", Segments: 1, OwesReply: true}
	}
	stop, start := true, false
	for _, tc := range []struct {
		name        string
		sid         string
		eff         Effect
		wantDup     bool
		wantAllowed bool
		wantPrefs   MobilePrefs
	}{
		{"first", "SM1", Effect{}, false, true, MobilePrefs{}},
		{"provider retry", "SM1", Effect{Language: "mr"}, true, false, MobilePrefs{}},
		{"language chosen, people read", "SM2", Effect{Language: "mr", People: true}, false, true, MobilePrefs{Language: "mr"}},
		{"stop past the limit still takes effect", "SM3", Effect{OptOut: &stop}, false, false, MobilePrefs{Language: "mr", OptedOut: true}},
		{"start, no people read past the limit", "SM4", Effect{OptOut: &start, People: true}, false, false, MobilePrefs{Language: "mr"}},
	} {
		got, err := s.Receive(ctx, in(tc.sid), tc.eff, limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Duplicate != tc.wantDup || got.Allowed != tc.wantAllowed {
			t.Fatalf("%s: duplicate %v allowed %v, want %v %v", tc.name, got.Duplicate, got.Allowed, tc.wantDup, tc.wantAllowed)
		}
		if tc.wantDup {
			continue
		}
		if got.Prefs != tc.wantPrefs || !slices.Equal(got.BeneficiaryIDs, []string{one.ID, two.ID}) {
			t.Fatalf("%s: prefs %+v, beneficiaries %v; want %+v, [%s %s]", tc.name, got.Prefs, got.BeneficiaryIDs, tc.wantPrefs, one.ID, two.ID)
		}
		// The people come back only when asked for and a reply is allowed,
		// with their records as the registry reads them.
		if want := tc.eff.People && tc.wantAllowed; (len(got.People) == 2) != want || (!want && got.People != nil) {
			t.Fatalf("%s: people %+v", tc.name, got.People)
		}
		for i, p := range got.People {
			b, err := s.Beneficiary(ctx, got.BeneficiaryIDs[i])
			if err != nil || p.ID != b.ID || p.Name != b.Name || p.Mobile != mobile || len(p.Doses) != len(b.Doses) || p.Appointment != nil {
				t.Fatalf("%s: person %d %+v, registry %+v (%v)", tc.name, i, p, b, err)
			}
		}
		if prefs, _ := s.MobilePrefs(ctx, mobile); prefs != tc.wantPrefs {
			t.Fatalf("%s: stored prefs %+v, want %+v", tc.name, prefs, tc.wantPrefs)
		}
	}
	hist, err := s.MessagesByMobile(ctx, mobile, 10)
	if err != nil || len(hist) != 3 { // the history keeps 3 in this store
		t.Fatalf("history %d (%v)", len(hist), err)
	}
	owed, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10)
	if len(owed) != 4 {
		t.Fatalf("%d answers owed, want one per stored message (4)", len(owed))
	}
	// The answer recorded clears its debt in the same step.
	if _, err := s.CreateMessages(ctx, owed[0], NewMessage{To: mobile, Template: "kw_status", Body: "ok",
		Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10); len(left) != 3 || slices.Contains(left, owed[0]) {
		t.Fatalf("owed after settling %s: %v", owed[0], left)
	}
	// A sender that is not a mobile is stored and nothing else.
	bot := Inbound{Provider: "primary", ProviderMessageID: "SM9", From: "VM-BOTSMS", To: "+15005550006", Body: "hi"}
	got, err := s.Receive(ctx, bot, Effect{}, limit)
	if err != nil || got.Duplicate || got.Allowed || got.BeneficiaryIDs != nil {
		t.Fatalf("bot: %+v %v", got, err)
	}
	if m, err := s.Message(ctx, got.Message.ID); err != nil || m.Direction != "in" || m.From != "VM-BOTSMS" {
		t.Fatalf("bot's message %+v %v", m, err)
	}
}
