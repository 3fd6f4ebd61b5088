package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestScheduleRules records a history of doses, then tries one more dose
// and a booking on a date: the schedule's table (API.md) decides, and a
// refusal changes nothing in Redis.
func TestScheduleRules(t *testing.T) {
	type given struct {
		vaccine string
		ago     int // days before the dose or booking tried
	}
	for _, tc := range []struct {
		name    string
		history []given
		vaccine string // of the dose tried
		dosed   bool   // the dose is refused as the day's second
		opensOn int    // days after the date tried the next dose opens; 0: open
	}{
		{"first dose", nil, "COVISHIELD", false, 0},
		{"second on the same day", []given{{"COVISHIELD", 0}}, "COVISHIELD", true, 84},
		{"COVISHIELD a day early", []given{{"COVISHIELD", 83}}, "COVISHIELD", false, 1},
		{"COVISHIELD on the day", []given{{"COVISHIELD", 84}}, "COVISHIELD", false, 0},
		{"COVAXIN a day early", []given{{"COVAXIN", 27}}, "COVAXIN", false, 1},
		{"COVAXIN on the day", []given{{"COVAXIN", 28}}, "COVAXIN", false, 0},
		{"SPUTNIK_V a day early", []given{{"SPUTNIK_V", 20}}, "SPUTNIK_V", false, 1},
		{"SPUTNIK_V on the day", []given{{"SPUTNIK_V", 21}}, "SPUTNIK_V", false, 0},
		{"CORBEVAX a week early", []given{{"CORBEVAX", 21}}, "CORBEVAX", false, 7},
		{"ZYCOV_D third dose early", []given{{"ZYCOV_D", 60}, {"ZYCOV_D", 10}}, "ZYCOV_D", false, 18},
		{"ZYCOV_D third dose on the day", []given{{"ZYCOV_D", 56}, {"ZYCOV_D", 28}}, "ZYCOV_D", false, 0},
		{"precaution after ZYCOV_D early", []given{{"ZYCOV_D", 300}, {"ZYCOV_D", 250}, {"ZYCOV_D", 100}}, "ZYCOV_D", false, 82},
		{"SPUTNIK_LIGHT has no second dose", []given{{"SPUTNIK_LIGHT", 181}}, "SPUTNIK_LIGHT", false, 1},
		{"precaution after SPUTNIK_LIGHT", []given{{"SPUTNIK_LIGHT", 182}}, "COVISHIELD", false, 0},
		{"precaution a day early", []given{{"COVISHIELD", 300}, {"COVISHIELD", 181}}, "COVISHIELD", false, 1},
		{"precaution on the day", []given{{"COVISHIELD", 300}, {"COVISHIELD", 182}}, "COVISHIELD", false, 0},
		{"second precaution early", []given{{"COVAXIN", 700}, {"COVAXIN", 600}, {"COVAXIN", 100}}, "COVAXIN", false, 82},
		{"the first vaccine sets the course", []given{{"ZYCOV_D", 400}, {"COVISHIELD", 28}}, "COVISHIELD", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			ctx := context.Background()
			mustCenter(t, s, testCenter)
			ben := mustBeneficiary(t, s, "+919876543210")
			for _, g := range tc.history {
				if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Vaccine: g.vaccine, Batch: "B1",
					CenterID: testCenter, Date: daysFrom(t, testToday, -g.ago)}, nil); err != nil {
					t.Fatalf("history: %v", err)
				}
			}
			before := dumpDB(t, s)
			want := func(what string, err error) {
				t.Helper()
				var early *TooEarlyError
				switch {
				case tc.dosed && what == "dose":
					if !errors.Is(err, ErrDosedToday) {
						t.Fatalf("%s: %v, want ErrDosedToday", what, err)
					}
				case tc.opensOn > 0:
					if opens := daysFrom(t, testToday, tc.opensOn); !errors.As(err, &early) || early.OpensOn != opens {
						t.Fatalf("%s: %v, want too early, opening on %s", what, err, opens)
					}
				default:
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					return
				}
				unchanged(t, s, before, what+" refused but Redis changed")
			}
			_, err := s.BookAppointment(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: testCenter, Date: testToday,
				Slot: "09:00-11:00", Dose: len(tc.history) + 1}, testCode, daysFrom(t, testToday, -1))
			want("booking", err)
			if err == nil {
				return // the booking holds the day; a walk-in would be refused
			}
			_, err = s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Vaccine: tc.vaccine, Batch: "B2",
				CenterID: testCenter, Date: testToday}, nil)
			want("dose", err)
		})
	}
}

// TestScheduleRulesWalkIn: with the next dose open, a walk-in is recorded
// (the booking test above stops at the booking).
func TestScheduleRulesWalkIn(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustCenter(t, s, testCenter)
	ben := mustBeneficiary(t, s, "+919876543210")
	for i, day := range []string{daysFrom(t, testToday, -84), testToday} {
		d, err := s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Vaccine: "COVISHIELD", Batch: "B1",
			CenterID: testCenter, Date: day}, nil)
		if err != nil || d.Number != i+1 {
			t.Fatalf("dose %d on %s: %+v, %v", i+1, day, d, err)
		}
	}
}

// TestBookingWithASlipKeepsTheRule: a booking with its slip and an
// idempotency key (every optional key given) is refused too early, and
// one on the day the dose opens goes through.
func TestBookingWithASlipKeepsTheRule(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustCenter(t, s, testCenter)
	ben := mustBeneficiary(t, s, "+919876543210")
	if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Vaccine: "COVAXIN", Batch: "B1",
		CenterID: testCenter, Date: testToday}, nil); err != nil {
		t.Fatal(err)
	}
	slip := func(a Appointment) (NewMessage, error) {
		return NewMessage{To: ben.Mobile, Template: "appointment_slip", Language: "en", Body: "Slip for " + a.Date,
			Priority: PriorityTransactional}, nil
	}
	answers := func(a Appointment, msgID string) (Replay, Replay, error) {
		return Replay{Status: 201, Body: []byte(`{"id":"` + a.ID + `"}`)}, Replay{Status: 409, Body: []byte(`{}`)}, nil
	}
	book := func(date, key string) (string, error) {
		_, msgID, err := s.Book(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: testCenter, Date: date,
			Slot: "09:00-11:00", Dose: 2}, testCode, testToday, slip, idemKey(key, date), answers)
		return msgID, err
	}
	var early *TooEarlyError
	if _, err := book(daysFrom(t, testToday, 27), "k1"); !errors.As(err, &early) || early.OpensOn != daysFrom(t, testToday, 28) {
		t.Fatalf("booking a day early: %v", err)
	}
	msgID, err := book(daysFrom(t, testToday, 28), "k2")
	if err != nil || msgID == "" {
		t.Fatalf("booking on the day: %q, %v", msgID, err)
	}
	if m, err := s.Message(ctx, msgID); err != nil || m.Template != "appointment_slip" {
		t.Fatalf("slip %+v, %v", m, err)
	}
}

func daysFrom(t *testing.T, date string, days int) string {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, days).Format(time.DateOnly)
}
