package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/internal/redistest"
)

const (
	testCenter = "C001"
	testCode   = "7391"
	otherCode  = "4068"
)

// booked is a store with one centre, one beneficiary and their appointment
// for testToday at testCenter with testCode.
type booked struct {
	s     *Store
	clock *testClock
	ben   Beneficiary
	appt  Appointment
}

func newBooked(t *testing.T) booked {
	t.Helper()
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	mustCenter(t, s, testCenter)
	mustCenter(t, s, "C002")
	b := mustBeneficiary(t, s, "+919876543210")
	a := mustBook(t, s, b.ID, testToday, testCode, testToday)
	return booked{s: s, clock: clock, ben: b, appt: a}
}

func mustBook(t *testing.T, s *Store, benID, date, code, today string) Appointment {
	t.Helper()
	a, err := s.BookAppointment(context.Background(), Appointment{
		BeneficiaryID: benID, CenterID: testCenter, Date: date, Slot: "09:00-11:00", Dose: 1,
	}, code, today)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// check is a code check that passes on b's appointment.
func (b booked) check() CodeCheck {
	return CodeCheck{AppointmentID: b.appt.ID, BeneficiaryID: b.ben.ID, CenterID: testCenter, Code: testCode, Today: testToday}
}

func (b booked) attempts(t *testing.T) int {
	t.Helper()
	a, err := b.s.Appointment(context.Background(), b.appt.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a.Attempts
}

// lock spends every attempt on b's appointment.
func (b booked) lock(t *testing.T) {
	t.Helper()
	c := b.check()
	c.Code = "0000"
	for range MaxCodeAttempts {
		var m *CodeMismatchError
		if err := b.s.VerifyCode(context.Background(), c); !errors.As(err, &m) {
			t.Fatalf("locking: %v", err)
		}
	}
}

func (b booked) cancel(t *testing.T) {
	t.Helper()
	if _, err := b.s.CancelAppointment(context.Background(), b.appt.ID); err != nil {
		t.Fatal(err)
	}
}

func TestBookAppointment(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	a := b.appt
	if !validID(a.ID) || a.Status != AppointmentBooked || a.Attempts != 0 || !a.CreatedAt.Equal(t0) {
		t.Fatalf("booked %+v", a)
	}
	got, err := b.s.Appointment(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != a {
		t.Fatalf("loaded %+v, want %+v", got, a)
	}
	ben, err := b.s.Beneficiary(ctx, b.ben.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ben.ActiveAppointment != a.ID || ben.ActiveDate != testToday {
		t.Fatalf("beneficiary active = %q on %q, want %q on %q", ben.ActiveAppointment, ben.ActiveDate, a.ID, testToday)
	}
	for _, id := range []string{"", "nosuchappointment", "a:b", strings.Repeat("a", 65)} {
		if _, err := b.s.Appointment(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Appointment(%q): %v, want ErrNotFound", id, err)
		}
	}
	if _, err := b.s.BookAppointment(ctx, Appointment{BeneficiaryID: "10000000000000", CenterID: testCenter, Date: testToday},
		testCode, testToday); !errors.Is(err, ErrNotFound) {
		t.Fatalf("booking for an unknown beneficiary: %v, want ErrNotFound", err)
	}
}

func TestOneActiveAppointmentPerBeneficiary(t *testing.T) {
	for _, tc := range []struct {
		name      string
		firstDate string
		today     string // when the second booking is made
		want      error
	}{
		{"first is today", testToday, testToday, ErrAlreadyBooked},
		{"first is in the future", "2025-03-12", testToday, ErrAlreadyBooked},
		{"first is tomorrow, booked the day before", "2025-03-11", "2025-03-10", ErrAlreadyBooked},
		{"first was yesterday", "2025-03-09", testToday, nil},
		{"first was long ago", "2024-12-31", testToday, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newClockStore(t, newTestClock(t0))
			ctx := context.Background()
			ben := mustBeneficiary(t, s, "+919876543210")
			first := mustBook(t, s, ben.ID, tc.firstDate, testCode, tc.firstDate)
			second, err := s.BookAppointment(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: testCenter, Date: "2025-03-20"},
				otherCode, tc.today)
			if !errors.Is(err, tc.want) {
				t.Fatalf("second booking: err = %v, want %v", err, tc.want)
			}
			wantActive := first.ID
			if err == nil {
				wantActive = second.ID
			}
			got, err := s.Beneficiary(ctx, ben.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ActiveAppointment != wantActive {
				t.Fatalf("active appointment %q, want %q", got.ActiveAppointment, wantActive)
			}
		})
	}
}

func TestBookAppointmentParallel(t *testing.T) {
	const workers = 10
	s := newTestStore(t)
	ctx := context.Background()
	ben := mustBeneficiary(t, s, "+919876543210")
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			_, errs[i] = s.BookAppointment(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: testCenter, Date: testToday},
				testCode, testToday)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrAlreadyBooked):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d parallel bookings succeeded, want 1", ok)
	}
}

func TestCancelAppointment(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"unknown", "nosuchappointment", ErrNotFound},
		{"malformed", "a:b", ErrNotFound},
		{"cancel", b.appt.ID, nil},
		{"cancel twice", b.appt.ID, ErrNotActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := b.s.CancelAppointment(ctx, tc.id)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && a.Status != AppointmentCancelled {
				t.Fatalf("returned status %s", a.Status)
			}
		})
	}
	a, err := b.s.Appointment(ctx, b.appt.ID)
	if err != nil || a.Status != AppointmentCancelled {
		t.Fatalf("stored status %s, %v", a.Status, err)
	}
	ben, err := b.s.Beneficiary(ctx, b.ben.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ben.ActiveAppointment != "" || ben.ActiveDate != "" {
		t.Fatalf("cancel left the beneficiary booked: %q %q", ben.ActiveAppointment, ben.ActiveDate)
	}
	// The beneficiary is free to book again, and the cancelled code is dead.
	again := mustBook(t, b.s, b.ben.ID, testToday, otherCode, testToday)
	if err := b.s.VerifyCode(ctx, b.check()); !errors.Is(err, ErrNotActive) {
		t.Fatalf("code of the cancelled appointment: %v, want ErrNotActive", err)
	}
	if _, err := b.s.CancelAppointment(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
}

func TestCancelStaleAppointmentKeepsNewOne(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	ben := mustBeneficiary(t, s, "+919876543210")
	old := mustBook(t, s, ben.ID, "2025-03-01", testCode, "2025-03-01")
	cur := mustBook(t, s, ben.ID, "2025-03-15", otherCode, testToday)
	if _, err := s.CancelAppointment(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Beneficiary(ctx, ben.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ActiveAppointment != cur.ID || got.ActiveDate != "2025-03-15" {
		t.Fatalf("cancelling a stale booking cleared the current one: %q %q", got.ActiveAppointment, got.ActiveDate)
	}
}

func TestSecurityCodeNeverStoredInClear(t *testing.T) {
	// Random ids, hashes and ciphertexts may hold a 4-digit string by chance
	// (well under 1% a run); a code stored in clear shows up every time, so a
	// run fails only when every one of three fresh databases shows it.
	var hits []string
	for range 3 {
		hits = codeScan(t)
		if len(hits) == 0 {
			return
		}
	}
	t.Fatalf("security code found in Redis: %v", hits)
}

// codeScan books, verifies, replaces and uses a code in a fresh database and
// reports every place a code was found.
func codeScan(t *testing.T) []string {
	t.Helper()
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	mustCenter(t, s, testCenter)
	ben := mustBeneficiary(t, s, "+919876543210")
	var hits []string
	// Nothing before the booking holds the codes.
	if h := append(findInDB(t, s, testCode), findInDB(t, s, otherCode)...); len(h) > 0 {
		t.Fatalf("fixtures hold a test code: %v", h)
	}
	a := mustBook(t, s, ben.ID, testToday, testCode, testToday)
	hits = append(hits, findInDB(t, s, testCode)...)
	c := CodeCheck{AppointmentID: a.ID, CenterID: testCenter, Code: testCode, Today: testToday}
	if err := s.VerifyCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	hits = append(hits, findInDB(t, s, testCode)...)
	if err := s.ReplaceCode(ctx, a.ID, otherCode); err != nil {
		t.Fatal(err)
	}
	hits = append(hits, findInDB(t, s, testCode)...)
	hits = append(hits, findInDB(t, s, otherCode)...)
	c.Code = otherCode
	if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Check: &c, Vaccine: "Covishield", Batch: "B12",
		CenterID: testCenter, Date: testToday}, nil); err != nil {
		t.Fatal(err)
	}
	return append(hits, findInDB(t, s, otherCode)...)
}

func TestSecurityCodeAndReplaceCode(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	if code, err := b.s.SecurityCode(ctx, b.appt.ID); err != nil || code != testCode {
		t.Fatalf("SecurityCode = %q, %v; want %q", code, err, testCode)
	}
	for _, id := range []string{"", "nosuchappointment", "a:b"} {
		if _, err := b.s.SecurityCode(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SecurityCode(%q): %v, want ErrNotFound", id, err)
		}
	}
	b.lock(t)
	if err := b.s.VerifyCode(ctx, b.check()); !errors.Is(err, ErrCodeLocked) {
		t.Fatalf("locked: %v", err)
	}
	if err := b.s.ReplaceCode(ctx, b.appt.ID, otherCode); err != nil {
		t.Fatal(err)
	}
	if n := b.attempts(t); n != 0 {
		t.Fatalf("attempts after ReplaceCode = %d, want 0", n)
	}
	if code, err := b.s.SecurityCode(ctx, b.appt.ID); err != nil || code != otherCode {
		t.Fatalf("SecurityCode after replace = %q, %v; want %q", code, err, otherCode)
	}
	var m *CodeMismatchError
	if err := b.s.VerifyCode(ctx, b.check()); !errors.As(err, &m) || m.AttemptsLeft != MaxCodeAttempts-1 {
		t.Fatalf("old code after replace: %v, want a mismatch with %d left", err, MaxCodeAttempts-1)
	}
	c := b.check()
	c.Code = otherCode
	if err := b.s.VerifyCode(ctx, c); err != nil {
		t.Fatalf("new code: %v", err)
	}
	if err := b.s.ReplaceCode(ctx, "nosuchappointment", "1111"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReplaceCode on an unknown appointment: %v, want ErrNotFound", err)
	}
	b.cancel(t)
	if err := b.s.ReplaceCode(ctx, b.appt.ID, "1111"); !errors.Is(err, ErrNotActive) {
		t.Fatalf("ReplaceCode on a cancelled appointment: %v, want ErrNotActive", err)
	}
	if code, _ := b.s.SecurityCode(ctx, b.appt.ID); code != otherCode {
		t.Fatalf("a refused ReplaceCode changed the code to %q", code)
	}
}

func TestSealedCodeBoundToItsAppointment(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	one := mustBook(t, s, mustBeneficiary(t, s, "+919876543210").ID, testToday, testCode, testToday)
	two := mustBook(t, s, mustBeneficiary(t, s, "+919876543211").ID, testToday, otherCode, testToday)
	sealed, err := s.rdb.HGet(ctx, s.appointmentKey(one.ID), "code_sealed").Result()
	if err != nil {
		t.Fatal(err)
	}
	s.rdb.HSet(ctx, s.appointmentKey(two.ID), "code_sealed", sealed)
	if code, err := s.SecurityCode(ctx, two.ID); err == nil {
		t.Fatalf("a code sealed for one appointment opened on another: %q", code)
	}
}

func TestVerifyCodeOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, b booked)
		check    func(c CodeCheck) CodeCheck
		want     error
		left     int // for a mismatch
		attempts int // after the check
	}{
		{name: "right code", want: nil},
		{name: "unknown appointment", check: func(c CodeCheck) CodeCheck { c.AppointmentID = "nosuchappointment"; return c }, want: ErrNotFound},
		{name: "malformed appointment id", check: func(c CodeCheck) CodeCheck { c.AppointmentID = "a:b"; return c }, want: ErrNotFound},
		{name: "empty appointment id", check: func(c CodeCheck) CodeCheck { c.AppointmentID = ""; return c }, want: ErrNotFound},
		{name: "wrong centre", check: func(c CodeCheck) CodeCheck { c.CenterID = "C002"; return c }, want: ErrWrongCenter},
		{name: "wrong centre, wrong code: no attempt spent",
			check: func(c CodeCheck) CodeCheck { c.CenterID, c.Code = "C002", "0000"; return c }, want: ErrWrongCenter},
		{name: "wrong centre beats not active", setup: func(t *testing.T, b booked) { b.cancel(t) },
			check: func(c CodeCheck) CodeCheck { c.CenterID = "C002"; return c }, want: ErrWrongCenter},
		{name: "wrong centre beats locked", setup: func(t *testing.T, b booked) { b.lock(t) },
			check: func(c CodeCheck) CodeCheck { c.CenterID = "C002"; return c }, want: ErrWrongCenter, attempts: 5},
		{name: "any centre for admin", check: func(c CodeCheck) CodeCheck { c.CenterID = ""; return c }, want: nil},
		{name: "any centre for admin, wrong code",
			check: func(c CodeCheck) CodeCheck { c.CenterID, c.Code = "", "0000"; return c }, want: errCodeMismatch, left: 4, attempts: 1},
		{name: "wrong beneficiary", check: func(c CodeCheck) CodeCheck { c.BeneficiaryID = "10000000000000"; return c }, want: ErrWrongPerson},
		{name: "no beneficiary given", check: func(c CodeCheck) CodeCheck { c.BeneficiaryID = ""; return c }, want: nil},
		{name: "cancelled", setup: func(t *testing.T, b booked) { b.cancel(t) }, want: ErrNotActive},
		{name: "not active beats locked", setup: func(t *testing.T, b booked) { b.lock(t); b.cancel(t) },
			want: ErrNotActive, attempts: 5},
		{name: "completed", setup: func(t *testing.T, b booked) {
			c := b.check()
			if _, err := b.s.RecordDose(context.Background(), NewDose{BeneficiaryID: b.ben.ID, Check: &c, CenterID: testCenter, Date: testToday}, nil); err != nil {
				t.Fatal(err)
			}
		}, want: ErrNotActive},
		{name: "locked, right code", setup: func(t *testing.T, b booked) { b.lock(t) }, want: ErrCodeLocked, attempts: 5},
		{name: "locked beats wrong date", setup: func(t *testing.T, b booked) { b.lock(t) },
			check: func(c CodeCheck) CodeCheck { c.Today = "2025-03-11"; return c }, want: ErrCodeLocked, attempts: 5},
		{name: "wrong date", check: func(c CodeCheck) CodeCheck { c.Today = "2025-03-11"; return c }, want: ErrWrongDate},
		{name: "wrong date, wrong code: no attempt spent",
			check: func(c CodeCheck) CodeCheck { c.Today, c.Code = "2025-03-09", "0000"; return c }, want: ErrWrongDate},
		{name: "wrong code", check: func(c CodeCheck) CodeCheck { c.Code = "0000"; return c }, want: errCodeMismatch, left: 4, attempts: 1},
		{name: "empty code", check: func(c CodeCheck) CodeCheck { c.Code = ""; return c }, want: errCodeMismatch, left: 4, attempts: 1},
		{name: "code with a suffix", check: func(c CodeCheck) CodeCheck { c.Code += "0"; return c }, want: errCodeMismatch, left: 4, attempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBooked(t)
			if tc.setup != nil {
				tc.setup(t, b)
			}
			c := b.check()
			if tc.check != nil {
				c = tc.check(c)
			}
			err := b.s.VerifyCode(context.Background(), c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == errCodeMismatch {
				var m *CodeMismatchError
				if !errors.As(err, &m) || m.AttemptsLeft != tc.left {
					t.Fatalf("err = %#v, want %d attempts left", err, tc.left)
				}
			}
			if n := b.attempts(t); n != tc.attempts {
				t.Fatalf("attempts = %d, want %d", n, tc.attempts)
			}
		})
	}
}

func TestCodeAttemptsRunOut(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	wrong := b.check()
	wrong.Code = "0000"
	wrongDose := NewDose{BeneficiaryID: b.ben.ID, Check: &wrong, CenterID: testCenter, Date: testToday}
	// Verify-code and dose recording spend the same attempts.
	for i, left := range []int{4, 3, 2, 1, 0} {
		var err error
		if i%2 == 0 {
			err = b.s.VerifyCode(ctx, wrong)
		} else {
			_, err = b.s.RecordDose(ctx, wrongDose, nil)
		}
		var m *CodeMismatchError
		if !errors.As(err, &m) || m.AttemptsLeft != left {
			t.Fatalf("wrong code %d: err = %v, want a mismatch with %d left", i+1, err, left)
		}
		a, _ := b.s.Appointment(ctx, b.appt.ID)
		if a.AttemptsLeft() != left || a.Locked() != (left == 0) {
			t.Fatalf("after wrong code %d: AttemptsLeft %d Locked %v", i+1, a.AttemptsLeft(), a.Locked())
		}
	}
	right := b.check()
	if err := b.s.VerifyCode(ctx, right); !errors.Is(err, ErrCodeLocked) {
		t.Fatalf("right code when locked: %v, want ErrCodeLocked", err)
	}
	if _, err := b.s.RecordDose(ctx, NewDose{BeneficiaryID: b.ben.ID, Check: &right, CenterID: testCenter, Date: testToday}, nil); !errors.Is(err, ErrCodeLocked) {
		t.Fatalf("dose with the right code when locked: %v, want ErrCodeLocked", err)
	}
	if err := b.s.VerifyCode(ctx, wrong); !errors.Is(err, ErrCodeLocked) {
		t.Fatalf("wrong code when locked: %v, want ErrCodeLocked", err)
	}
	if n := b.attempts(t); n != MaxCodeAttempts {
		t.Fatalf("attempts = %d, want %d: a locked appointment still counts", n, MaxCodeAttempts)
	}
	if ben, _ := b.s.Beneficiary(ctx, b.ben.ID); len(ben.Doses) != 0 {
		t.Fatalf("doses recorded with wrong or locked codes: %+v", ben.Doses)
	}
}

func TestCodeChecksParallel(t *testing.T) {
	const workers = 20
	b := newBooked(t)
	ctx := context.Background()
	wrong := b.check()
	wrong.Code = "0000"
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			if i%2 == 0 {
				errs[i] = b.s.VerifyCode(ctx, wrong)
				return
			}
			_, errs[i] = b.s.RecordDose(ctx, NewDose{BeneficiaryID: b.ben.ID, Check: &wrong, CenterID: testCenter, Date: testToday}, nil)
		})
	}
	wg.Wait()
	mismatches, locked := 0, 0
	seen := map[int]bool{}
	for _, err := range errs {
		var m *CodeMismatchError
		switch {
		case errors.As(err, &m):
			mismatches++
			seen[m.AttemptsLeft] = true
		case errors.Is(err, ErrCodeLocked):
			locked++
		default:
			t.Fatalf("unexpected outcome: %v", err)
		}
	}
	if mismatches != MaxCodeAttempts || locked != workers-MaxCodeAttempts {
		t.Fatalf("%d mismatches and %d locked, want %d and %d", mismatches, locked, MaxCodeAttempts, workers-MaxCodeAttempts)
	}
	for left := range MaxCodeAttempts {
		if !seen[left] {
			t.Fatalf("no mismatch reported %d attempts left: %v", left, seen)
		}
	}
	if n := b.attempts(t); n != MaxCodeAttempts {
		t.Fatalf("attempts = %d, want %d", n, MaxCodeAttempts)
	}
}

func TestRecordDoseWalkIn(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	ben := mustBeneficiary(t, s, "+919876543210")
	other := mustBeneficiary(t, s, "+919876543211")
	certs := map[string]bool{}
	days := courseDays(t, 3)
	for _, tc := range []struct {
		ben     string
		vaccine string
		date    string
		want    int
	}{
		{ben.ID, "Covishield", days[0], 1},
		{ben.ID, "Covishield", days[1], 2},
		{other.ID, "Covaxin", days[1], 1},
		{ben.ID, "Corbevax", days[2], 3},
	} {
		d, err := s.RecordDose(ctx, NewDose{BeneficiaryID: tc.ben, Vaccine: tc.vaccine, Batch: "B1", CenterID: testCenter, Date: tc.date}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Number != tc.want {
			t.Fatalf("dose number %d, want %d", d.Number, tc.want)
		}
		if !allDigits(d.CertificateID, 13) || d.CertificateID[0] == '0' {
			t.Fatalf("certificate id %q: want 13 digits, the first not zero", d.CertificateID)
		}
		if certs[d.CertificateID] {
			t.Fatalf("certificate id %s given twice", d.CertificateID)
		}
		certs[d.CertificateID] = true
		if d.AppointmentID != "" || !d.RecordedAt.Equal(t0) {
			t.Fatalf("walk-in dose %+v", d)
		}
	}
	got, err := s.Beneficiary(ctx, ben.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantVaccines := []string{"Covishield", "Covishield", "Corbevax"}
	if len(got.Doses) != len(wantVaccines) {
		t.Fatalf("%d doses, want %d", len(got.Doses), len(wantVaccines))
	}
	for i, d := range got.Doses {
		if d.Number != i+1 || d.Vaccine != wantVaccines[i] || !certs[d.CertificateID] || d.Date != days[i] || d.CenterID != testCenter {
			t.Fatalf("dose %d = %+v", i+1, d)
		}
	}
	for _, id := range []string{"10000000000000", ""} {
		if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: id, Vaccine: "x", CenterID: testCenter, Date: testToday}, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("dose for beneficiary %q: %v, want ErrNotFound", id, err)
		}
	}
}

func TestRecordDoseWithCode(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	c := b.check()
	nd := NewDose{BeneficiaryID: b.ben.ID, Check: &c, Vaccine: "COVISHIELD", Batch: "B1", CenterID: testCenter, Date: testToday}
	d, err := b.s.RecordDose(ctx, nd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Number != 1 || d.AppointmentID != b.appt.ID || !allDigits(d.CertificateID, 13) {
		t.Fatalf("dose %+v", d)
	}
	a, err := b.s.Appointment(ctx, b.appt.ID)
	if err != nil || a.Status != AppointmentCompleted {
		t.Fatalf("appointment status %s, %v; want completed", a.Status, err)
	}
	ben, err := b.s.Beneficiary(ctx, b.ben.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ben.ActiveAppointment != "" || ben.ActiveDate != "" {
		t.Fatalf("completed appointment still active: %q %q", ben.ActiveAppointment, ben.ActiveDate)
	}
	if len(ben.Doses) != 1 || ben.Doses[0].AppointmentID != b.appt.ID || ben.Doses[0].CertificateID != d.CertificateID {
		t.Fatalf("doses %+v", ben.Doses)
	}
	if _, err := b.s.RecordDose(ctx, nd, nil); !errors.Is(err, ErrNotActive) {
		t.Fatalf("second dose with the same code: %v, want ErrNotActive", err)
	}
	if _, err := b.s.CancelAppointment(ctx, b.appt.ID); !errors.Is(err, ErrNotActive) {
		t.Fatalf("cancel after completion: %v, want ErrNotActive", err)
	}
	if ben, _ := b.s.Beneficiary(ctx, b.ben.ID); len(ben.Doses) != 1 {
		t.Fatalf("%d doses, want 1", len(ben.Doses))
	}
	// Completion freed the beneficiary for the next booking.
	mustBook(t, b.s, b.ben.ID, "2025-06-02", otherCode, testToday) // COVISHIELD's 84 days on
}

func TestRecordDoseRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, b booked)
		dose     func(t *testing.T, b booked, nd NewDose) NewDose
		want     error
		attempts int
	}{
		{name: "wrong beneficiary", dose: func(t *testing.T, b booked, nd NewDose) NewDose {
			nd.BeneficiaryID = mustBeneficiary(t, b.s, "+919000000000").ID
			return nd
		}, want: ErrWrongPerson},
		{name: "wrong beneficiary, wrong code: no attempt spent", dose: func(t *testing.T, b booked, nd NewDose) NewDose {
			nd.BeneficiaryID = mustBeneficiary(t, b.s, "+919000000000").ID
			nd.Check.Code = "0000"
			return nd
		}, want: ErrWrongPerson},
		{name: "unknown beneficiary", dose: func(t *testing.T, b booked, nd NewDose) NewDose { nd.BeneficiaryID = "10000000000000"; return nd }, want: ErrNotFound},
		{name: "unknown appointment", dose: func(t *testing.T, b booked, nd NewDose) NewDose {
			nd.Check.AppointmentID = "nosuchappointment"
			return nd
		}, want: ErrNotFound},
		{name: "malformed appointment", dose: func(t *testing.T, b booked, nd NewDose) NewDose { nd.Check.AppointmentID = "a:b"; return nd }, want: ErrNotFound},
		{name: "wrong centre", dose: func(t *testing.T, b booked, nd NewDose) NewDose { nd.Check.CenterID = "C002"; return nd }, want: ErrWrongCenter},
		{name: "wrong date", dose: func(t *testing.T, b booked, nd NewDose) NewDose { nd.Check.Today = "2025-03-11"; return nd }, want: ErrWrongDate},
		{name: "wrong code", dose: func(t *testing.T, b booked, nd NewDose) NewDose { nd.Check.Code = "0000"; return nd }, want: errCodeMismatch, attempts: 1},
		{name: "cancelled", setup: func(t *testing.T, b booked) { b.cancel(t) }, want: ErrNotActive},
		{name: "locked", setup: func(t *testing.T, b booked) { b.lock(t) }, want: ErrCodeLocked, attempts: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBooked(t)
			ctx := context.Background()
			if tc.setup != nil {
				tc.setup(t, b)
			}
			c := b.check()
			nd := NewDose{BeneficiaryID: b.ben.ID, Check: &c, Vaccine: "Covishield", CenterID: testCenter, Date: testToday}
			if tc.dose != nil {
				nd = tc.dose(t, b, nd)
			}
			if _, err := b.s.RecordDose(ctx, nd, nil); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if n := b.attempts(t); n != tc.attempts {
				t.Fatalf("attempts = %d, want %d", n, tc.attempts)
			}
			for _, id := range []string{b.ben.ID, nd.BeneficiaryID} {
				if ben, err := b.s.Beneficiary(ctx, id); err == nil && len(ben.Doses) != 0 {
					t.Fatalf("a refused dose was recorded for %s: %+v", id, ben.Doses)
				}
			}
			if keys, _ := b.s.rdb.Keys(ctx, b.s.certificateKey("*")).Result(); len(keys) != 0 {
				t.Fatalf("a refused dose reserved certificates %v", keys)
			}
		})
	}
}

func TestRecordDoseParallelRightCode(t *testing.T) {
	const workers = 10
	b := newBooked(t)
	ctx := context.Background()
	c := b.check()
	doses := make([]DoseOutcome, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			doses[i], errs[i] = b.s.RecordDose(ctx, NewDose{BeneficiaryID: b.ben.ID, Check: &c, Vaccine: "Covishield", CenterID: testCenter, Date: testToday}, nil)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if doses[i].Number != 1 {
				t.Fatalf("dose number %d, want 1", doses[i].Number)
			}
		case !errors.Is(err, ErrNotActive):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d doses recorded with one code, want 1", ok)
	}
	ben, err := b.s.Beneficiary(ctx, b.ben.ID)
	if err != nil || len(ben.Doses) != 1 {
		t.Fatalf("beneficiary has %d doses (%v), want 1", len(ben.Doses), err)
	}
}

// TestOwedNotificationLease: a debt is leased to one sweeper; if that
// sweeper dies before clearing it, the debt comes due again after the
// lease, so the SMS is late, never lost.
func TestOwedNotificationLease(t *testing.T) {
	now := time.Now()
	s, err := New(redistest.New(t, 1), Options{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ben := mustBeneficiary(t, s, "+919876543210")
	a, err := s.BookAppointment(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: "C1", Date: "2026-11-23", Slot: "09:00-11:00", Dose: 1}, "4821", "2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	n := SlipNotification(a.ID)
	owed, _ := s.OwedBefore(ctx, now, 10)
	if len(owed) != 1 || owed[0] != n {
		t.Fatalf("owed after booking = %v, want [%s]", owed, n)
	}
	if ok, err := s.ClaimNotification(ctx, n, now, time.Minute); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, _ := s.ClaimNotification(ctx, n, now, time.Minute); ok {
		t.Fatal("a leased debt was claimed twice")
	}
	if owed, _ := s.OwedBefore(ctx, now, 10); len(owed) != 0 {
		t.Fatalf("a leased debt is listed as due: %v", owed)
	}
	// The sweeper died. After the lease the debt is due again.
	now = now.Add(2 * time.Minute)
	if ok, _ := s.ClaimNotification(ctx, n, now, time.Minute); !ok {
		t.Fatal("the debt of a dead sweeper never came due again")
	}
	if err := s.NotificationQueued(ctx, n); err != nil {
		t.Fatal(err)
	}
	if owed, _ := s.OwedBefore(ctx, now.Add(time.Hour), 10); len(owed) != 0 {
		t.Fatalf("still owed after being queued: %v", owed)
	}
}

// TestBookAndCancelRecordTheirSMS: a booking records its slip, and a
// cancellation its notice, in the same step — queued, pending, sealed
// where it carries the code — and owes nothing; a refused step records
// nothing.
func TestBookAndCancelRecordTheirSMS(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustCenter(t, s, testCenter)
	ben := mustBeneficiary(t, s, "+919876543210")
	render := func(template, body string) Owed {
		return func(a Appointment) (NewMessage, error) {
			return NewMessage{To: ben.Mobile, Template: template, Body: body + " " + a.ID, Masked: strings.ReplaceAll(body, testCode, "****") + " " + a.ID,
				Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional}, nil
		}
	}
	a, slipID, err := s.Book(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: testCenter, Date: testToday, Slot: "09:00-11:00", Dose: 1},
		testCode, testToday, render("appointment_slip", "Your code is "+testCode), nil, nil)
	if err != nil || slipID == "" {
		t.Fatalf("book: %q %v", slipID, err)
	}
	slip, res, err := s.Claim(ctx, slipID, "w1", time.Minute)
	if err != nil || res != Claimed || slip.SendBody() != "Your code is "+testCode+" "+a.ID || slip.Body != "Your code is **** "+a.ID {
		t.Fatalf("slip %q / %q (%v %v)", slip.SendBody(), slip.Body, res, err)
	}
	if _, id, err := s.Book(ctx, Appointment{BeneficiaryID: ben.ID, CenterID: testCenter, Date: testToday}, otherCode, testToday,
		render("appointment_slip", "second"), nil, nil); !errors.Is(err, ErrAlreadyBooked) || id != "" {
		t.Fatalf("second booking: %q %v, want ErrAlreadyBooked", id, err)
	}
	cancelled, noticeID, err := s.Cancel(ctx, a.ID, render("cancellation", "cancelled"), nil, nil)
	if err != nil || noticeID == "" || cancelled.Status != AppointmentCancelled {
		t.Fatalf("cancel: %+v %q %v", cancelled, noticeID, err)
	}
	if m, err := s.Message(ctx, noticeID); err != nil || m.Body != "cancelled "+a.ID || m.Status != StatusQueued {
		t.Fatalf("notice %+v %v", m, err)
	}
	if _, id, err := s.Cancel(ctx, a.ID, render("cancellation", "again"), nil, nil); !errors.Is(err, ErrNotActive) || id != "" {
		t.Fatalf("second cancel: %q %v, want ErrNotActive", id, err)
	}
	if owed, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 10); len(owed) != 0 {
		t.Fatalf("owed %v: the SMS were recorded in their steps", owed)
	}
	if pending, _ := s.PendingBefore(ctx, time.Now().Add(time.Hour), 10); len(pending) != 2 {
		t.Fatalf("pending %v, want the slip and the notice until they are sent", pending)
	}
	if hist, _ := s.MessagesByMobile(ctx, ben.Mobile, 10); len(hist) != 2 {
		t.Fatalf("history holds %d, want slip and notice", len(hist))
	}
}

// TestResendCode: one step spends a resend under the limit support shares
// and opens the code as it is then; past the limit no code comes back.
func TestResendCode(t *testing.T) {
	b := newBooked(t)
	ctx := context.Background()
	for _, id := range []string{"", "nosuchappointment", "19a8e1f0c2a7d3b5e9f1024c6a8"} {
		if _, _, err := b.s.ResendCode(ctx, id, 2); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ResendCode(%q): %v, want ErrNotFound", id, err)
		}
	}
	if code, wait, err := b.s.ResendCode(ctx, b.appt.ID, 2); err != nil || wait != 0 || code != testCode {
		t.Fatalf("first resend = %q %v %v, want %q", code, wait, err, testCode)
	}
	if err := b.s.ReplaceCode(ctx, b.appt.ID, otherCode); err != nil {
		t.Fatal(err)
	}
	if code, wait, err := b.s.ResendCode(ctx, b.appt.ID, 2); err != nil || wait != 0 || code != otherCode {
		t.Fatalf("resend after a new code = %q %v %v, want %q", code, wait, err, otherCode)
	}
	if code, wait, err := b.s.ResendCode(ctx, b.appt.ID, 2); err != nil || wait <= 0 || wait > time.Hour || code != "" {
		t.Fatalf("past the limit = %q %v %v, want a wait and no code", code, wait, err)
	}
	// The same log AllowResend and support's resends count.
	if left, err := b.s.ResendsLeft(ctx, "appt:"+b.appt.ID, 2); err != nil || left != 0 {
		t.Fatalf("resends left %d (%v), want 0", left, err)
	}
}
