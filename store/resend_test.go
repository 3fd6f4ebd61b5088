package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// resendSMS renders what a resend sends from src, as a test can read it.
func resendSMS(src ResendSource) (NewMessage, error) {
	nm := NewMessage{Template: "security_code", Language: "en", Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}
	if a := src.Appointment; a.ID != "" {
		nm.Body, nm.Masked = "Code "+src.Code+" for "+a.Date+" "+a.Slot, "Code **** for "+a.Date+" "+a.Slot
		return nm, nil
	}
	b := src.Beneficiary
	nm.To, nm.Template, nm.Body = b.Mobile, "dose_confirmation", fmt.Sprintf("Dose %d of %s", len(b.Doses), b.Name)
	return nm, nil
}

// resendKept is the answer a resend keeps: 202 with its message id.
var resendKept Kept[string] = func(id string) (Replay, Replay, error) {
	return Replay{Status: 202, Body: []byte(`{"message_id":"` + id + `"}`)}, Replay{Status: 409, Body: []byte(`{"error":"refused"}`)}, nil
}

func (b booked) resendCode(key string) ResendOf {
	of := ResendOf{AppointmentID: b.appt.ID, Subject: "appt:" + b.appt.ID, PerHour: 3}
	if key != "" {
		of.Idempotency = &IdempotencyKey{Scope: "support POST /v1/support/resend", Key: key, Fingerprint: "fp-" + key, TTL: 24 * time.Hour}
	}
	return of
}

// to renders an appointment's SMS to b's mobile.
func (b booked) to(render func(ResendSource) (NewMessage, error)) func(ResendSource) (NewMessage, error) {
	return func(src ResendSource) (NewMessage, error) {
		nm, err := render(src)
		if nm.To == "" {
			nm.To = b.ben.Mobile
		}
		return nm, err
	}
}

func TestResendOnce(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	of := b.resendCode("k1")
	first, err := b.s.Resend(ctx, of, b.to(resendSMS), resendKept)
	if err != nil || first.Message.ID == "" || first.RetryAfter != 0 {
		t.Fatalf("resend: %+v %v", first, err)
	}
	m, err := b.s.Message(ctx, first.Message.ID)
	if err != nil || m.Body != "Code **** for "+testToday+" 09:00-11:00" || m.Status != StatusQueued {
		t.Fatalf("recorded %+v %v", m, err)
	}
	if claimed := findInDB(t, b.s, "Code "+testCode); len(claimed) != 0 {
		t.Fatalf("the code is stored in clear: %v", claimed)
	}
	if pending, _ := b.s.rdb.ZScore(ctx, b.s.pendingKey(shardOfID(m.ID)), m.ID).Result(); pending == 0 {
		t.Fatal("the resend is not pending: a lost enqueue would lose it")
	}
	if left, _ := b.s.ResendsLeft(ctx, of.Subject, 3); left != 2 {
		t.Fatalf("%d resends left, want 2", left)
	}
	if ttl := b.s.rdb.PTTL(ctx, b.s.idempotencyKey(tag(shardOfID(m.ID)), of.Idempotency.Scope, "k1")).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("answer kept for %v, want 24h", ttl)
	}
	before := dumpDB(t, b.s)
	for range 2 {
		_, err := b.s.Resend(ctx, of, b.to(resendSMS), resendKept)
		if r := answered(t, err); r.Status != 202 || string(r.Body) != `{"message_id":"`+m.ID+`"}` {
			t.Fatalf("repeat answered %d %s", r.Status, r.Body)
		}
	}
	other := of
	other.Idempotency = &IdempotencyKey{Scope: of.Idempotency.Scope, Key: "k1", Fingerprint: "another", TTL: time.Hour}
	if _, err := b.s.Resend(ctx, other, b.to(resendSMS), resendKept); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("same key, other request: %v", err)
	}
	unchanged(t, b.s, before, "repeats changed Redis")

	// A new code replaces the old in the same step and lifts the lock.
	b.lock(t)
	fresh := b.resendCode("k2")
	fresh.NewCode = otherCode
	res, err := b.s.Resend(ctx, fresh, b.to(resendSMS), resendKept)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := b.s.SecurityCode(ctx, b.appt.ID); code != otherCode || b.attempts(t) != 0 {
		t.Fatalf("code %s with %d attempts after a new one, want %s and 0", code, b.attempts(t), otherCode)
	}
	if sent := b.sent(t, res.Message.ID); !strings.Contains(sent, otherCode) {
		t.Fatalf("sent %q, want the new code", sent)
	}
}

// sent is the body a message is sent with: its sealed body opened, or
// the body shown when it carries no secret.
func (b booked) sent(t *testing.T, id string) string {
	t.Helper()
	h, err := b.s.rdb.HGetAll(context.Background(), b.s.messageKey(id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	sealed := chunked(h, "body_sealed")
	if sealed == "" {
		return chunked(h, "body")
	}
	body, err := b.s.openBody(sealed, id)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestResendRendersWhatTheStepFinds: a code replaced or a dose recorded
// between the read and the step is read and rendered again, so the SMS
// never carries a stale code or dose.
func TestResendRendersWhatTheStepFinds(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	renders := 0
	res, err := b.s.Resend(ctx, b.resendCode("k1"), b.to(func(src ResendSource) (NewMessage, error) {
		if renders++; renders == 1 {
			if err := b.s.ReplaceCode(ctx, b.appt.ID, otherCode); err != nil {
				t.Fatal(err)
			}
		}
		return resendSMS(src)
	}), resendKept)
	if err != nil || renders != 2 {
		t.Fatalf("resend: %v after %d renders, want 2", err, renders)
	}
	if sent := b.sent(t, res.Message.ID); !strings.Contains(sent, otherCode) {
		t.Fatalf("sent %q, want the code replaced before the step", sent)
	}

	walkIn := NewDose{BeneficiaryID: b.ben.ID, Vaccine: "COVISHIELD", Batch: "B1", CenterID: testCenter, Date: testToday}
	b.cancel(t)
	if _, err := b.s.RecordDose(ctx, walkIn, nil); err != nil {
		t.Fatal(err)
	}
	renders = 0
	of := ResendOf{BeneficiaryID: b.ben.ID, Subject: "ben:" + b.ben.ID, PerHour: 3}
	res, err = b.s.Resend(ctx, of, func(src ResendSource) (NewMessage, error) {
		if renders++; renders == 1 {
			walkIn.Date = "2025-06-10"
			if _, err := b.s.RecordDose(ctx, walkIn, nil); err != nil {
				t.Fatal(err)
			}
		}
		return resendSMS(src)
	}, nil)
	if err != nil || renders != 2 {
		t.Fatalf("resend: %v after %d renders, want 2", err, renders)
	}
	if sent := b.sent(t, res.Message.ID); !strings.HasPrefix(sent, "Dose 2 ") {
		t.Fatalf("sent %q, want the dose recorded before the step", sent)
	}
}

// TestResendRefusals: a cancelled appointment's or a dose-less
// beneficiary's refusal is kept for its key; not found and a spent limit
// keep nothing, so a later retry runs; without a key a refusal changes
// nothing.
func TestResendRefusals(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := b.s.Resend(ctx, b.resendCode(fmt.Sprint("ok", i)), b.to(resendSMS), resendKept); err != nil {
			t.Fatal(err)
		}
	}
	before := dumpDB(t, b.s)
	limited, err := b.s.Resend(ctx, b.resendCode("k1"), b.to(resendSMS), resendKept)
	if err != nil || limited.RetryAfter <= 0 || limited.Message.ID != "" {
		t.Fatalf("fourth resend in an hour: %+v %v, want a wait", limited, err)
	}
	unchanged(t, b.s, before, "a spent limit changed Redis")
	b.clock.Add(time.Hour + time.Second)
	if res, err := b.s.Resend(ctx, b.resendCode("k1"), b.to(resendSMS), resendKept); err != nil || res.Message.ID == "" {
		t.Fatalf("the same key an hour later: %+v %v, want it to run", res, err)
	}

	unknown := b.resendCode("k2")
	unknown.AppointmentID = "nosuchappointment"
	before = dumpDB(t, b.s)
	for range 2 {
		if _, err := b.s.Resend(ctx, unknown, b.to(resendSMS), resendKept); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown appointment: %v", err)
		}
	}
	unchanged(t, b.s, before, "an unknown appointment changed Redis")
	b.cancel(t)
	before = dumpDB(t, b.s)
	if _, err := b.s.Resend(ctx, b.resendCode(""), b.to(resendSMS), resendKept); !errors.Is(err, ErrNotActive) {
		t.Fatalf("cancelled, no key: %v", err)
	}
	unchanged(t, b.s, before, "a refusal without a key changed Redis")
	if _, err := b.s.Resend(ctx, b.resendCode("k3"), b.to(resendSMS), resendKept); !errors.Is(err, ErrNotActive) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := b.s.Resend(ctx, b.resendCode("k3"), b.to(resendSMS), resendKept); answered(t, err).Status != 409 {
		t.Fatalf("repeat of the refusal: %v", err)
	}

	of := ResendOf{BeneficiaryID: b.ben.ID, Subject: "ben:" + b.ben.ID, PerHour: 3}
	before = dumpDB(t, b.s)
	if _, err := b.s.Resend(ctx, of, resendSMS, resendKept); !errors.Is(err, ErrNoDose) {
		t.Fatalf("no dose, no key: %v", err)
	}
	unchanged(t, b.s, before, "a refusal without a key changed Redis")
	of.Idempotency = &IdempotencyKey{Scope: "s", Key: "k4", Fingerprint: "fp", TTL: time.Hour}
	if _, err := b.s.Resend(ctx, of, resendSMS, resendKept); !errors.Is(err, ErrNoDose) {
		t.Fatalf("no dose: %v", err)
	}
	if _, err := b.s.Resend(ctx, of, resendSMS, resendKept); answered(t, err).Status != 409 {
		t.Fatalf("repeat of the refusal: %v", err)
	}
	of.BeneficiaryID = "10000000000000"
	if _, err := b.s.Resend(ctx, of, resendSMS, resendKept); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown beneficiary: %v", err)
	}
}
