package gateway

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/reminders"
	"sandesh/store"
)

// doseOn records a walk-in dose of vaccine given daysAgo days ago.
func (r *rig) doseOn(t *testing.T, benID, vaccine string, daysAgo int) {
	t.Helper()
	if _, err := r.gw.recordDose(context.Background(), "C1", DoseInput{BeneficiaryID: benID, Vaccine: vaccine, Batch: "B1"},
		r.gw.daysAgo(daysAgo), nil); err != nil {
		t.Fatal(err)
	}
}

// remindersSent lists the dose_due messages queued to mobile, oldest first.
func (r *rig) remindersSent(t *testing.T, mobile string) []store.Message {
	t.Helper()
	var out []store.Message
	for _, m := range r.outbound(t, mobile) {
		if m.Template == "dose_due" {
			out = append(out, m)
		}
	}
	return out
}

// dueToday registers n people whose second COVAXIN dose opens today, at C1
// (created here), on the mobiles prefix0, prefix1, …
func (r *rig) dueToday(t *testing.T, n int, prefix string) (mobiles, ids []string) {
	t.Helper()
	r.newCenter(t, "C1")
	for i := range n {
		mobile := prefix + strconv.Itoa(i)
		id := r.newBeneficiary(t, "Person "+string(rune('A'+i)), mobile, "en")
		r.doseOn(t, id, "COVAXIN", 28)
		mobiles, ids = append(mobiles, mobile), append(ids, id)
	}
	return mobiles, ids
}

// remindersTo counts the reminders queued to mobiles.
func (r *rig) remindersTo(t *testing.T, mobiles []string) int {
	t.Helper()
	n := 0
	for _, m := range mobiles {
		n += len(r.remindersSent(t, m))
	}
	return n
}

// reminderFixtures registers, with today as their due day unless said:
// a COVAXIN first dose 28 days ago (English), a COVISHIELD first dose 84
// days ago on a mobile that chose Tamil, one booked, one opted out, one
// with a complete course, and one due tomorrow. It answers the mobiles
// that get a reminder and the others.
type reminderPeople struct {
	covaxin, covishield, booked, optedOut, complete, tomorrow string // mobiles
	covaxinID                                                 string
}

func reminderFixtures(t *testing.T, r *rig) reminderPeople {
	t.Helper()
	ctx := context.Background()
	r.newCenter(t, "C1")
	p := reminderPeople{covaxin: "+919876500101", covishield: "+919876500102", booked: "+919876500103",
		optedOut: "+919876500104", complete: "+919876500105", tomorrow: "+919876500106"}
	reg := func(name, mobile, lang string) string { return r.newBeneficiary(t, name, mobile, lang) }

	p.covaxinID = reg("Priya Sharma", p.covaxin, "en")
	r.doseOn(t, p.covaxinID, "COVAXIN", 28)

	r.doseOn(t, reg("Anbu Selvan", p.covishield, "hi"), "COVISHIELD", 84)
	r.inbound(t, "primary", "SM-ta", p.covishield, "LANG TA") // the mobile's choice wins

	booked := reg("Rahul Verma", p.booked, "en")
	r.doseOn(t, booked, "COVAXIN", 28)
	if _, err := r.gw.Book(ctx, Booking{BeneficiaryID: booked, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 2}, nil); err != nil {
		t.Fatal(err)
	}

	r.doseOn(t, reg("Neha Gupta", p.optedOut, "en"), "COVAXIN", 28)
	r.inbound(t, "primary", "SM-stop", p.optedOut, "STOP")

	full := reg("Meera Patil", p.complete, "mr")
	r.doseOn(t, full, "COVAXIN", 300)
	r.doseOn(t, full, "COVAXIN", 28)

	r.doseOn(t, reg("Kiran Rao", p.tomorrow, "en"), "COVAXIN", 27)
	return p
}

func TestReminders(t *testing.T) {
	r := newRig(t)
	p := reminderFixtures(t, r)
	admin := r.newKey(t, "admin", "")
	today := r.today()

	got := r.must(t, 200, "POST", "/v1/admin/reminders/run", admin, map[string]any{"date": today})
	want := map[string]any{"date": today, "due": 4.0, "queued": 2.0, "opted_out": 1.0, "already_sent": 0.0, "booked": 1.0, "state": "done"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("run: %s = %v, want %v (%v)", k, got[k], v, got)
		}
	}
	for _, tc := range []struct {
		mobile, lang string
		contains     []string
	}{
		{p.covaxin, "en", []string{"Priya Sharma", "dose 2 of COVAXIN", "due from " + smsDate(today)}},
		{p.covishield, "ta", []string{"Anbu Selvan", "COVISHIELD", smsDate(today)}},
	} {
		ms := r.remindersSent(t, tc.mobile)
		if len(ms) != 1 || ms[0].Language != tc.lang || ms[0].Priority != store.PriorityBulk {
			t.Fatalf("%s: reminders %+v, want one in %s on the bulk lane", tc.mobile, ms, tc.lang)
		}
		for _, s := range tc.contains {
			if !strings.Contains(ms[0].Body, s) {
				t.Errorf("%s: %q does not say %q", tc.mobile, ms[0].Body, s)
			}
		}
	}
	for _, m := range []string{p.booked, p.optedOut, p.complete, p.tomorrow} {
		if ms := r.remindersSent(t, m); len(ms) != 0 {
			t.Errorf("%s got a reminder: %v", m, ms[0].Body)
		}
	}

	// Run again: nothing new is queued; the reminders that went are counted.
	again := r.must(t, 200, "POST", "/v1/admin/reminders/run", admin, map[string]any{"date": today})
	if again["queued"] != 0.0 || again["already_sent"] != 2.0 || again["due"] != 4.0 {
		t.Errorf("second run = %v, want 0 queued, 2 already sent", again)
	}
	if n := len(r.remindersSent(t, p.covaxin)) + len(r.remindersSent(t, p.covishield)); n != 2 {
		t.Errorf("%d reminders after two runs, want 2", n)
	}
	if read := r.must(t, 200, "GET", "/v1/admin/reminders?date="+today, admin, nil); read["queued"] != 0.0 || read["already_sent"] != 2.0 || read["state"] != "done" {
		t.Errorf("GET = %v, want the second run's counts", read)
	}

	// Support sees when the next dose opens and whether its reminder went.
	who := Caller{KeyID: "key_t", Name: "Helpline", Role: store.RoleSupport}
	for _, tc := range []struct {
		mobile, due string
		reminded    int
	}{{p.covaxin, today, 2}, {p.tomorrow, r.daysOn(1), 0}, {p.complete, "", 0}} {
		l, err := r.gw.LookUpMobile(context.Background(), who, tc.mobile)
		if err != nil || len(l.People) != 1 {
			t.Fatalf("look up %s: %+v, %v", tc.mobile, l, err)
		}
		if per := l.People[0]; per.NextDue != tc.due || per.RemindedDose != tc.reminded {
			t.Errorf("%s: console shows next due %q, reminded dose %d; want %q, %d", tc.mobile, per.NextDue, per.RemindedDose, tc.due, tc.reminded)
		}
	}

	// The next dose takes the beneficiary out of the index; tomorrow's run
	// reminds the one due then. Default date: today.
	r.doseOn(t, p.covaxinID, "COVAXIN", 0)
	r.advance(day)
	tomorrow := r.must(t, 200, "POST", "/v1/admin/reminders/run", admin, nil)
	if tomorrow["date"] != r.today() || tomorrow["queued"] != 1.0 || tomorrow["due"] != 1.0 {
		t.Errorf("tomorrow's run = %v, want one queued", tomorrow)
	}
	if ms := r.remindersSent(t, p.tomorrow); len(ms) != 1 {
		t.Errorf("the one due tomorrow got %d reminders", len(ms))
	}
	b, err := r.store.Beneficiary(context.Background(), p.covaxinID)
	if err != nil || b.NextDue != "" || b.RemindedDose != 2 {
		t.Errorf("after the course: next due %q, reminded dose %d, %v; want none due, dose 2 reminded", b.NextDue, b.RemindedDose, err)
	}
}

func TestRemindersBadInput(t *testing.T) {
	r := newRig(t)
	admin := r.newKey(t, "admin", "")
	support := r.newKey(t, "support", "")
	for _, tc := range []struct {
		method, path, key string
		body              any
		status            int
		code              string
	}{
		{"POST", "/v1/admin/reminders/run", admin, map[string]any{"date": "2027-02-30"}, 400, "bad_request"},
		{"POST", "/v1/admin/reminders/run", admin, map[string]any{"date": "tomorrow"}, 400, "bad_request"},
		{"POST", "/v1/admin/reminders/run", admin, map[string]any{"day": "2027-02-14"}, 400, "bad_request"},
		{"POST", "/v1/admin/reminders/run", admin, "[]", 400, "bad_request"},
		{"POST", "/v1/admin/reminders/run", support, map[string]any{"date": "2027-02-14"}, 403, "forbidden"},
		{"POST", "/v1/admin/reminders/run", "", map[string]any{"date": "2027-02-14"}, 401, "unauthorized"},
		{"GET", "/v1/admin/reminders?date=2027-02-14", admin, nil, 404, "not_found"},
		{"GET", "/v1/admin/reminders?date=14/02/2027", admin, nil, 400, "bad_request"},
		{"GET", "/v1/admin/reminders?date=2027-02-14", support, nil, 403, "forbidden"},
	} {
		got := r.must(t, tc.status, tc.method, tc.path, tc.key, tc.body)
		if got["error"] != tc.code {
			t.Errorf("%s %s: %v, want %s", tc.method, tc.path, got, tc.code)
		}
	}
	if keys, _ := r.rdb.Keys(context.Background(), "sandesh:reminders:*").Result(); len(keys) != 0 {
		t.Errorf("refused requests left %v", keys)
	}
}

// TestReminderRunResumes: a process that dies in the middle of a run
// leaves it to the next, which goes on from its cursor once the lease
// lapses; nobody is reminded or counted twice.
func TestReminderRunResumes(t *testing.T) {
	r := newRig(t)
	mobiles, _ := r.dueToday(t, 7, "+91987650020")
	ctx := context.Background()
	today := r.today()

	// The dead process took the run, walked to the first shard with
	// someone due and stepped them.
	dead, _, err := r.store.TakeReminderRun(ctx, today, "dead", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for shard := 0; len(first) == 0; shard++ {
		if shard == store.DueShards {
			t.Fatal("nobody due in any shard")
		}
		if err := r.store.MoveReminderRun(ctx, dead, shard, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if first, err = r.store.DueOn(ctx, today, shard, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	cands, err := r.store.DueCandidates(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Reminder
	for i, c := range cands {
		batch = append(batch, r.gw.reminder(first[i], c, today))
	}
	if _, err := r.store.Remind(ctx, dead, today, time.Now().Add(time.Second), 0, batch); err != nil {
		t.Fatal(err)
	}

	// While its lease holds, another run waits and answers the counts so far.
	wait, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	counts, err := r.gw.RunReminders(wait, today)
	cancel()
	if err != nil || counts.State != "running" || counts.Queued != len(first) {
		t.Fatalf("run beside a live one = %+v, %v; want it running with %d queued", counts, err, len(first))
	}
	r.advance(3 * time.Second) // the lease lapses
	counts, err = r.gw.RunReminders(ctx, today)
	if err != nil || counts.State != "done" || counts.Queued != 7 || counts.Due != 7 {
		t.Fatalf("resumed run = %+v, %v; want all 7 queued once", counts, err)
	}
	if total := r.remindersTo(t, mobiles); total != 7 {
		t.Errorf("%d reminders sent, want 7", total)
	}
	// The dead process, should it wake, is fenced off.
	if _, err := r.store.Remind(ctx, dead, today, time.Now(), 0, batch); err == nil {
		t.Error("a run's former holder still steps it")
	}
}

// TestReminderRunsAtOnce: many runs of one date at once (workers, an
// admin) queue each reminder once and agree on the counts.
func TestReminderRunsAtOnce(t *testing.T) {
	r := newRig(t)
	mobiles, _ := r.dueToday(t, 5, "+91987650030")
	var wg sync.WaitGroup
	results := make([]ReminderCounts, 4)
	for i := range results {
		wg.Go(func() {
			var err error
			if results[i], err = r.gw.StartReminders(context.Background(), r.today()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	run, err := r.gw.Reminders(context.Background(), r.today())
	if err != nil || run.State != "done" {
		t.Fatalf("run = %+v, %v", run, err)
	}
	if total := r.remindersTo(t, mobiles); total != 5 {
		t.Errorf("%d reminders after 4 runs at once, want 5", total)
	}
}

func TestPaceDelay(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		queued  int
		elapsed time.Duration
		want    time.Duration
	}{
		{100, 500, time.Second, 4 * time.Second}, // 500 at 100/s take 5 s
		{100, 500, 5 * time.Second, 0},
		{100, 500, 6 * time.Second, -time.Second}, // behind: no wait
		{2500, 500, 0, 200 * time.Millisecond},    // two providers of 1,250 tps
	} {
		if got := paceDelay(tc.rate, tc.queued, tc.elapsed); got != tc.want {
			t.Errorf("paceDelay(%v, %d, %v) = %v, want %v", tc.rate, tc.queued, tc.elapsed, got, tc.want)
		}
	}
}

// TestDailyReminders: the worker's loop runs the day's reminders once the
// day's start time has passed, once, and not before it.
func TestDailyReminders(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	r.doseOn(t, r.newBeneficiary(t, "Priya Sharma", "+919876500401", "en"), "COVAXIN", 28)
	now := r.gw.now().In(r.gw.location)
	minute := reminders.Clock(now.Hour()*60 + now.Minute())
	ctx := context.Background()

	if minute < 23*60+59 {
		loop, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { r.gw.RunDailyReminders(loop, minute+1, 10*time.Millisecond); close(done) }()
		time.Sleep(100 * time.Millisecond)
		stop()
		<-done
		if _, err := r.gw.Reminders(ctx, r.today()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a run before the day's start: %v", err)
		}
	}

	loop, stop := context.WithCancel(ctx)
	defer stop()
	go r.gw.RunDailyReminders(loop, minute, 10*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, err := r.gw.Reminders(ctx, r.today())
		if err == nil && run.State == "done" {
			if run.Queued != 1 {
				t.Fatalf("daily run = %+v, want the one due queued", run)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no daily run: %+v, %v", run, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more checks of the loop: none runs the day again
	if run, _ := r.gw.Reminders(ctx, r.today()); run.Queued != 1 || run.AlreadySent != 0 {
		t.Errorf("the day ran again: %+v", run)
	}
	if n := len(r.remindersSent(t, "+919876500401")); n != 1 {
		t.Errorf("%d reminders, want 1", n)
	}
}

// BenchmarkReminderRunOfAnEmptyDay times a day's run where nobody is due:
// what every day costs before the first beneficiary of a shard is found,
// and on a cluster across all of its masters.
func BenchmarkReminderRunOfAnEmptyDay(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	day := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		counts, err := r.gw.RunReminders(ctx, day.AddDate(0, 0, i).Format(time.DateOnly))
		if err != nil || counts.Due != 0 {
			b.Fatalf("run: %+v, %v", counts, err)
		}
	}
}
