package store

import (
	"context"
	"fmt"
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
		// An answer is owed when one is allowed: past the limit none will be sent.
		if got.Owed != (tc.wantAllowed && !tc.wantDup) || got.Replies != nil {
			t.Fatalf("%s: owed %v, replies %v", tc.name, got.Owed, got.Replies)
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
	if len(owed) != 2 {
		t.Fatalf("%d answers owed, want one per stored message a reply was allowed to (2)", len(owed))
	}
	// The answer recorded clears its debt in the same step.
	if _, err := s.CreateMessages(ctx, owed[0], NewMessage{To: mobile, Template: "kw_status", Body: "ok",
		Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10); len(left) != 1 || slices.Contains(left, owed[0]) {
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

// TestReceiveRecordsPreparedReply: a reply built before the step is
// recorded in it, owing nothing, only when the reply would be in its
// language; otherwise the answer is owed as without one.
func TestReceiveRecordsPreparedReply(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	limit := ReplyLimit{Max: 1, Window: time.Hour}
	for i, tc := range []struct {
		name       string
		registered bool
		chose      string // a language the mobile chose before
		eff        Effect
		lang       string
		ifNoChoice bool
		spent      bool // the reply limit was reached before
		wantReply  bool
		wantOwed   bool
	}{
		{"new mobile, default language", false, "", Effect{}, "en", true, false, true, false},
		{"new mobile, prepared only for a choice", false, "", Effect{}, "en", false, false, false, true},
		{"registered: the beneficiary's language counts", true, "", Effect{}, "en", true, false, false, true},
		{"chose another language", false, "mr", Effect{}, "en", true, false, false, true},
		{"chose this language", true, "hi", Effect{}, "hi", false, false, true, false},
		{"the keyword chooses it", true, "mr", Effect{Language: "hi"}, "hi", false, false, true, false},
		{"past the reply limit", false, "", Effect{}, "en", true, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mobile := fmt.Sprintf("+9198765%05d", i)
			if tc.registered {
				mustBeneficiary(t, s, mobile)
			}
			if tc.chose != "" {
				if err := s.SetMobileLanguage(ctx, mobile, tc.chose); err != nil {
					t.Fatal(err)
				}
			}
			if tc.spent {
				if _, err := s.Receive(ctx, Inbound{Provider: "primary", ProviderMessageID: "SMfirst" + mobile, From: mobile,
					To: "+15005550006", Body: "HELP", OwesReply: true}, Effect{}, limit); err != nil {
					t.Fatal(err)
				}
			}
			reply := &PreparedReply{Language: tc.lang, IfNoChoice: tc.ifNoChoice, Messages: []NewMessage{{To: mobile,
				Template: "kw_help", Language: tc.lang, Body: "Send STATUS", Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}}}
			in := Inbound{Provider: "primary", ProviderMessageID: "SM" + mobile, From: mobile, To: "+15005550006", Body: "HELP",
				Encoding: "GSM-7", Segments: 1, OwesReply: true, Reply: reply}
			got, err := s.Receive(ctx, in, tc.eff, limit)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got.Replies) == 1) != tc.wantReply || got.Owed != tc.wantOwed {
				t.Fatalf("replies %d owed %v, want reply %v owed %v", len(got.Replies), got.Owed, tc.wantReply, tc.wantOwed)
			}
			owed, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 100)
			if slices.Contains(owed, ReplyNotification(got.Message.ID)) != tc.wantOwed {
				t.Fatalf("owed entries %v, want ours %v", owed, tc.wantOwed)
			}
			pending, _ := s.PendingBefore(ctx, time.Now().Add(time.Hour), 1000)
			if tc.wantReply {
				m, err := s.Message(ctx, got.Replies[0].ID)
				if err != nil || m.Status != StatusQueued || m.To != mobile || m.Body != "Send STATUS" || m.Direction != "out" {
					t.Fatalf("recorded reply %+v %v", m, err)
				}
				if !slices.Contains(pending, m.ID) {
					t.Fatal("the recorded reply is not pending: the sweeper would not send it if its task were lost")
				}
				hist, _ := s.MessagesByMobile(ctx, mobile, 10)
				if len(hist) == 0 || hist[0].ID != m.ID {
					t.Fatalf("history %v: the reply is not its newest entry", hist)
				}
			}
			// A provider's retry is a duplicate: no second reply.
			again, err := s.Receive(ctx, in, tc.eff, limit)
			if err != nil || !again.Duplicate || again.Replies != nil || again.Owed {
				t.Fatalf("retry: %+v %v", again, err)
			}
		})
	}
	// A prepared reply must go to the sender.
	if _, err := s.Receive(ctx, Inbound{Provider: "primary", ProviderMessageID: "SMx", From: "+919876500999", To: "+15005550006",
		Body: "HELP", OwesReply: true, Reply: &PreparedReply{Language: "en", Messages: []NewMessage{{To: "+919876500998",
			Template: "kw_help", Body: "x", Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}}}}, Effect{}, limit); err == nil {
		t.Fatal("a prepared reply to another mobile was accepted")
	}
}
