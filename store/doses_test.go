package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// confirmTo renders a stand-in confirmation whose body names the status
// and, through the step, the dose number, so a test sees what it chose.
// courseDays are the dates of n doses of a test course, oldest first and
// the last testToday: far enough apart that every gap, the precaution
// dose's too, has passed.
func courseDays(t *testing.T, n int) []string {
	t.Helper()
	today, err := time.Parse(time.DateOnly, testToday)
	if err != nil {
		t.Fatal(err)
	}
	days := make([]string, n)
	for i := range days {
		days[i] = today.AddDate(0, 0, -200*(n-1-i)).Format(time.DateOnly)
	}
	return days
}

func confirmTo(mobile string) Confirmations {
	return func(cert string) (partial, full Confirmation, err error) {
		for i, c := range []*Confirmation{&partial, &full} {
			c.NewMessage = NewMessage{To: mobile, Template: "dose_confirmation", Language: "en", Priority: PriorityTransactional}
			c.Prefix, c.Suffix = "dose ", fmt.Sprintf(" full=%v cert %s", i == 1, cert)
			for k := range c.ByDigits {
				c.ByDigits[k].Encoding, c.ByDigits[k].Segments = "GSM-7", k+1
			}
		}
		return partial, full, nil
	}
}

func TestRecordDoseRecordsItsConfirmationInTheSameStep(t *testing.T) {
	twelve := make([]string, 12)
	for i := range twelve {
		twelve[i] = "COVISHIELD"
	}
	for _, tc := range []struct {
		vaccines []string // given in order; the last is checked
		wantN    int
		wantFull bool
		segments int  // the stand-in's: the number of digits of the dose number
		owed     bool // no confirmation given: it is left owed
	}{
		{vaccines: []string{"COVISHIELD"}, wantN: 1, segments: 1},
		{vaccines: []string{"COVISHIELD", "COVISHIELD"}, wantN: 2, wantFull: true, segments: 1},
		{vaccines: []string{"SPUTNIK_LIGHT"}, wantN: 1, wantFull: true, segments: 1},
		{vaccines: []string{"ZYCOV_D", "ZYCOV_D"}, wantN: 2, segments: 1},
		{vaccines: []string{"ZYCOV_D", "COVISHIELD", "COVISHIELD"}, wantN: 3, wantFull: true, segments: 1}, // the first vaccine's course counts
		{vaccines: twelve, wantN: 12, wantFull: true, segments: 2},
		{vaccines: []string{"UNKNOWN"}, wantN: 1, wantFull: true, segments: 1}, // no course known: counted complete, as VaccinationStatus does
		{vaccines: []string{"COVISHIELD", "COVISHIELD"}, wantN: 2, wantFull: true, owed: true},
	} {
		t.Run(fmt.Sprint(tc.vaccines), func(t *testing.T) {
			s := newTestStore(t)
			ctx := context.Background()
			mustCenter(t, s, testCenter)
			ben := mustBeneficiary(t, s, "+919876543210")
			var out DoseOutcome
			confirm := confirmTo(ben.Mobile)
			if tc.owed {
				confirm = nil
			}
			days := courseDays(t, len(tc.vaccines))
			for i, v := range tc.vaccines {
				var err error
				out, err = s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Vaccine: v, Batch: "B1", CenterID: testCenter,
					Date: days[i], Mobile: ben.Mobile}, confirm)
				if err != nil {
					t.Fatal(err)
				}
			}
			if out.Number != tc.wantN || (out.Number >= out.Course) != tc.wantFull {
				t.Fatalf("dose %d of a %d-dose course, want dose %d full=%v", out.Number, out.Course, tc.wantN, tc.wantFull)
			}
			owed, err := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			if tc.owed {
				last := ConfirmationNotification(ben.ID, out.CertificateID, out.MessageID)
				if !out.Owed || out.MessageID == "" || len(owed) != len(tc.vaccines) || !slices.Contains(owed, last) {
					t.Fatalf("no confirmation given: message %q owed=%v, debts %v; want the confirmation owed under a reserved id", out.MessageID, out.Owed, owed)
				}
				if _, err := s.Message(ctx, out.MessageID); !errors.Is(err, ErrNotFound) {
					t.Fatalf("reserved message %s exists before it is paid: %v", out.MessageID, err)
				}
				// Paying the debt twice records one message.
				for range 2 {
					if _, err := s.CreateMessages(ctx, last, NewMessage{ID: out.MessageID, To: ben.Mobile, Template: "dose_confirmation",
						Body: "paid", Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}); err != nil {
						t.Fatal(err)
					}
				}
				if m, err := s.Message(ctx, out.MessageID); err != nil || m.Body != "paid" {
					t.Fatalf("paid confirmation %+v %v", m, err)
				}
				if hist, _ := s.MessagesByMobile(ctx, ben.Mobile, 10); len(hist) != 1 {
					t.Fatalf("history %d, want the one paid", len(hist))
				}
				if left, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10); len(left) != len(tc.vaccines)-1 || slices.Contains(left, last) {
					t.Fatalf("debts left %v", left)
				}
				return
			}
			if len(owed) != 0 || out.Owed {
				t.Fatalf("owed %v, want nothing: the confirmation was recorded in the step", owed)
			}
			m, err := s.Message(ctx, out.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("dose %d full=%v cert %s", tc.wantN, tc.wantFull, out.CertificateID)
			if m.Body != want || m.Segments != tc.segments || m.To != ben.Mobile || m.Status != StatusQueued || m.Priority != PriorityTransactional {
				t.Fatalf("confirmation %+v, want body %q to %s, queued", m, want, ben.Mobile)
			}
			pending, err := s.PendingBefore(ctx, time.Now().Add(time.Hour), 100)
			if err != nil || len(pending) != len(tc.vaccines) {
				t.Fatalf("pending %v (%v): every confirmation must be pending until sent", pending, err)
			}
			if hist, _ := s.MessagesByMobile(ctx, ben.Mobile, 10); len(hist) != min(len(tc.vaccines), 3) || hist[0].ID != m.ID { // the test store keeps 3
				t.Fatalf("history %v: want the confirmation first", hist)
			}
		})
	}
}

func TestRecordDoseIdempotent(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	key := func(k, fp string) *IdempotencyKey {
		return &IdempotencyKey{Scope: "center1 /v1/doses", Key: k, Fingerprint: fp, TTL: time.Hour}
	}
	c := b.check()
	c.Code = otherCode
	wrong := NewDose{BeneficiaryID: b.ben.ID, Check: &c, Vaccine: "COVISHIELD", Date: testToday, Mobile: b.ben.Mobile,
		Idempotency: key("k1", "wrong")}
	// A wrong code spends an attempt; its repeat replays the refusal and spends none.
	for i, wantReplay := range []bool{false, true, true} {
		out, err := b.s.RecordDose(ctx, wrong, confirmTo(b.ben.Mobile))
		var m *CodeMismatchError
		if !errors.As(err, &m) || m.AttemptsLeft != MaxCodeAttempts-1 || out.Replayed != wantReplay {
			t.Fatalf("try %d: %v replayed=%v, want a mismatch with %d left, replayed=%v", i, err, out.Replayed, MaxCodeAttempts-1, wantReplay)
		}
	}
	if n := b.attempts(t); n != 1 {
		t.Fatalf("%d attempts spent, want 1", n)
	}
	right := wrong
	rc := b.check()
	right.Check, right.Idempotency = &rc, key("k1", "right")
	if _, err := b.s.RecordDose(ctx, right, confirmTo(b.ben.Mobile)); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("key k1 with another request: %v, want ErrIdempotencyMismatch", err)
	}
	right.Idempotency = key("k2", "right")
	if first, err := b.s.RecordDose(ctx, right, confirmTo(b.ben.Mobile)); err != nil || first.Replayed || first.MessageID == "" {
		t.Fatalf("first dose %+v, %v", first, err)
	}
	replayKey := key("k3", "walk")
	walk := NewDose{BeneficiaryID: b.ben.ID, Vaccine: "COVISHIELD", Batch: "B2", CenterID: testCenter, Date: "2025-06-10",
		Mobile: b.ben.Mobile, Idempotency: replayKey}
	one, err := b.s.RecordDose(ctx, walk, confirmTo(b.ben.Mobile))
	if err != nil {
		t.Fatal(err)
	}
	two, err := b.s.RecordDose(ctx, walk, confirmTo(b.ben.Mobile))
	if err != nil || !two.Replayed {
		t.Fatalf("repeat: %+v, %v; want a replay", two, err)
	}
	if two.Number != one.Number || two.CertificateID != one.CertificateID || two.MessageID != one.MessageID ||
		two.Date != one.Date || two.Course != one.Course || two.CenterID != one.CenterID || !two.RecordedAt.Equal(one.RecordedAt) {
		t.Fatalf("replay %+v differs from the first outcome %+v", two.Dose, one.Dose)
	}
	got, err := b.s.Beneficiary(ctx, b.ben.ID)
	if err != nil || len(got.Doses) != 2 {
		t.Fatalf("%d doses (%v), want 2: a replay records nothing", len(got.Doses), err)
	}
	if hist, _ := b.s.MessagesByMobile(ctx, b.ben.Mobile, 10); len(hist) != 2 {
		t.Fatalf("%d messages, want 2: a replay sends nothing new", len(hist))
	}
	if got.Doses[0].CenterID != testCenter {
		t.Fatalf("booked dose recorded at %q, want its appointment's centre %s", got.Doses[0].CenterID, testCenter)
	}
	// A key the idempotency middleware answered before doses kept their
	// outcome in their step is answered as it was; one it still holds is
	// running.
	old := key("k4", "old")
	if _, err := b.s.BeginIdempotent(ctx, tag(shardOfID(b.ben.ID)), old.Scope, old.Key, old.Fingerprint, time.Minute); err != nil {
		t.Fatal(err)
	}
	walk.Idempotency = old
	if _, err := b.s.RecordDose(ctx, walk, confirmTo(b.ben.Mobile)); !errors.Is(err, ErrIdempotencyRunning) {
		t.Fatalf("a key the middleware holds: %v, want ErrIdempotencyRunning", err)
	}
	if _, err := b.s.FinishIdempotent(ctx, tag(shardOfID(b.ben.ID)), old.Scope, old.Key, old.Fingerprint, Replay{Status: 201, Body: []byte(`{"dose":9}`)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	out, err := b.s.RecordDose(ctx, walk, confirmTo(b.ben.Mobile))
	var answered *AnsweredError
	if !errors.As(err, &answered) || !out.Replayed || answered.Replay.Status != 201 || string(answered.Replay.Body) != `{"dose":9}` {
		t.Fatalf("a key the middleware answered: %+v %v, want its answer", out, err)
	}
	if got, _ := b.s.Beneficiary(ctx, b.ben.ID); len(got.Doses) != 2 {
		t.Fatalf("%d doses, want 2: an answered key records nothing", len(got.Doses))
	}
}
