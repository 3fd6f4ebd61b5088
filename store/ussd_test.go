package store

import (
	"context"
	"reflect"
	"testing"
)

// ussdMobiles registers the mobiles the USSD step is read on:
//
//	full  four beneficiaries: two doses; booked today at C001; a completed
//	      booking still named active; booked at a centre that is gone
//	odd   two beneficiaries whose record names a malformed and a missing
//	      appointment id
//	prefs no beneficiaries, Marathi chosen and opted out
func ussdMobiles(t *testing.T, s *Store) (full, odd, prefs string) {
	t.Helper()
	ctx := context.Background()
	full, odd, prefs = "+919876543210", "+919812345678", "+919800000001"
	mustCenter(t, s, testCenter)
	vaccinated := mustBeneficiary(t, s, full)
	for _, day := range courseDays(t, 2) {
		if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: vaccinated.ID, Vaccine: "COVISHIELD", Batch: "B1",
			CenterID: testCenter, Date: day}, nil); err != nil {
			t.Fatal(err)
		}
	}
	mustBook(t, s, mustBeneficiary(t, s, full).ID, testToday, testCode, testToday)
	used := mustBook(t, s, mustBeneficiary(t, s, full).ID, "2025-03-01", testCode, "2025-03-01")
	_, err := s.BookAppointment(ctx, Appointment{BeneficiaryID: mustBeneficiary(t, s, full).ID,
		CenterID: "C404", Date: testToday, Slot: "11:00-13:00", Dose: 1}, testCode, testToday)
	if err != nil {
		t.Fatal(err)
	}
	// A record under a malformed id is no appointment, as Appointment says.
	if err := s.rdb.HSet(ctx, s.appointmentKey("bad id!"), "id", "bad id!", "center", testCenter, "date", testToday,
		"status", string(AppointmentBooked)).Err(); err != nil {
		t.Fatal(err)
	}
	for _, active := range []string{"bad id!", "00000000000000000000000000000"} {
		id := mustBeneficiary(t, s, odd).ID
		if err := s.rdb.HSet(ctx, s.beneficiaryKey(id), "active_appt", active, "active_date", testToday).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.rdb.HSet(ctx, s.appointmentKey(used.ID), "status", string(AppointmentCompleted)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMobileLanguage(ctx, prefs, "mr"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptedOut(ctx, prefs, true); err != nil {
		t.Fatal(err)
	}
	return full, odd, prefs
}

// readsOfUSSD is what StepUSSD replaces, read one by one: the mobile's
// choices, its beneficiaries, each one's appointment and its centre.
func readsOfUSSD(t *testing.T, s *Store, mobile string) USSDView {
	t.Helper()
	ctx := context.Background()
	prefs, err := s.MobilePrefs(ctx, mobile)
	if err != nil {
		t.Fatal(err)
	}
	bens, err := s.BeneficiariesByMobile(ctx, mobile)
	if err != nil {
		t.Fatal(err)
	}
	v := USSDView{Prefs: prefs}
	for _, b := range bens {
		p := PersonView{Beneficiary: b}
		if a, err := s.Appointment(ctx, b.ActiveAppointment); err == nil {
			p.Appointment = &Appointment{ID: a.ID, BeneficiaryID: a.BeneficiaryID, CenterID: a.CenterID,
				Date: a.Date, Slot: a.Slot, Status: a.Status}
			if c, err := s.Center(ctx, a.CenterID); err == nil {
				p.Center = &c
			}
		}
		v.People = append(v.People, p)
	}
	return v
}

func TestStepUSSDReadsWhatTheMenuNeeds(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	full, odd, prefs := ussdMobiles(t, s)
	for _, tc := range []struct {
		name, mobile string
		wantPrefs    MobilePrefs
		wantDoses    []int    // of each beneficiary, oldest first
		wantAppt     []string // the status of each one's appointment, "" none
		wantCenter   []string // its centre's name, "" none
	}{
		{"four beneficiaries", full, MobilePrefs{}, []int{2, 0, 0, 0},
			[]string{"", "booked", "completed", "booked"}, []string{"", "PHC C001", "PHC C001", ""}},
		{"malformed and missing appointment ids", odd, MobilePrefs{}, []int{0, 0}, []string{"", ""}, []string{"", ""}},
		{"choices, no beneficiary", prefs, MobilePrefs{Language: "mr", OptedOut: true}, nil, nil, nil},
		{"unknown mobile", "+919800000002", MobilePrefs{}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := s.StepUSSD(ctx, USSDStep{SessionID: "ATUid_" + tc.name, Mobile: tc.mobile, ServiceCode: "*384*12#"})
			if err != nil {
				t.Fatal(err)
			}
			if v.Prefs != tc.wantPrefs || len(v.People) != len(tc.wantDoses) {
				t.Fatalf("prefs %+v and %d people, want %+v and %d", v.Prefs, len(v.People), tc.wantPrefs, len(tc.wantDoses))
			}
			for i, p := range v.People {
				appt, center := "", ""
				if p.Appointment != nil {
					appt = string(p.Appointment.Status)
				}
				if p.Center != nil {
					center = p.Center.Name
				}
				if len(p.Doses) != tc.wantDoses[i] || appt != tc.wantAppt[i] || center != tc.wantCenter[i] {
					t.Errorf("person %d: %d doses, appointment %q at %q; want %d, %q at %q",
						i+1, len(p.Doses), appt, center, tc.wantDoses[i], tc.wantAppt[i], tc.wantCenter[i])
				}
			}
			if want := readsOfUSSD(t, s, tc.mobile); !reflect.DeepEqual(v, want) {
				t.Fatalf("the step read\n%+v\nthe reads it replaces give\n%+v", v, want)
			}
		})
	}
}

func TestStepUSSDRecordsTheStep(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	full, odd, _ := ussdMobiles(t, s)
	const unknown = "+919800000002"
	for _, tc := range []struct {
		name, mobile string
		endedWith    []bool // by count of beneficiaries: full has 4, odd 2, unknown none
		wantEnded    bool
	}{
		{"four, the fifth entry", full, []bool{true, false, false, false, true}, true},
		{"four, the last entry stands for more", full, []bool{true, false, true}, true},
		{"four, not ended", full, []bool{true, false, false, false, false, true}, false},
		{"two", odd, []bool{false, false, true, false}, true},
		{"two, not ended", odd, []bool{true, true, false}, false},
		{"none", unknown, []bool{true, false}, true},
		{"none, not ended", unknown, []bool{false, true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := USSDStep{SessionID: "ATUid_" + tc.name, Mobile: tc.mobile, ServiceCode: "*384*12#",
				Text: "1*2", Steps: 2, Ended: !tc.wantEnded, EndedWith: tc.endedWith}
			if _, err := s.StepUSSD(ctx, st); err != nil {
				t.Fatal(err)
			}
			got, err := s.USSDSessions(ctx, tc.mobile, 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("sessions %+v, %v", got, err)
			}
			if g := got[0]; g.Ended != tc.wantEnded || g.Text != "1*2" || g.Steps != 2 || g.ServiceCode != "*384*12#" || !g.StartedAt.Equal(t0) {
				t.Fatalf("session %+v, want ended %v", g, tc.wantEnded)
			}
		})
	}
	if _, err := s.StepUSSD(ctx, USSDStep{Mobile: full}); err == nil {
		t.Fatal("a step without a session id was taken")
	}
}

func TestStepUSSDIsOneCommand(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustCenter(t, s, testCenter)
	mobile := "+919876543210"
	for range 2 {
		mustBook(t, s, mustBeneficiary(t, s, mobile).ID, testToday, testCode, testToday)
	}
	st := USSDStep{SessionID: "ATUid_1", Mobile: mobile, ServiceCode: "*384*12#"}
	// The first loads the script, and the bookings' centre into the
	// process's cache: a centre lives on its own slot, read after the step
	// once per process.
	if _, err := s.StepUSSD(ctx, st); err != nil {
		t.Fatal(err)
	}
	tap := &redisTap{}
	s.rdb.AddHook(tap)
	v, err := s.StepUSSD(ctx, st)
	if err != nil || len(v.People) != 2 || v.People[0].Center == nil || v.People[0].Center.ID != testCenter {
		t.Fatalf("%d people (%+v), %v", len(v.People), v.People, err)
	}
	if tap.calls() != 1 || tap.counts["evalsha"] != 1 {
		t.Fatalf("the step sent %v, want one evalsha", tap.counts)
	}
}
