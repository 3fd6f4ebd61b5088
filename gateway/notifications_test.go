package gateway

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"sandesh/store"
)

// TestOwedSMSAreNotLost: a request that dies after the booking, dose or
// cancellation is written but before its SMS is queued leaves the SMS
// owed, and the sweeper sends it.
func TestOwedSMSAreNotLost(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.gw.CreateCenter(ctx, CenterInput{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}); err != nil {
		t.Fatal(err)
	}
	b, err := r.gw.Register(ctx, Registration{Name: "Asha Patil", Mobile: "9876543210", BirthYear: 1980, Gender: "F", Language: "mr"})
	if err != nil {
		t.Fatal(err)
	}
	owed := func() []string {
		ns, err := r.store.OwedBefore(ctx, time.Now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	sweep := func(want ...string) {
		t.Helper()
		before := len(r.outbound(t, b.Mobile))
		if _, err := r.gw.SweepNotifications(ctx, 0); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range r.outbound(t, b.Mobile)[before:] {
			got = append(got, m.Template)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("sweeper sent %v, want %v", got, want)
		}
		if n := owed(); len(n) != 0 {
			t.Fatalf("still owed after the sweep: %v", n)
		}
	}

	// The flows settle what they owe.
	v, err := r.gw.Book(ctx, Booking{BeneficiaryID: b.ID, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.gw.Cancel(ctx, v.ID, nil); err != nil {
		t.Fatal(err)
	}
	if n := owed(); len(n) != 0 {
		t.Fatalf("flows left SMS owed: %v", n)
	}
	sweep()

	// The process dies right after each write.
	a, err := r.store.BookAppointment(ctx, store.Appointment{BeneficiaryID: b.ID, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 1}, "4821", r.today())
	if err != nil {
		t.Fatal(err)
	}
	sweep("appointment_slip")
	if got := r.outbound(t, b.Mobile); got[len(got)-1].Body != "PHC Aundh येथे "+smsDate(a.Date)+", 09:00-11:00 ची लसीकरण भेट निश्चित. सुरक्षा कोड **** लस देणाऱ्यांना सांगा." {
		t.Fatalf("owed slip = %q", got[len(got)-1].Body)
	}
	if _, err := r.store.RecordDose(ctx, store.NewDose{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: "B1", CenterID: "C1", Date: r.today(),
		Check: &store.CodeCheck{AppointmentID: a.ID, Code: "4821", Today: r.today()}}, nil); err != nil {
		t.Fatal(err)
	}
	sweep("dose_confirmation")

	a2, err := r.store.BookAppointment(ctx, store.Appointment{BeneficiaryID: b.ID, CenterID: "C1", Date: r.daysOn(28), Slot: "09:00-11:00", Dose: 2}, "5931", r.today()) // COVAXIN: 28 days on
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.CancelAppointment(ctx, a2.ID); err != nil {
		t.Fatal(err)
	}
	sweep("cancellation") // the slip of a cancelled booking is no longer owed

	// Two sweepers at once send each owed SMS once.
	if _, err := r.store.BookAppointment(ctx, store.Appointment{BeneficiaryID: b.ID, CenterID: "C1", Date: r.daysOn(28), Slot: "09:00-11:00", Dose: 2}, "6042", r.today()); err != nil {
		t.Fatal(err)
	}
	before := len(r.outbound(t, b.Mobile))
	done := make(chan struct{})
	go func() { r.gw.SweepNotifications(ctx, 0); close(done) }()
	r.gw.SweepNotifications(ctx, 0)
	<-done
	if n := len(r.outbound(t, b.Mobile)) - before; n != 1 {
		t.Fatalf("two sweepers sent %d slips, want 1", n)
	}
}

// TestDebtThatKeepsFailingIsADeadLetter: an owed SMS that cannot be built
// (here its sealed code no longer opens) is tried once per lease until
// store.MaxDebtTries, then listed as a dead letter, counted in /metrics,
// and no longer swept.
func TestDebtThatKeepsFailingIsADeadLetter(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.newCenter(t, "C1")
	b, err := r.gw.Register(ctx, Registration{Name: "Asha Patil", Mobile: "9876543210", BirthYear: 1980, Gender: "F", Language: "mr"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.store.BookAppointment(ctx, store.Appointment{BeneficiaryID: b.ID, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 1}, "4821", r.today())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.rdb.HSet(ctx, r.store.KeyOf("appt", a.ID), "code_sealed", "not-a-sealed-code").Err(); err != nil {
		t.Fatal(err)
	}
	for try := 1; try <= store.MaxDebtTries; try++ {
		if _, err := r.gw.SweepNotifications(ctx, 0); err != nil {
			t.Fatal(err)
		}
		r.advance(sweepLease + time.Second)
	}
	if owed, _ := r.store.OwedBefore(ctx, r.gw.now().Add(time.Hour), 10); len(owed) != 0 {
		t.Fatalf("still owed after %d failures: %v", store.MaxDebtTries, owed)
	}
	list, total, err := r.store.DeadLetters(ctx, 10)
	if err != nil || total != 1 || list[0].Ref != store.SlipNotification(a.ID) || list[0].Tries != store.MaxDebtTries {
		t.Fatalf("dead letters %+v (%d), %v", list, total, err)
	}
	if _, body := do(t, "GET", r.url+"/metrics", "", "", map[string]string{"Authorization": "Bearer " + adminKey}); !strings.Contains(body, "sandesh_dead_letters 1\n") {
		t.Fatalf("/metrics does not count the dead letter:\n%.2000s", body)
	}
}
