package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/clustertest"
)

// TestEveryStepOnACluster walks the store's steps, in the order a
// citizen's day takes them, on a real Redis Cluster of three masters
// (internal/clustertest): a Lua step or multi-key command whose keys span
// two hash slots is refused there with CROSSSLOT — which neither one
// Redis nor miniredis would say, so only this test catches a step that
// lost its shard tag. The citizens' mobiles sit on the three masters, and
// each step's result is checked, not only its error: a step that ran on
// the wrong keys would answer wrongly.
//
// The subtests share the cluster and build on one another (a booking is
// verified, resent, dosed…); the few that read a list shared by everybody
// (pending, owed, orphans, dead letters) look for their own entries.
func TestEveryStepOnACluster(t *testing.T) {
	cl := clustertest.Start(t)
	rdb := cl.Client()
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	clock := newTestClock(t0)
	s := newClusterStore(t, rdb, clock, Options{})
	mobiles := mobilesOnEveryMaster(t, cl, s)

	var (
		asha, ravi, meena Beneficiary   // on mobiles[0], [1] and [2]
		ashaAppt          Appointment   // booked with a slip, then dosed with its code
		ashaCode          = testCode    // the code as the resends leave it
		raviAppt          Appointment   // the booking Ravi keeps: the inbound and USSD steps read it back
		meenaDebt         string        // the confirmation owed for Meena's first dose
		raviDebt          string        // the cancellation SMS owed for Ravi's second booking
		queued            []Message     // one per mobile, queued: claimed, then moved on
		dosed             []string      // every beneficiary with a dose, for ReindexDue
		reminded          []Beneficiary // due on dueDay, on mobiles[0], [1] and [2]
	)
	const dueDay = "2027-01-29" // the reminders' day: COVAXIN given on 2027-01-01

	t.Run("a step over two shards is refused", func(t *testing.T) {
		// The guard the rest relies on: the cluster refuses a step whose
		// keys are of two shards, through the store's own paths — alone, and
		// in a pipeline shared with another step (the batcher's), where the
		// refusal must not hide behind its neighbour's success.
		if !s.cluster {
			t.Fatal("New did not take the cluster client for one")
		}
		one, two := shardOfMobile(mobiles[0]), shardOfMobile(mobiles[1]) // on two masters
		script := redis.NewScript(`for _, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1]) end return #KEYS`)
		across := []string{s.KeyOf("guard", one+"1"), s.KeyOf("guard", two+"1")}
		within := []string{s.KeyOf("guard", one+"1"), s.KeyOf("guard", one+"2")}
		if err := s.sendPath(ctx, script, across, "x").Err(); !isCrossSlot(err) {
			t.Fatalf("a step over shards %s and %s: %v, want CROSSSLOT", one, two, err)
		}
		cmds := s.sendAll(ctx, []scriptCall{{script: script, keys: across, args: []any{"y"}}, {script: script, keys: within, args: []any{"y"}}})
		if err := cmds[0].Err(); !isCrossSlot(err) {
			t.Fatalf("a step over two shards in a pipeline: %v, want CROSSSLOT", err)
		}
		if n, err := cmds[1].Int(); err != nil || n != 2 {
			t.Fatalf("a step within one shard beside it: %d, %v", n, err)
		}
		if n := rdb.Exists(ctx, across[1]).Val(); n != 0 {
			t.Fatal("a refused step wrote")
		}
		// So a batch is cut into one step per shard.
		if groups := s.stepGroups([]string{one + "a", two + "a", one + "b"}); fmt.Sprint(groups) != "[[0 2] [1]]" {
			t.Fatalf("step groups %v, want one per shard", groups)
		}
	})

	t.Run("register", func(t *testing.T) {
		// Without an idempotency key: one beneficiary on each master's mobile.
		for i, p := range []*Beneficiary{&asha, &ravi, &meena} {
			*p = mustBeneficiary(t, s, mobiles[i])
			if shardOfID(p.ID) != shardOfMobile(mobiles[i]) {
				t.Fatalf("%s registered in shard %s, its mobile's is %s", p.ID, shardOfID(p.ID), shardOfMobile(mobiles[i]))
			}
		}
		// One read over three masters, in the order asked.
		got, err := s.Beneficiaries(ctx, []string{meena.ID, asha.ID, ravi.ID})
		mustStep(t, "read beneficiaries", err)
		if len(got) != 3 || got[0].ID != meena.ID || got[1].Mobile != mobiles[0] || got[2].Name != ravi.Name {
			t.Fatalf("read %+v", got)
		}
		// With a key: the answer is kept in the registration's step, and a
		// repeat gets it back without registering anybody.
		kept := testKept(func(b Beneficiary) string { return b.ID })
		son := Beneficiary{Name: "Arjun", Mobile: mobiles[0], BirthYear: 1990, Gender: "M", Language: "hi"}
		second, err := s.CreateBeneficiaryOnce(ctx, son, 4, idemKey("reg-1", "fp-1"), kept)
		mustStep(t, "register with a key", err)
		_, err = s.CreateBeneficiaryOnce(ctx, son, 4, idemKey("reg-1", "fp-1"), kept)
		if r := answered(t, err); r.Status != 201 || string(r.Body) != `{"id":"`+second.ID+`"}` {
			t.Fatalf("repeat answered %d %s", r.Status, r.Body)
		}
		if _, err := s.CreateBeneficiaryOnce(ctx, son, 4, idemKey("reg-1", "fp-2"), kept); !errors.Is(err, ErrIdempotencyMismatch) {
			t.Fatalf("the key reused for another request: %v", err)
		}
		// A full mobile's refusal is kept too.
		if _, err := s.CreateBeneficiaryOnce(ctx, son, 2, idemKey("reg-2", "fp-3"), kept); !errors.Is(err, ErrMobileLimit) {
			t.Fatalf("a third on a mobile allowed two: %v", err)
		}
		_, err = s.CreateBeneficiaryOnce(ctx, son, 2, idemKey("reg-2", "fp-3"), kept)
		if r := answered(t, err); r.Status != 409 {
			t.Fatalf("repeat of the refusal answered %d %s", r.Status, r.Body)
		}
		list, err := s.BeneficiariesByMobile(ctx, mobiles[0])
		mustStep(t, "beneficiaries of a mobile", err)
		if len(list) != 2 || list[0].ID != asha.ID || list[1].ID != second.ID {
			t.Fatalf("on %s: %+v, want Asha and her son", mobiles[0], list)
		}
		if p, err := s.Profile(ctx, second.ID); err != nil || p.Name != "Arjun" {
			t.Fatalf("profile %+v, %v", p, err)
		}
	})

	t.Run("centres", func(t *testing.T) {
		// A centre and the answer kept for its key share the centres' slot.
		kept := testKept(func(c Center) string { return c.ID })
		phc := Center{ID: testCenter, Name: "PHC " + testCenter, District: "Pune", State: "Maharashtra", Pincode: "411001"}
		_, err := s.CreateCenterOnce(ctx, phc, idemKey("ctr-1", "fp-1"), kept)
		mustStep(t, "create a centre with a key", err)
		_, err = s.CreateCenterOnce(ctx, phc, idemKey("ctr-1", "fp-1"), kept)
		if r := answered(t, err); r.Status != 201 || string(r.Body) != `{"id":"`+testCenter+`"}` {
			t.Fatalf("repeat answered %d %s", r.Status, r.Body)
		}
		if _, err := s.CreateCenterOnce(ctx, Center{ID: testCenter, Name: "Another"}, nil, nil); !errors.Is(err, ErrExists) {
			t.Fatalf("a taken id: %v", err)
		}
		if c, err := s.Center(ctx, testCenter); err != nil || c.Name != phc.Name || c.Pincode != phc.Pincode {
			t.Fatalf("centre %+v, %v", c, err)
		}
		mustStep(t, "centre exists", s.CenterExists(ctx, testCenter))
		if c, err := s.KnownCenter(ctx, testCenter); err != nil || c.Name != phc.Name {
			t.Fatalf("known centre %+v, %v", c, err)
		}
		mustCenter(t, s, "C002")
	})

	t.Run("book", func(t *testing.T) {
		// The booking, its slip and the answer kept for its key: one step.
		idem := &IdempotencyKey{Scope: "center POST /v1/appointments", Key: "book-1", Fingerprint: "fp-1", TTL: time.Hour}
		want := Appointment{BeneficiaryID: asha.ID, CenterID: testCenter, Date: testToday, Slot: "09:00-11:00", Dose: 1}
		a, slip, err := s.Book(ctx, want, testCode, testToday, slipTo(mobiles[0]), idem, bookAnswers)
		mustStep(t, "book with a slip and a key", err)
		if shardOfID(a.ID) != shardOfID(asha.ID) || slip == "" {
			t.Fatalf("booked %+v with slip %q", a, slip)
		}
		m, err := s.Message(ctx, slip)
		if err != nil || m.To != mobiles[0] || m.Template != "appointment_slip" || m.Status != StatusQueued || strings.Contains(m.Body, testCode) {
			t.Fatalf("slip %+v, %v", m, err)
		}
		if body, err := s.SendBody(ctx, slip); err != nil || !strings.Contains(body, testCode) {
			t.Fatalf("the slip sends %q, %v", body, err)
		}
		if !slices.Contains(pendingNow(t, s, clock), slip) {
			t.Fatal("the slip is not pending: a lost enqueue would lose it")
		}
		_, _, err = s.Book(ctx, want, testCode, testToday, slipTo(mobiles[0]), idem, bookAnswers)
		if r := answered(t, err); string(r.Body) != `{"id":"`+a.ID+`","slip":"`+slip+`"}` {
			t.Fatalf("repeat answered %d %s", r.Status, r.Body)
		}
		if _, err := s.BookAppointment(ctx, want, otherCode, testToday); !errors.Is(err, ErrAlreadyBooked) {
			t.Fatalf("a second active booking: %v", err)
		}
		got, err := s.Appointment(ctx, a.ID)
		if err != nil || got.Status != AppointmentBooked || got.CenterID != testCenter || got.BeneficiaryID != asha.ID {
			t.Fatalf("appointment %+v, %v", got, err)
		}
		if b, err := s.Beneficiary(ctx, asha.ID); err != nil || b.ActiveAppointment != a.ID || b.ActiveDate != testToday {
			t.Fatalf("beneficiary %+v, %v", b, err)
		}
		if code, err := s.SecurityCode(ctx, a.ID); err != nil || code != testCode {
			t.Fatalf("code %q, %v", code, err)
		}
		ashaAppt = a
	})

	t.Run("verify code", func(t *testing.T) {
		// In order: a wrong code spends an attempt, the right one passes,
		// another centre learns nothing.
		for _, tc := range []struct {
			code, center string
			want         error
		}{
			{otherCode, testCenter, &CodeMismatchError{AttemptsLeft: MaxCodeAttempts - 1}},
			{testCode, testCenter, nil},
			{testCode, "C002", ErrWrongCenter},
		} {
			err := s.VerifyCode(ctx, CodeCheck{AppointmentID: ashaAppt.ID, BeneficiaryID: asha.ID, CenterID: tc.center, Code: tc.code, Today: testToday})
			var mismatch *CodeMismatchError
			if want, ok := tc.want.(*CodeMismatchError); ok {
				if !errors.As(err, &mismatch) || *mismatch != *want {
					t.Fatalf("code %s at %s: %v, want %v", tc.code, tc.center, err, tc.want)
				}
				continue
			}
			if isCrossSlot(err) || !errors.Is(err, tc.want) {
				t.Fatalf("code %s at %s: %v, want %v", tc.code, tc.center, err, tc.want)
			}
		}
	})

	t.Run("resend code", func(t *testing.T) {
		code, wait, err := s.ResendCode(ctx, ashaAppt.ID, 5)
		mustStep(t, "resend code", err)
		if code != testCode || wait != 0 {
			t.Fatalf("resend code: %q, wait %v", code, wait)
		}
		// Support's resend of the slip: the limit, the message and the
		// kept answer in one step; then one that issues a new code.
		render := func(src ResendSource) (NewMessage, error) {
			nm, err := resendSMS(src)
			nm.To = mobiles[0]
			return nm, err
		}
		of := ResendOf{AppointmentID: ashaAppt.ID, Subject: "appt:" + ashaAppt.ID, PerHour: 5,
			Idempotency: &IdempotencyKey{Scope: "support POST /v1/support/resend", Key: "resend-1", Fingerprint: "fp-1", TTL: time.Hour}}
		r, err := s.Resend(ctx, of, render, resendKept)
		mustStep(t, "resend the slip", err)
		if body, err := s.SendBody(ctx, r.Message.ID); err != nil || body != "Code "+testCode+" for "+testToday+" 09:00-11:00" {
			t.Fatalf("resent %q, %v", body, err)
		}
		_, err = s.Resend(ctx, of, render, resendKept)
		if a := answered(t, err); string(a.Body) != `{"message_id":"`+r.Message.ID+`"}` {
			t.Fatalf("repeat answered %d %s", a.Status, a.Body)
		}
		fresh := of
		fresh.NewCode = otherCode
		fresh.Idempotency = &IdempotencyKey{Scope: of.Idempotency.Scope, Key: "resend-2", Fingerprint: "fp-2", TTL: time.Hour}
		r, err = s.Resend(ctx, fresh, render, resendKept)
		mustStep(t, "resend with a new code", err)
		if body, _ := s.SendBody(ctx, r.Message.ID); !strings.Contains(body, otherCode) {
			t.Fatalf("resent %q, want the new code", body)
		}
		if code, err := s.SecurityCode(ctx, ashaAppt.ID); err != nil || code != otherCode {
			t.Fatalf("code after a new one: %q, %v", code, err)
		}
		ashaCode = otherCode
		if left, err := s.ResendsLeft(ctx, of.Subject, 5); err != nil || left != 2 {
			t.Fatalf("%d resends left, %v; want 2 (one code, two slips)", left, err)
		}
	})

	t.Run("record doses", func(t *testing.T) {
		// Booked: the code, the dose, the appointment completed, the
		// confirmation and the kept outcome in one step; its repeat replays.
		nd := NewDose{BeneficiaryID: asha.ID, Vaccine: "COVISHIELD", Batch: "B1", Date: testToday, Mobile: mobiles[0],
			Check:       &CodeCheck{AppointmentID: ashaAppt.ID, BeneficiaryID: asha.ID, CenterID: testCenter, Code: ashaCode, Today: testToday},
			Idempotency: &IdempotencyKey{Scope: "center POST /v1/doses", Key: "dose-1", Fingerprint: "fp-1", TTL: time.Hour}}
		out, err := s.RecordDose(ctx, nd, confirmTo(mobiles[0]))
		mustStep(t, "record a booked dose", err)
		if out.Number != 1 || out.CenterID != testCenter || out.Course != 2 || out.Owed || out.Replayed || shardOfID(out.CertificateID) != shardOfID(asha.ID) {
			t.Fatalf("dose %+v", out)
		}
		if m, err := s.Message(ctx, out.MessageID); err != nil || m.To != mobiles[0] || m.Body != "dose 1 full=false cert "+out.CertificateID {
			t.Fatalf("confirmation %+v, %v", m, err)
		}
		if a, _ := s.Appointment(ctx, ashaAppt.ID); a.Status != AppointmentCompleted {
			t.Fatalf("appointment %s after its dose", a.Status)
		}
		if b, _ := s.Beneficiary(ctx, asha.ID); len(b.Doses) != 1 || b.Doses[0].AppointmentID != ashaAppt.ID || b.ActiveAppointment != "" {
			t.Fatalf("beneficiary after the dose: %+v", b)
		}
		again, err := s.RecordDose(ctx, nd, confirmTo(mobiles[0]))
		mustStep(t, "repeat a keyed dose", err)
		if !again.Replayed || again.CertificateID != out.CertificateID || again.MessageID != out.MessageID || again.Number != 1 {
			t.Fatalf("replay %+v, want %+v", again, out)
		}
		dosed = append(dosed, asha.ID)

		// Walk-ins. The first without the mobile: its confirmation is left
		// owed (nothing of the history is touched). The second completes
		// the course and is confirmed in its step.
		days := courseDays(t, 2)
		first, err := s.RecordDose(ctx, NewDose{BeneficiaryID: meena.ID, Vaccine: "COVISHIELD", Batch: "B2", CenterID: testCenter, Date: days[0]}, nil)
		mustStep(t, "record a walk-in without the mobile", err)
		if first.Number != 1 || !first.Owed || first.MessageID == "" {
			t.Fatalf("walk-in %+v", first)
		}
		meenaDebt = ConfirmationNotification(meena.ID, first.CertificateID, first.MessageID)
		if owed := owedNow(t, s, clock); !slices.Contains(owed, meenaDebt) {
			t.Fatalf("owed %v, want %s", owed, meenaDebt)
		}
		second, err := s.RecordDose(ctx, NewDose{BeneficiaryID: meena.ID, Vaccine: "COVISHIELD", Batch: "B2", CenterID: testCenter,
			Date: days[1], Mobile: mobiles[2]}, confirmTo(mobiles[2]))
		mustStep(t, "record a walk-in confirmed in its step", err)
		if m, err := s.Message(ctx, second.MessageID); err != nil || second.Number != 2 || m.Body != "dose 2 full=true cert "+second.CertificateID {
			t.Fatalf("second dose %+v, confirmation %+v, %v", second, m, err)
		}
		if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: meena.ID, Vaccine: "COVISHIELD", CenterID: testCenter, Date: days[1]}, nil); !errors.Is(err, ErrDosedToday) {
			t.Fatalf("a second dose the same day: %v", err)
		}
		if b, _ := s.Beneficiary(ctx, meena.ID); len(b.Doses) != 2 || b.NextDue != "" {
			t.Fatalf("after a complete course: %+v", b)
		}
		dosed = append(dosed, meena.ID)
	})

	t.Run("resend confirmation", func(t *testing.T) {
		of := ResendOf{BeneficiaryID: meena.ID, Subject: "ben:" + meena.ID, PerHour: 3}
		r, err := s.Resend(ctx, of, resendSMS, nil)
		mustStep(t, "resend a confirmation", err)
		if m, err := s.Message(ctx, r.Message.ID); err != nil || m.To != mobiles[2] || m.Body != "Dose 2 of "+meena.Name {
			t.Fatalf("resent %+v, %v", m, err)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		book := func() Appointment {
			t.Helper()
			a, err := s.BookAppointment(ctx, Appointment{BeneficiaryID: ravi.ID, CenterID: testCenter, Date: testToday, Slot: "11:00-13:00", Dose: 1}, testCode, testToday)
			mustStep(t, "book", err)
			return a
		}
		// Booked with its slip owed; cancelled with the notice recorded and
		// the answer kept: the slip's debt goes in the same step.
		first := book()
		if !slices.Contains(owedNow(t, s, clock), SlipNotification(first.ID)) {
			t.Fatal("the slip of a booking without one is not owed")
		}
		idem := &IdempotencyKey{Scope: "center POST /v1/appointments/cancel", Key: "cancel-1", Fingerprint: "fp-1", TTL: time.Hour}
		a, notice, err := s.Cancel(ctx, first.ID, cancelTo(mobiles[1]), idem, bookAnswers)
		mustStep(t, "cancel with a notice and a key", err)
		if a.Status != AppointmentCancelled || notice == "" {
			t.Fatalf("cancelled %+v, notice %q", a, notice)
		}
		if m, err := s.Message(ctx, notice); err != nil || m.To != mobiles[1] || m.Template != "appointment_cancelled" {
			t.Fatalf("notice %+v, %v", m, err)
		}
		if owed := owedNow(t, s, clock); slices.Contains(owed, SlipNotification(first.ID)) || slices.Contains(owed, CancellationNotification(first.ID)) {
			t.Fatalf("owed after a cancel that sent its notice: %v", owed)
		}
		_, _, err = s.Cancel(ctx, first.ID, cancelTo(mobiles[1]), idem, bookAnswers)
		if r := answered(t, err); string(r.Body) != `{"id":"`+first.ID+`","slip":"`+notice+`"}` {
			t.Fatalf("repeat answered %d %s", r.Status, r.Body)
		}
		// Without a notice the cancellation SMS is owed.
		second := book()
		a, err = s.CancelAppointment(ctx, second.ID)
		mustStep(t, "cancel", err)
		if got, _ := s.Appointment(ctx, second.ID); got.Status != AppointmentCancelled || a.Status != AppointmentCancelled {
			t.Fatalf("cancelled %+v, stored %+v", a, got)
		}
		raviDebt = CancellationNotification(second.ID)
		if !slices.Contains(owedNow(t, s, clock), raviDebt) {
			t.Fatal("the cancellation SMS is not owed")
		}
		if _, err := s.CancelAppointment(ctx, second.ID); !errors.Is(err, ErrNotActive) {
			t.Fatalf("cancelled twice: %v", err)
		}
		raviAppt = book()
		if b, _ := s.Beneficiary(ctx, ravi.ID); b.ActiveAppointment != raviAppt.ID {
			t.Fatalf("active %q after booking again, want %s", b.ActiveAppointment, raviAppt.ID)
		}
	})

	t.Run("create messages", func(t *testing.T) {
		for i, mobile := range mobiles {
			m, err := s.CreateMessage(ctx, smsTo(mobile, "security_code", "Your code is 4821", "Your code is ****"))
			mustStep(t, "create a message", err)
			if got, err := s.Message(ctx, m.ID); err != nil || got.To != mobile || got.Body != "Your code is ****" || got.Status != StatusQueued {
				t.Fatalf("message %d: %+v, %v", i, got, err)
			}
			if hist, err := s.MessagesByMobile(ctx, mobile, 1); err != nil || len(hist) != 1 || hist[0].ID != m.ID {
				t.Fatalf("history of %s: %+v, %v", mobile, hist, err)
			}
			queued = append(queued, m)
		}
		// A reply of two parts: one step, one mobile.
		two, err := s.CreateMessages(ctx, "", smsTo(mobiles[1], "kw_help", "part 1", ""), smsTo(mobiles[1], "kw_help", "part 2", ""))
		mustStep(t, "create two messages", err)
		if hist, _ := s.MessagesByMobile(ctx, mobiles[1], 2); len(hist) != 2 || hist[0].ID != two[1].ID || hist[1].ID != two[0].ID {
			t.Fatalf("history %+v, want the two parts newest first", hist)
		}
		// Messages to two shards are never one step: the store says so
		// before the cluster would.
		_, err = s.CreateMessages(ctx, "", smsTo(mobiles[0], "kw_help", "x", ""), smsTo(mobiles[1], "kw_help", "y", ""))
		if err == nil || isCrossSlot(err) {
			t.Fatalf("messages to two shards in one step: %v, want the store's refusal", err)
		}
		// The OTP lane's own pipelines.
		otp, err := s.OwnPipelines().CreateMessage(ctx, NewMessage{To: mobiles[2], Template: "kyvs_otp", Body: "OTP 135790", Masked: "OTP ******",
			Encoding: "GSM-7", Segments: 1, Priority: PriorityOTP, ValidFor: 3 * time.Minute})
		mustStep(t, "create an OTP on its own pipelines", err)
		if body, _ := s.SendBody(ctx, otp.ID); body != "OTP 135790" {
			t.Fatalf("OTP sends %q", body)
		}
	})

	t.Run("claim", func(t *testing.T) {
		m := queued[0]
		got, res, err := s.Claim(ctx, m.ID, "w1", time.Minute)
		mustStep(t, "claim", err)
		if res != Claimed || got.SendBody() != "Your code is 4821" || got.Status != StatusSending || got.Attempts != 1 {
			t.Fatalf("claim: %v %+v", res, got)
		}
		if _, res, _ := s.Claim(ctx, m.ID, "w2", time.Minute); res != Busy {
			t.Fatalf("another worker's claim under a live lease: %v", res)
		}
		if got, res, err := s.ClaimStale(ctx, m.ID, "w1", time.Minute); err != nil || res != Claimed || got.Attempts != 2 {
			t.Fatalf("own stale lease: %v %+v %v", res, got, err)
		}
		// A batch over the three masters (and a bad id): one step per shard,
		// the answers in the order asked.
		ids := []string{queued[1].ID, "not an id!", queued[2].ID, queued[0].ID}
		claims, err := s.ClaimStaleBatch(ctx, ids, "w1", time.Minute)
		mustStep(t, "claim a batch", err)
		for i, c := range claims {
			switch {
			case i == 1 && !errors.Is(c.Err, ErrNotFound):
				t.Errorf("bad id: %+v", c)
			case i != 1 && (c.Err != nil || c.Result != Claimed || c.Message.ID != ids[i] || c.Message.SendBody() != "Your code is 4821"):
				t.Errorf("claim %d of the batch: %+v", i, c)
			}
		}
		inflight, err := s.oldestInShards(ctx, s.inflightKey, "+inf", 1000)
		mustStep(t, "in flight", err)
		for _, q := range queued {
			if !slices.Contains(inflight, q.ID) {
				t.Errorf("%s claimed but not in flight", q.ID)
			}
		}
	})

	t.Run("outcomes", func(t *testing.T) {
		sent, failed, released := queued[0], queued[1], queued[2] // each claimed by w1
		a, err := s.AdvanceReported(ctx, sent.ID, Update{Status: StatusSent, Provider: "primary", ProviderMessageID: "SM-cluster-1"})
		mustStep(t, "advance to sent", err)
		if !a.Changed || a.Template != "security_code" {
			t.Fatalf("advanced %+v", a)
		}
		// The provider's id is written beside the step, on its own slot.
		if id, err := s.MessageIDByProvider(ctx, "primary", "SM-cluster-1"); err != nil || id != sent.ID {
			t.Fatalf("by provider id: %q, %v", id, err)
		}
		if a, _ := s.AdvanceReported(ctx, sent.ID, Update{Status: StatusDelivered}); !a.Changed {
			t.Fatal("delivered did not move a sent message")
		}
		if changed, _ := s.Advance(ctx, sent.ID, Update{Status: StatusSent}); changed {
			t.Fatal("a late sent moved a delivered message back")
		}
		if m, _ := s.Message(ctx, sent.ID); m.Status != StatusDelivered || m.ProviderMessageID != "SM-cluster-1" {
			t.Fatalf("stored %+v", m)
		}
		inflight, _ := s.oldestInShards(ctx, s.inflightKey, "+inf", 1000)
		if slices.Contains(pendingNow(t, s, clock), sent.ID) || slices.Contains(inflight, sent.ID) {
			t.Fatal("a sent message is still pending or in flight")
		}

		// A failed attempt to be retried: the lease goes, the error stays.
		mustStep(t, "release", s.Release(ctx, released.ID, "w1", "primary", "http_500"))
		if m, _ := s.Message(ctx, released.ID); m.ErrorCode != "http_500" || m.Status != StatusSending {
			t.Fatalf("released %+v", m)
		}
		if _, res, _ := s.Claim(ctx, released.ID, "w2", time.Minute); res != Claimed {
			t.Fatalf("claim after a release: %v", res)
		}

		// Failed for good: a dead letter (on its own slot, after the step),
		// retried as a new message with the same text.
		a, err = s.AdvanceReported(ctx, failed.ID, Update{Status: StatusFailed, Provider: "primary", ErrorCode: "30008", DeadLetter: true})
		mustStep(t, "advance to failed", err)
		if !a.Changed {
			t.Fatal("failed did not move the message")
		}
		d, err := s.DeadLetter(ctx, "msg:"+failed.ID)
		if err != nil || d.Kind != DeadMessage || d.To != mobiles[1] || d.Reason != "30008" || d.Template != "security_code" {
			t.Fatalf("dead letter %+v, %v", d, err)
		}
		list, total, err := s.DeadLetters(ctx, 100)
		if err != nil || total < 1 || !slices.ContainsFunc(list, func(x DeadLetter) bool { return x.ID == d.ID }) {
			t.Fatalf("dead letters %+v (%d), %v", list, total, err)
		}
		again, err := s.RetryDeadLetter(ctx, d.ID)
		mustStep(t, "retry a dead message", err)
		if m, err := s.Message(ctx, again); err != nil || m.To != mobiles[1] || m.Status != StatusQueued || shardOfID(again) != shardOfID(failed.ID) {
			t.Fatalf("retried as %+v, %v", m, err)
		}
		if body, _ := s.SendBody(ctx, again); body != "Your code is 4821" {
			t.Fatalf("retried with %q", body)
		}
		if _, err := s.DeadLetter(ctx, d.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("still listed after its retry: %v", err)
		}
		if _, err := s.DeadLetterCount(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("rescue", func(t *testing.T) {
		mustStep(t, "heartbeat", s.Heartbeat(ctx, "w-alive", time.Minute))
		mustStep(t, "heartbeat", s.Heartbeat(ctx, "w-dead", 50*time.Millisecond))
		var ofDead []string
		for _, mobile := range mobiles {
			m, err := s.CreateMessage(ctx, smsTo(mobile, "security_code", "Your code is 4821", "Your code is ****"))
			mustStep(t, "create", err)
			if _, res, err := s.Claim(ctx, m.ID, "w-dead", time.Minute); err != nil || res != Claimed {
				t.Fatalf("claim: %v %v", res, err)
			}
			ofDead = append(ofDead, m.ID)
		}
		mine, err := s.CreateMessage(ctx, smsTo(mobiles[0], "security_code", "Your code is 4821", "Your code is ****"))
		mustStep(t, "create", err)
		if _, res, err := s.Claim(ctx, mine.ID, "w-alive", time.Minute); err != nil || res != Claimed {
			t.Fatalf("claim: %v %v", res, err)
		}
		for deadline := time.Now().Add(5 * time.Second); rdb.Exists(ctx, s.workerKey("w-dead")).Val() == 1; {
			if time.Now().After(deadline) {
				t.Fatal("the dead worker's heartbeat did not expire")
			}
			time.Sleep(10 * time.Millisecond)
		}
		before := clock.Now().Add(time.Second)
		dead, err := s.DeadWorkers(ctx, before)
		mustStep(t, "dead workers", err)
		if !slices.Contains(dead, "w-dead") || slices.Contains(dead, "w-alive") {
			t.Fatalf("dead workers %v", dead)
		}
		orphans, err := s.Orphans(ctx, 1000)
		mustStep(t, "orphans", err)
		for _, id := range ofDead {
			i := slices.IndexFunc(orphans, func(o Orphan) bool { return o.ID == id })
			if i < 0 || orphans[i].Worker != "w-dead" || orphans[i].Priority != PriorityTransactional {
				t.Fatalf("orphans %+v, want %s of w-dead", orphans, id)
			}
			if ok, err := s.Rescue(ctx, orphans[i]); err != nil || !ok {
				t.Fatalf("rescue %s: %v %v", id, ok, err)
			}
			if ok, _ := s.Rescue(ctx, orphans[i]); ok {
				t.Fatalf("%s rescued twice", id)
			}
			if _, res, _ := s.Claim(ctx, id, "w-alive", time.Minute); res != Claimed {
				t.Fatalf("claim after the rescue of %s: %v", id, res)
			}
		}
		if slices.ContainsFunc(orphans, func(o Orphan) bool { return o.Worker == "w-alive" }) {
			t.Fatalf("a live worker's claims listed as orphans: %+v", orphans)
		}
		// The live worker's own claims whose answers it lost: all four, on
		// three masters; one dropped so that another worker may claim it.
		own, err := s.StaleOwnClaims(ctx, "w-alive", before, 1000)
		mustStep(t, "own claims", err)
		for _, id := range append([]string{mine.ID}, ofDead...) {
			if !slices.ContainsFunc(own, func(o Orphan) bool { return o.ID == id }) {
				t.Fatalf("own claims %+v, want %s", own, id)
			}
		}
		i := slices.IndexFunc(own, func(o Orphan) bool { return o.ID == mine.ID })
		if ok, err := s.RescueOwn(ctx, own[i]); err != nil || !ok {
			t.Fatalf("rescue own: %v %v", ok, err)
		}
		if _, res, _ := s.Claim(ctx, mine.ID, "w-other", time.Minute); res != Claimed {
			t.Fatalf("claim after rescuing its own: %v", res)
		}
		mustStep(t, "forget worker", s.ForgetWorker(ctx, "w-dead"))
		if dead, _ := s.DeadWorkers(ctx, before); slices.Contains(dead, "w-dead") {
			t.Fatal("a forgotten worker is still listed")
		}
		mustStep(t, "retire", s.Retire(ctx, "w-alive"))
		if rdb.Exists(ctx, s.workerKey("w-alive")).Val() != 0 || rdb.ZScore(ctx, s.workersKey(), "w-alive").Err() != redis.Nil {
			t.Fatal("a retired worker still beats")
		}
	})

	t.Run("pending", func(t *testing.T) {
		var ids []string
		for _, mobile := range mobiles {
			m, err := s.CreateMessage(ctx, smsTo(mobile, "kw_help", "Send STATUS", ""))
			mustStep(t, "create", err)
			ids = append(ids, m.ID)
		}
		pending := pendingNow(t, s, clock)
		for _, id := range ids {
			if !slices.Contains(pending, id) {
				t.Fatalf("%s not pending", id)
			}
		}
		mustStep(t, "forget pending", s.ForgetPending(ctx, ids[1]))
		if pending := pendingNow(t, s, clock); slices.Contains(pending, ids[1]) || !slices.Contains(pending, ids[2]) {
			t.Fatalf("after forgetting %s: %v", ids[1], pending)
		}
	})

	t.Run("owed SMS", func(t *testing.T) {
		// A sweeper takes the debt of Meena's first confirmation and pays
		// it: the message under the id reserved for it, the debt cleared in
		// the same step.
		if ok, err := s.ClaimNotification(ctx, meenaDebt, clock.Now(), 2*time.Minute); err != nil || !ok {
			t.Fatalf("claim a debt: %v %v", ok, err)
		}
		if ok, _ := s.ClaimNotification(ctx, meenaDebt, clock.Now(), 2*time.Minute); ok {
			t.Fatal("a debt leased twice")
		}
		_, ids := ParseNotification(meenaDebt)
		nm := smsTo(mobiles[2], "dose_confirmation", "dose 1 of 2", "")
		nm.ID = ids[2]
		paid, err := s.CreateMessages(ctx, meenaDebt, nm)
		mustStep(t, "pay a debt", err)
		if paid[0].ID != ids[2] {
			t.Fatalf("paid as %s, want the reserved %s", paid[0].ID, ids[2])
		}
		if m, err := s.Message(ctx, ids[2]); err != nil || m.To != mobiles[2] {
			t.Fatalf("paid %+v, %v", m, err)
		}
		if owed, _ := s.OwedBefore(ctx, clock.Now().Add(time.Hour), 1000); slices.Contains(owed, meenaDebt) {
			t.Fatal("a paid debt is still owed")
		}

		// Ravi's cancellation SMS fails to be paid until it is a dead
		// letter; retried, it is owed again.
		for i := 1; i < MaxDebtTries; i++ {
			if dead, err := s.DebtFailed(ctx, raviDebt, "send appointment_cancelled: unavailable", false); err != nil || dead {
				t.Fatalf("failure %d: %v %v", i, dead, err)
			}
		}
		if dead, err := s.DebtFailed(ctx, raviDebt, "send appointment_cancelled: unavailable", false); err != nil || !dead {
			t.Fatalf("failure %d: %v %v, want a dead letter", MaxDebtTries, dead, err)
		}
		if slices.Contains(owedNow(t, s, clock), raviDebt) {
			t.Fatal("a dead debt is still owed")
		}
		d, err := s.DeadLetter(ctx, "debt:"+raviDebt)
		if err != nil || d.Kind != DeadDebt || d.Tries != MaxDebtTries || d.Ref != raviDebt {
			t.Fatalf("dead debt %+v, %v", d, err)
		}
		if id, err := s.RetryDeadLetter(ctx, d.ID); err != nil || id != "" {
			t.Fatalf("retry a dead debt: %q, %v", id, err)
		}
		if !slices.Contains(owedNow(t, s, clock), raviDebt) {
			t.Fatal("a retried debt is not owed")
		}
		mustStep(t, "notification queued", s.NotificationQueued(ctx, raviDebt))
		if slices.Contains(owedNow(t, s, clock), raviDebt) {
			t.Fatal("a queued debt is still owed")
		}
	})

	t.Run("inbound", func(t *testing.T) {
		limit := ReplyLimit{Max: 5, Window: time.Hour}
		// LANG EN from Asha's mobile: the choice, the reply spent, the
		// people read and the prepared reply recorded, in one step.
		reply := &PreparedReply{Language: "en", Messages: []NewMessage{smsTo(mobiles[0], "kw_lang", "Replies in English", "")}}
		in := Inbound{Provider: "primary", ProviderMessageID: "SM-in-1", From: mobiles[0], To: "+15005550006", Body: "LANG EN",
			Encoding: "GSM-7", Segments: 1, OwesReply: true, Reply: reply}
		got, err := s.Receive(ctx, in, Effect{Language: "en", People: true}, limit)
		mustStep(t, "receive with a prepared reply", err)
		if got.Duplicate || !got.Allowed || got.Owed || len(got.Replies) != 1 || got.Prefs.Language != "en" ||
			len(got.BeneficiaryIDs) != 2 || got.BeneficiaryIDs[0] != asha.ID {
			t.Fatalf("received %+v", got)
		}
		if len(got.People) != 2 || got.People[0].ID != asha.ID || len(got.People[0].Doses) != 1 || got.People[0].Appointment != nil {
			t.Fatalf("people %+v", got.People)
		}
		if m, err := s.Message(ctx, got.Message.ID); err != nil || m.Direction != "in" || m.From != mobiles[0] || m.Body != "LANG EN" {
			t.Fatalf("stored %+v, %v", m, err)
		}
		if m, err := s.Message(ctx, got.Replies[0].ID); err != nil || m.To != mobiles[0] || m.Status != StatusQueued {
			t.Fatalf("reply %+v, %v", m, err)
		}
		again, err := s.Receive(ctx, in, Effect{Language: "en", People: true}, limit)
		if err != nil || !again.Duplicate || again.Message.ID != got.Message.ID || again.Replies != nil {
			t.Fatalf("the provider's retry: %+v, %v", again, err)
		}
		if prefs, _ := s.MobilePrefs(ctx, mobiles[0]); prefs.Language != "en" {
			t.Fatalf("prefs %+v", prefs)
		}

		// STATUS from Ravi's mobile with no reply prepared: the answer is
		// owed, and his booking comes back with its centre.
		status := Inbound{Provider: "primary", ProviderMessageID: "SM-in-2", From: mobiles[1], To: "+15005550006", Body: "STATUS", OwesReply: true}
		got, err = s.Receive(ctx, status, Effect{People: true}, limit)
		mustStep(t, "receive owing the answer", err)
		debt := ReplyNotification(got.Message.ID)
		if !got.Owed || !slices.Contains(owedNow(t, s, clock), debt) {
			t.Fatalf("received %+v: the answer is not owed", got)
		}
		wantBooking := func(what string, people []PersonView) {
			t.Helper()
			if len(people) != 1 || people[0].ID != ravi.ID || people[0].Appointment == nil || people[0].Appointment.ID != raviAppt.ID ||
				people[0].Center == nil || people[0].Center.Name != "PHC "+testCenter {
				t.Fatalf("%s read %+v", what, people)
			}
		}
		wantBooking("receive", got.People)
		// The sweeper prepares the answer (no reply spent again) and pays it.
		prep, err := s.PrepareAnswer(ctx, mobiles[1], Effect{People: true})
		mustStep(t, "prepare an answer", err)
		if !prep.Allowed {
			t.Fatalf("prepared %+v", prep)
		}
		wantBooking("prepare answer", prep.People)
		_, err = s.CreateMessages(ctx, debt, smsTo(mobiles[1], "kw_status", "Booked for "+testToday, ""))
		mustStep(t, "answer", err)
		if slices.Contains(owedNow(t, s, clock), debt) {
			t.Fatal("the answer is still owed")
		}

		// A missed call spends from the call log, on the call channel.
		call := Inbound{Provider: "primary", ProviderMessageID: "CA-1", From: mobiles[2], To: "+15005550006", Call: true, OwesReply: true}
		got, err = s.Receive(ctx, call, Effect{}, ReplyLimit{Max: 1, Window: time.Hour, Calls: true})
		mustStep(t, "receive a missed call", err)
		if m, _ := s.Message(ctx, got.Message.ID); !got.Allowed || !got.Owed || m.Channel != "call" {
			t.Fatalf("call %+v, stored %+v", got, m)
		}
		mustStep(t, "notification queued", s.NotificationQueued(ctx, ReplyNotification(got.Message.ID)))
	})

	t.Run("ussd", func(t *testing.T) {
		st := USSDStep{SessionID: "ATUid_1", Mobile: mobiles[1], ServiceCode: "*384*12#", EndedWith: []bool{true, false}}
		v, err := s.StepUSSD(ctx, st)
		mustStep(t, "ussd step", err)
		if len(v.People) != 1 || v.People[0].Appointment == nil || v.People[0].Appointment.ID != raviAppt.ID || v.People[0].Center == nil {
			t.Fatalf("read %+v", v)
		}
		st.Text, st.Steps, st.EndedWith, st.Ended = "1", 1, nil, true
		_, err = s.StepUSSD(ctx, st)
		mustStep(t, "ussd step", err)
		sessions, err := s.USSDSessions(ctx, mobiles[1], 10)
		mustStep(t, "ussd sessions", err)
		if len(sessions) != 1 || sessions[0].Text != "1" || sessions[0].Steps != 1 || !sessions[0].Ended || !sessions[0].StartedAt.Equal(t0) {
			t.Fatalf("sessions %+v", sessions)
		}
	})

	t.Run("kyvs", func(t *testing.T) {
		// The verifier's limit and the mobile's people: two steps, two slots.
		a, err := s.AskAbout(ctx, "kyvs-verifier:v1", 5, time.Hour, mobiles[0])
		mustStep(t, "ask about", err)
		if !a.Allowed || !slices.Equal(a.BeneficiaryIDs[:1], []string{asha.ID}) || a.Prefs.Language != "en" {
			t.Fatalf("asked %+v", a)
		}
		budget := OTPBudget{Max: 2, Window: time.Hour}
		sms := &NewMessage{To: mobiles[0], Template: "kyvs_otp", Body: "OTP 246810", Masked: "OTP ******",
			Encoding: "GSM-7", Segments: 1, Priority: PriorityOTP, ValidFor: 3 * time.Minute}
		txn, sent, err := s.StartOTP(ctx, "v1", asha.ID, "246810", 3*time.Minute, budget, sms)
		mustStep(t, "start otp", err)
		if shardOfID(txn) != shardOfID(asha.ID) || sent == "" {
			t.Fatalf("started %q with SMS %q", txn, sent)
		}
		if body, _ := s.SendBody(ctx, sent); body != "OTP 246810" {
			t.Fatalf("the OTP SMS sends %q", body)
		}
		if _, err := s.ConfirmOTP(ctx, txn, "v2", "246810"); !errors.Is(err, ErrOTPOtherCaller) {
			t.Fatalf("another verifier: %v", err)
		}
		var mismatch *OTPMismatchError
		if _, err := s.ConfirmOTP(ctx, txn, "v1", "000000"); !errors.As(err, &mismatch) || mismatch.AttemptsLeft != MaxOTPTries-1 {
			t.Fatalf("wrong OTP: %v", err)
		}
		// The match reads the beneficiary and their mobile's choices, named
		// from the transaction, in its step.
		v, err := s.ConfirmOTP(ctx, txn, "v1", "246810")
		mustStep(t, "confirm otp", err)
		if v.Beneficiary.ID != asha.ID || len(v.Beneficiary.Doses) != 1 || v.Prefs.Language != "en" {
			t.Fatalf("verified %+v", v)
		}
		if _, err := s.ConfirmOTP(ctx, txn, "v1", "246810"); !errors.Is(err, ErrOTPExpired) {
			t.Fatalf("used twice: %v", err)
		}
		// No match: a transaction in any shard, no SMS.
		txn, sent, err = s.StartOTP(ctx, "v1", "", "111111", 3*time.Minute, budget, sms)
		mustStep(t, "start otp for nobody", err)
		if _, err := s.ConfirmOTP(ctx, txn, "v1", "111111"); sent != "" || !errors.As(err, &mismatch) {
			t.Fatalf("no match: SMS %q, confirm %v", sent, err)
		}
		if ok, _, err := s.Allow(ctx, "kyvs-verifier:v9", 1, time.Hour); err != nil || !ok {
			t.Fatalf("allow: %v %v", ok, err)
		}
		if ok, wait, _ := s.Allow(ctx, "kyvs-verifier:v9", 1, time.Hour); ok || wait <= 0 {
			t.Fatal("a second event within a limit of one")
		}
	})

	t.Run("reminders", func(t *testing.T) {
		// Three due on one day, on the three masters: one reminded, one
		// whose mobile opted out, one who booked the dose.
		for _, mobile := range mobiles {
			b := mustBeneficiary(t, s, mobile)
			_, err := s.RecordDose(ctx, NewDose{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: "B3", CenterID: testCenter,
				Date: "2027-01-01", Mobile: mobile}, confirmTo(mobile))
			mustStep(t, "record a dose", err)
			reminded = append(reminded, b)
			dosed = append(dosed, b.ID)
		}
		mustStep(t, "opt out", s.SetOptedOut(ctx, mobiles[1], true))
		mustStep(t, "choose a language", s.SetMobileLanguage(ctx, mobiles[2], "mr"))
		if prefs, err := s.MobilePrefs(ctx, mobiles[1]); err != nil || !prefs.OptedOut {
			t.Fatalf("prefs %+v, %v", prefs, err)
		}
		_, err := s.BookAppointment(ctx, Appointment{BeneficiaryID: reminded[2].ID, CenterID: testCenter, Date: dueDay, Slot: "09:00-11:00", Dose: 2},
			testCode, "2027-01-20")
		mustStep(t, "book the next dose", err)

		run, resumed, err := s.TakeReminderRun(ctx, dueDay, "runner-1", time.Minute)
		mustStep(t, "take the run", err)
		if resumed || run.State != "running" || run.Shard != 0 || run.Epoch != 1 {
			t.Fatalf("took %+v (resumed %v)", run, resumed)
		}
		if _, _, err := s.TakeReminderRun(ctx, dueDay, "runner-2", time.Minute); !errors.Is(err, ErrRunBusy) {
			t.Fatalf("a second runner: %v", err)
		}
		// Every shard's list, as the gateway's run walks them.
		results := map[string]RemindResult{}
		for shard := run.Shard; shard < DueShards; shard++ {
			ids, err := s.DueOn(ctx, dueDay, shard, 0, 100)
			mustStep(t, "due on", err)
			if len(ids) > 0 {
				cands, err := s.DueCandidates(ctx, ids)
				mustStep(t, "due candidates", err)
				batch := make([]Reminder, len(ids))
				for i, c := range cands {
					if c.Given != 1 || c.FirstVaccine != "COVAXIN" {
						t.Fatalf("candidate %+v", c)
					}
					batch[i] = Reminder{BeneficiaryID: ids[i], Dose: c.Given + 1, Message: &NewMessage{To: c.Mobile, Template: "dose_due",
						Language: c.MobileLang, Body: "Dose 2 of COVAXIN opens on 29 Jan", Encoding: "GSM-7", Segments: 1, Priority: PriorityBulk}}
				}
				res, err := s.Remind(ctx, run, dueDay, clock.Now().Add(time.Minute), 0, batch)
				mustStep(t, "remind", err)
				for i, r := range res {
					results[ids[i]] = r
				}
			}
			mustStep(t, "move the run", s.MoveReminderRun(ctx, run, shard+1, clock.Now().Add(time.Minute)))
		}
		if len(results) != 3 {
			t.Fatalf("found %d due, want 3: %+v", len(results), results)
		}
		for i, want := range []string{RemindQueued, RemindOptedOut, RemindBooked} {
			if got := results[reminded[i].ID]; got.Outcome != want || (want == RemindQueued) != (got.MessageID != "") {
				t.Fatalf("%s: %+v, want %s", reminded[i].ID, got, want)
			}
		}
		m, err := s.Message(ctx, results[reminded[0].ID].MessageID)
		if err != nil || m.To != mobiles[0] || m.Language != "en" || !slices.Contains(pendingNow(t, s, clock), m.ID) {
			t.Fatalf("reminder %+v, %v", m, err)
		}
		mustStep(t, "finish the run", s.FinishReminderRun(ctx, dueDay, "runner-1"))
		if ttl := rdb.PTTL(ctx, s.dueKey(shardOfID(reminded[0].ID), dueDay)).Val(); ttl <= 0 || ttl > 90*24*time.Hour {
			t.Fatalf("the finished day's due list expires in %v, want the retention", ttl)
		}
		if err := s.FinishReminderRun(ctx, dueDay, "runner-2"); !errors.Is(err, ErrRunLost) {
			t.Fatalf("another runner finished it: %v", err)
		}
		// The counts, summed over the shards' records.
		done, err := s.ReminderRun(ctx, dueDay)
		mustStep(t, "reminder run", err)
		if done.State != "done" || done.Due != 3 || done.Queued != 1 || done.OptedOut != 1 || done.Booked != 1 || done.AlreadySent != 0 {
			t.Fatalf("run %+v", done)
		}
	})

	t.Run("reindex due", func(t *testing.T) {
		// As if the first reminded had been dosed before the index existed.
		b := reminded[0]
		rdb.HDel(ctx, s.beneficiaryKey(b.ID), "due")
		rdb.Del(ctx, s.dueKey(shardOfID(b.ID), dueDay))
		n, err := s.ReindexDue(ctx)
		mustStep(t, "reindex", err)
		if n != len(dosed) {
			t.Fatalf("indexed %d, want the %d with a dose", n, len(dosed))
		}
		if ids, _ := s.DueOn(ctx, dueDay, shardIndex(shardOfID(b.ID)), 0, 100); !slices.Equal(ids, []string{b.ID}) {
			t.Fatalf("due on %s: %v", dueDay, ids)
		}
		if got, _ := s.Beneficiary(ctx, b.ID); got.NextDue != dueDay {
			t.Fatalf("due %q", got.NextDue)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		// Records made under one secret, read and re-keyed under the next:
		// under a prefix of their own, so that the counts are theirs.
		old := newClusterStore(t, rdb, clock, Options{Prefix: "rotate:"})
		rotated := newClusterStore(t, rdb, clock, Options{Prefix: "rotate:", Secret: []byte("a new secret, at least 32 bytes long"),
			PreviousSecrets: [][]byte{testSecret}})
		ben := mustBeneficiary(t, old, mobiles[1])
		appt := mustBook(t, old, ben.ID, testToday, testCode, testToday)
		msg, err := old.CreateMessage(ctx, smsTo(mobiles[1], "security_code", "Your code is 4821", "Your code is ****"))
		mustStep(t, "create", err)
		card, err := old.CreateCardToken(ctx, ben.ID, time.Hour)
		mustStep(t, "card token", err)
		ws, err := old.CreateWebSession(ctx, WebSession{KeyID: "key_x", Name: "PHC", Role: RoleCenter}, time.Hour)
		mustStep(t, "web session", err)
		key, clear, err := old.CreateAPIKey(ctx, APIKey{Role: RoleSupport, Name: "Helpline"})
		mustStep(t, "create api key", err)
		sms := &NewMessage{To: mobiles[1], Template: "kyvs_otp", Body: "OTP 123456", Masked: "OTP ******",
			Encoding: "GSM-7", Segments: 1, Priority: PriorityOTP, ValidFor: 3 * time.Minute}
		txn, _, err := old.StartOTP(ctx, "v1", ben.ID, "123456", 3*time.Minute, OTPBudget{Max: 5, Window: time.Hour}, sms)
		mustStep(t, "start otp", err)

		status := func(want map[string][2]int) {
			t.Helper()
			uses, err := rotated.SecretsStatus(ctx)
			mustStep(t, "secrets status", err)
			for _, u := range uses {
				if w := want[u.Kind]; u.Current != w[0] || u.Previous != w[1] || u.Unknown != 0 {
					t.Errorf("%s: %+v, want %d current, %d previous", u.Kind, u, w[0], w[1])
				}
			}
		}
		status(map[string][2]int{"api_keys": {0, 1}, "web_sessions": {0, 1}, "kyvs_transactions": {0, 1}, "card_links": {0, 1},
			"security_codes": {0, 1}, "message_bodies": {0, 2}})
		// An API key moves to the new secret at its first use: its record
		// renamed, the index and the version changed, in one step.
		if k, err := rotated.APIKeyBySecret(ctx, clear); err != nil || k.ID != key.ID {
			t.Fatalf("a key of the previous secret: %+v, %v", k, err)
		}
		done, err := rotated.Rekey(ctx)
		mustStep(t, "rekey", err)
		if done != (Rekeyed{MessageBodies: 2, SecurityCodes: 1}) {
			t.Fatalf("rekeyed %+v", done)
		}
		status(map[string][2]int{"api_keys": {1, 0}, "web_sessions": {0, 1}, "kyvs_transactions": {0, 1}, "card_links": {0, 1},
			"security_codes": {1, 0}, "message_bodies": {2, 0}})
		check := CodeCheck{AppointmentID: appt.ID, BeneficiaryID: ben.ID, CenterID: testCenter, Code: testCode, Today: testToday}
		mustStep(t, "verify a re-keyed code", rotated.VerifyCode(ctx, check))
		if body, err := rotated.SendBody(ctx, msg.ID); err != nil || body != "Your code is 4821" {
			t.Fatalf("re-keyed body %q, %v", body, err)
		}
		if v, err := rotated.ConfirmOTP(ctx, txn, "v1", "123456"); err != nil || v.Beneficiary.ID != ben.ID {
			t.Fatalf("an OTP of the previous secret: %+v, %v", v, err)
		}
		// A card link and a session are looked up under each secret's hash.
		if id, err := rotated.CardBeneficiary(ctx, card); err != nil || id != ben.ID {
			t.Fatalf("card link of the previous secret: %q, %v", id, err)
		}
		if got, err := rotated.WebSession(ctx, ws.ID); err != nil || got.CSRF != ws.CSRF {
			t.Fatalf("session of the previous secret: %+v, %v", got, err)
		}
		mustStep(t, "end a session of the previous secret", rotated.EndWebSession(ctx, ws.ID))
		if n := rdb.Exists(ctx, old.sessionKey(old.apiKeyHash.sum("session", ws.ID))).Val(); n != 0 {
			t.Fatal("the session outlived its sign-out")
		}
	})

	t.Run("api keys, cards, audit", func(t *testing.T) {
		k, clear, err := s.CreateAPIKey(ctx, APIKey{Role: RoleCenter, Name: "PHC " + testCenter, CenterID: testCenter})
		mustStep(t, "create api key", err)
		if got, err := s.APIKeyBySecret(ctx, clear); err != nil || got.ID != k.ID || got.CenterID != testCenter {
			t.Fatalf("look-up %+v, %v", got, err)
		}
		cache := NewKeyCache(s, KeyCacheOptions{})
		defer cache.Close()
		if got, err := cache.APIKeyBySecret(ctx, clear); err != nil || got.ID != k.ID {
			t.Fatalf("cached look-up %+v, %v", got, err)
		}
		if keys, err := s.APIKeys(ctx); err != nil || !slices.ContainsFunc(keys, func(x APIKey) bool { return x.ID == k.ID }) {
			t.Fatalf("keys %+v, %v", keys, err)
		}
		// A session loads with its key's index and record in one step (to
		// end it once the key is revoked).
		ws, err := s.CreateWebSession(ctx, WebSession{KeyID: k.ID, Name: k.Name, Role: k.Role, CenterID: testCenter}, time.Hour)
		mustStep(t, "web session", err)
		if got, err := s.WebSession(ctx, ws.ID); err != nil || got != ws {
			t.Fatalf("session %+v, %v; want %+v", got, err, ws)
		}
		mustStep(t, "end session", s.EndWebSession(ctx, ws.ID))
		if _, err := s.WebSession(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after sign-out: %v", err)
		}
		ws, err = s.CreateWebSession(ctx, WebSession{KeyID: k.ID, Name: k.Name, Role: k.Role, CenterID: testCenter}, time.Hour)
		mustStep(t, "web session", err)
		token, err := s.CreateCardToken(ctx, asha.ID, time.Hour)
		mustStep(t, "card token", err)
		if id, err := s.CardBeneficiary(ctx, token); err != nil || id != asha.ID {
			t.Fatalf("card %q, %v", id, err)
		}
		// An entry lands in the trail and in its actor's and its mobile's
		// indexes: three lists, three slots.
		mustStep(t, "audit", s.Audit(ctx, AuditEntry{ActorID: k.ID, ActorName: k.Name, Role: k.Role, Action: "resend",
			Target: ashaAppt.ID, MobileE164: mobiles[0], Mobile: "+91******" + mobiles[0][len(mobiles[0])-4:], Reason: "lost SMS"}))
		for _, q := range []AuditQuery{{Mobile: mobiles[0], Limit: 10}, {ActorID: k.ID, Limit: 10}, {Limit: 10}} {
			if es, err := s.AuditSearch(ctx, q); err != nil || len(es) != 1 || es[0].Target != ashaAppt.ID || es[0].Reason != "lost SMS" {
				t.Fatalf("audit search %+v: %+v, %v", q, es, err)
			}
		}
		if es, err := s.AuditTrail(ctx, 10); err != nil || len(es) != 1 {
			t.Fatalf("audit trail %+v, %v", es, err)
		}
		// Revoked: the key, and the sessions it opened, stop working.
		mustStep(t, "revoke", s.RevokeAPIKey(ctx, k.ID))
		if _, err := s.APIKeyBySecret(ctx, clear); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a revoked key: %v", err)
		}
		if all, err := s.AllAPIKeys(ctx); err != nil || len(all) != 1 || all[0].RevokedAt.IsZero() {
			t.Fatalf("all keys %+v, %v", all, err)
		}
		if _, err := s.WebSession(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a revoked key's session: %v", err)
		}
	})

	t.Run("layout, turns, markers", func(t *testing.T) {
		mustStep(t, "ping", s.Ping(ctx))
		// The layout check walks every master for a key of an earlier
		// layout: none under this store's prefix, one under another's.
		for range 2 {
			mustStep(t, "check layout", s.CheckLayout(ctx))
		}
		if v := rdb.Get(ctx, s.layoutKey()).Val(); v != layoutVersion {
			t.Fatalf("layout %q", v)
		}
		earlier := newClusterStore(t, rdb, clock, Options{Prefix: "layout1:"})
		rdb.Set(ctx, "layout1:ben:12345678901234", "x", 0)
		if err := earlier.CheckLayout(ctx); !errors.Is(err, ErrEarlierLayout) {
			t.Fatalf("an earlier layout's record: %v", err)
		}
		if ok, err := s.TakeTurn(ctx, "sweep-owed", "p1", time.Minute); err != nil || !ok {
			t.Fatalf("first turn: %v %v", ok, err)
		}
		if ok, _ := s.TakeTurn(ctx, "sweep-owed", "p2", time.Minute); ok {
			t.Fatal("two processes took one turn")
		}
		if ok, err := s.MarkOnce(ctx, "demo"); err != nil || !ok {
			t.Fatalf("mark: %v %v", ok, err)
		}
		if ok, _ := s.MarkOnce(ctx, "demo"); ok {
			t.Fatal("marked twice")
		}
		mustStep(t, "unmark", s.Unmark(ctx, "demo"))
		if ok, _ := s.MarkOnce(ctx, "demo"); !ok {
			t.Fatal("not marked again after unmark")
		}
	})

	t.Run("an acknowledged step waits for a replica", func(t *testing.T) {
		// Last: it stops a replica. A step the API acknowledges returns
		// once a replica holds it; with the master's replica stopped it
		// answers ErrNotReplicated (a 503) after replicaWait, though the
		// master ran it; a worker's step does not wait.
		mobile := mobiles[2]
		master, err := cl.MasterOf(ctx, s.mobileBeneficiariesKey(mobile))
		mustStep(t, "master", err)
		replica, err := cl.ReplicaOf(ctx, master)
		mustStep(t, "replica", err)
		in := Beneficiary{Name: "Kiran Rao", Mobile: mobile, BirthYear: 1990, Gender: "M", Language: "en"}
		if _, err := s.CreateBeneficiaryOnce(ctx, in, 10, nil, nil); err != nil {
			t.Fatalf("with its replica: %v", err)
		}
		msg, err := s.CreateMessage(ctx, smsTo(mobile, "kw_help", "HELP", ""))
		mustStep(t, "message", err)
		// In one batch with an acknowledged step, a worker's step and the
		// command after it (the provider id, another slot) still go
		// through the cluster client: the acknowledged one runs on its
		// master's own connection, which would not follow the other slot.
		other, err := s.CreateMessage(ctx, smsTo(mobiles[0], "kw_help", "HELP", ""))
		mustStep(t, "message", err)
		sid := ""
		for i := 0; sid == ""; i++ {
			candidate := fmt.Sprintf("SMbatch%04d", i)
			there, err := cl.MasterOf(ctx, s.providerMessageKey("primary", candidate))
			mustStep(t, "master of a provider id", err)
			if there != master {
				sid = candidate
			}
		}
		pmid := s.providerMessageKey("primary", sid)
		cmds := s.replicas.runAcked(ctx, s.rdb, []scriptCall{
			{script: slidingWindowScript, keys: []string{s.replyLimitKey(mobile)},
				args: []any{clock.Now().UnixMilli(), 60_000, 100, "entry"}, ack: true},
			{script: advanceScript, keys: []string{s.messageKey(other.ID), s.pendingKey(shardOfID(other.ID)), s.inflightKey(shardOfID(other.ID))},
				args:  []any{string(StatusSent), clock.Now().UnixMilli(), 0, other.ID, s.retention.Milliseconds()},
				after: func(ctx context.Context, p redis.Pipeliner) { p.Set(ctx, pmid, other.ID, time.Hour) }},
		})
		for i, c := range cmds {
			mustStep(t, fmt.Sprintf("mixed batch, call %d", i), c.Err())
		}
		if id, err := s.MessageIDByProvider(ctx, "primary", sid); err != nil || id != other.ID {
			t.Fatalf("the provider id written after a worker's step in a mixed batch: %q %v", id, err)
		}
		before, _ := s.BeneficiariesByMobile(ctx, mobile)
		if err := cl.Pause(replica); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cl.Resume(replica) }()
		start := time.Now()
		_, err = s.CreateBeneficiaryOnce(ctx, in, 10, nil, nil)
		if took := time.Since(start); !errors.Is(err, ErrNotReplicated) || took < replicaWait || took > 5*replicaWait {
			t.Fatalf("with its replica stopped: %v after %v; want ErrNotReplicated after about %v", err, took, replicaWait)
		}
		if bens, _ := s.BeneficiariesByMobile(ctx, mobile); len(bens) != len(before)+1 {
			t.Fatalf("%d on the mobile, want %d: the master ran the step it could not confirm", len(bens), len(before)+1)
		}
		if _, res, err := s.Claim(ctx, msg.ID, "w-replica", time.Minute); err != nil || res != Claimed {
			t.Fatalf("a worker's claim with the replica stopped: %v %v", res, err)
		}
		if err := cl.Resume(replica); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateBeneficiaryOnce(ctx, in, 10, nil, nil); err != nil {
			t.Fatalf("with its replica back: %v", err)
		}
	})
}

// testSecret is the secret of the stores the store's tests make.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newClusterStore is a store on a cluster client with the test's clock;
// opts may name a prefix and secrets.
func newClusterStore(t *testing.T, rdb *redis.ClusterClient, clock *testClock, opts Options) *Store {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	opts.Now = clock.Now
	s, err := New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mobilesOnEveryMaster picks a mobile for each of the cluster's three
// masters: every key of a citizen lives on the master of their shard's slot.
func mobilesOnEveryMaster(t *testing.T, cl *clustertest.Cluster, s *Store) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for i := 0; len(out) < 3 && i < 200; i++ {
		mobile := fmt.Sprintf("+9198765%05d", 43210+i)
		master, err := cl.MasterOf(context.Background(), s.MobileKeyOf("mobile", mobile, ""))
		if err != nil {
			t.Fatal(err)
		}
		if !seen[master] {
			seen[master] = true
			out = append(out, mobile)
		}
	}
	if len(out) < 3 {
		t.Fatalf("mobiles on %d masters, want 3", len(out))
	}
	return out
}

// isCrossSlot reports whether err is a cluster's refusal of keys in
// several hash slots (from the server, or from the client for MULTI).
func isCrossSlot(err error) bool { return err != nil && strings.Contains(err.Error(), "CROSSSLOT") }

// mustStep fails the test on err, naming a cross-slot refusal as such.
func mustStep(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case isCrossSlot(err):
		t.Fatalf("%s: its keys span hash slots: %v", what, err)
	case err != nil:
		t.Fatalf("%s: %v", what, err)
	}
}

// pendingNow lists the messages pending now, over every shard.
func pendingNow(t *testing.T, s *Store, clock *testClock) []string {
	t.Helper()
	ids, err := s.PendingBefore(context.Background(), clock.Now().Add(time.Minute), 10_000)
	mustStep(t, "pending", err)
	return ids
}

// owedNow lists the SMS owed now, over every shard.
func owedNow(t *testing.T, s *Store, clock *testClock) []string {
	t.Helper()
	ns, err := s.OwedBefore(context.Background(), clock.Now().Add(time.Minute), 10_000)
	mustStep(t, "owed", err)
	return ns
}

// smsTo is an SMS to mobile; with masked set, its body is sealed.
func smsTo(mobile, template, body, masked string) NewMessage {
	return NewMessage{To: mobile, Template: template, Language: "en", Body: body, Masked: masked,
		Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}
}

// slipTo renders a booking's slip to mobile, its code masked.
func slipTo(mobile string) Owed {
	return func(a Appointment) (NewMessage, error) {
		return smsTo(mobile, "appointment_slip", "Booked "+a.Date+", code "+testCode, "Booked "+a.Date+", code ****"), nil
	}
}

// cancelTo renders a cancellation's notice to mobile.
func cancelTo(mobile string) Owed {
	return func(a Appointment) (NewMessage, error) {
		return smsTo(mobile, "appointment_cancelled", "Your booking of "+a.Date+" is cancelled", ""), nil
	}
}

// bookAnswers are the answers a booking's or a cancel's step keeps for
// its key: its appointment and its SMS.
func bookAnswers(a Appointment, msgID string) (Replay, Replay, error) {
	return Replay{Status: 201, Body: []byte(`{"id":"` + a.ID + `","slip":"` + msgID + `"}`)},
		Replay{Status: 409, Body: []byte(`{"error":"refused"}`)}, nil
}
