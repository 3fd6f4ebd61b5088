package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/clustertest"
	"sandesh/internal/redisdump"
	"sandesh/internal/redistest"
)

// The migration tests load what the earlier release (layout 1) wrote
// while driven through its API, simulator and support console
// (testdata/layout1: how it was made is in its README), migrate it, and
// then use it through this version's steps: read by the ids the earlier
// release issued, its code checked and its dose recorded, its pending
// messages and claims picked up, its due lists and idempotent answers found.

// layout1 is the fixture: the keys as dumped, and what was done to make them.
type layout1 struct {
	Dump  []redisdump.Key
	Facts struct {
		Config struct {
			Secret string `json:"secret"`
		} `json:"config"`
		Today   string `json:"today"`
		APIKeys []struct {
			ID, Role, Secret string
			Revoked          bool
		} `json:"api_keys"`
		Centers []struct{ ID string } `json:"centers"`
		Mobiles map[string]struct {
			Beneficiaries []struct {
				ID, Name       string
				DoseCount      int      `json:"dose_count"`
				CertificateIDs []string `json:"certificate_ids"`
				Active         string   `json:"active_appointment"`
			} `json:"beneficiaries"`
			Messages []struct{ ID string } `json:"messages_newest_first"`
		} `json:"mobiles"`
		Appointments []struct {
			ID, Status   string
			Beneficiary  string `json:"beneficiary_id"`
			Center       string `json:"center_id"`
			Date         string
			Dose         int
			SecurityCode *string `json:"security_code"`
		} `json:"appointments"`
		Messages struct {
			All []struct{ ID, Status, Direction, To, From string }
		} `json:"messages"`
		Dues         map[string][]string          `json:"dues"`
		ReminderRuns map[string]map[string]string `json:"reminder_runs"`
	}
}

func readLayout1(t *testing.T) *layout1 {
	t.Helper()
	var f layout1
	var err error
	if f.Dump, err = redisdump.Read("testdata/layout1/dump.json"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/layout1/facts.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f.Facts); err != nil {
		t.Fatalf("facts.json: %v", err)
	}
	return &f
}

// load writes the dump into rdb, as the earlier release left it.
func (f *layout1) load(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	if err := redisdump.Load(context.Background(), rdb, f.Dump); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, raw json.RawMessage, into any) {
	t.Helper()
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

// the value of the dumped key name's hash field.
func (f *layout1) field(t *testing.T, name, field string) string {
	t.Helper()
	for _, k := range f.Dump {
		if k.Key == name {
			var h map[string]string
			mustJSON(t, k.Value, &h)
			return h[field]
		}
	}
	t.Fatalf("no %s in the dump", name)
	return ""
}

// members lists the members of the dumped sorted set name.
func (f *layout1) members(t *testing.T, name string) []string {
	t.Helper()
	for _, k := range f.Dump {
		if k.Key == name {
			var zs []struct{ Member string }
			mustJSON(t, k.Value, &zs)
			var out []string
			for _, z := range zs {
				out = append(out, z.Member)
			}
			return out
		}
	}
	return nil
}

func (f *layout1) store(t *testing.T, rdb redis.UniversalClient) *Store {
	t.Helper()
	s, err := New(rdb, Options{Secret: []byte(f.Facts.Config.Secret)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrateInPlace(t *testing.T) {
	f := readLayout1(t)
	rdb := redistest.New(t, 1)
	ctx := context.Background()
	f.load(t, rdb)
	s := f.store(t, rdb)
	if err := s.CheckLayout(ctx); !errors.Is(err, ErrEarlierLayout) {
		t.Fatalf("before: CheckLayout = %v, want ErrEarlierLayout", err)
	}
	rep, err := s.Migrate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if rep.Unknowns != 0 {
		t.Errorf("unknown keys: %v", rep.Unknown)
	}
	for kind, n := range map[string]int{"beneficiary": 15, "appointment": 7, "message": 53, "centre": 5, "certificate": 13,
		"api key": 12, "idempotency answer": 11, "inbound id": 11, "reminder run": 2, "due entry": 8, "msgs:pending entry": 9} {
		if rep.Written[kind] != n {
			t.Errorf("written %s: %d, want %d", kind, rep.Written[kind], n)
		}
	}
	if rep.Dropped["kyvs transaction"] != 4 || rep.Dropped["ussd session"] != 1 {
		t.Errorf("left behind: %v, want the 4 KYVS transactions and the USSD session", rep.Dropped)
	}
	if rep.Removed == 0 || rep.Pointers == 0 {
		t.Errorf("removed %d keys, wrote %d pointers", rep.Removed, rep.Pointers)
	}
	// asynq's keys are not the store's: they stay, and their tasks name
	// ids that still work.
	if n, _ := rdb.Exists(ctx, "asynq:{transactional}:pending").Result(); n != 1 {
		t.Error("asynq's pending list is gone")
	}
	checkMigrated(t, f, rdb)

	again, err := f.store(t, rdb).Migrate(ctx, nil)
	if err != nil || len(again.Written) != 0 || again.Removed != 0 {
		t.Fatalf("a second run: %+v, %v; want nothing to do", again, err)
	}
}

func TestMigrateResumesAfterAStop(t *testing.T) {
	f := readLayout1(t)
	rdb := redistest.New(t, 1)
	ctx := context.Background()
	f.load(t, rdb)
	// The connection breaks after the first few pipelines: the run stops
	// half-way, and the new version refuses to start on what it left.
	var left atomic.Int32
	left.Store(4)
	rdb.AddHook(breakAfter{&left})
	if _, err := f.store(t, rdb).Migrate(ctx, nil); err == nil {
		t.Fatal("the run went through a broken connection")
	}
	left.Store(1 << 30)
	if err := f.store(t, rdb).CheckLayout(ctx); !errors.Is(err, ErrEarlierLayout) || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("half-way: CheckLayout = %v, want a refusal that says to migrate again", err)
	}
	if _, err := f.store(t, rdb).Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkMigrated(t, f, rdb)
}

// TestMigrateTurnsDoseListsIntoFields: the doses a version before the
// dose fields kept in a list of JSON become fields of the beneficiary's
// hash, and the next dose counts and checks them there.
func TestMigrateTurnsDoseListsIntoFields(t *testing.T) {
	f := readLayout1(t)
	rdb := redistest.New(t, 1)
	ctx := context.Background()
	f.load(t, rdb)
	var id string
	for _, m := range f.Facts.Mobiles {
		for _, b := range m.Beneficiaries {
			if b.DoseCount == 0 && b.Active == "" {
				id = b.ID
			}
		}
	}
	first := `{"dose":0,"vaccine":"COVISHIELD","batch":"OLD1","date":"2026-01-01","center_id":"C1","certificate_id":"1234567890123","recorded_at":"2026-01-01T05:00:00Z"}`
	if err := rdb.RPush(ctx, "sandesh:ben:"+id+":doses", first).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := f.store(t, rdb).Migrate(ctx, nil)
	if err != nil || rep.Written["dose list, now fields"] != 1 {
		t.Fatalf("migrate: %+v, %v; want one dose list turned into fields", rep, err)
	}
	if keys, _ := rdb.Keys(ctx, "*:doses").Result(); len(keys) != 0 {
		t.Fatalf("dose lists left: %v", keys)
	}
	s := f.store(t, rdb)
	if err := s.CheckLayout(ctx); err != nil {
		t.Fatal(err)
	}
	var early *TooEarlyError
	if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: id, Vaccine: "COVISHIELD", Batch: "B2", CenterID: "C1", Date: "2026-02-01"}, nil); !errors.As(err, &early) || early.OpensOn != "2026-03-26" {
		t.Fatalf("second dose before it opens: %v, want too early until 2026-03-26", err)
	}
	out, err := s.RecordDose(ctx, NewDose{BeneficiaryID: id, Vaccine: "COVISHIELD", Batch: "B2", CenterID: "C1", Date: f.Facts.Today}, nil)
	if err != nil || out.Number != 2 || out.Course != 2 {
		t.Fatalf("second dose = %+v, %v; want dose 2 of 2", out, err)
	}
	b, err := s.Beneficiary(ctx, id)
	if err != nil || len(b.Doses) != 2 || b.Doses[0].Batch != "OLD1" || b.Doses[0].CertificateID != "1234567890123" ||
		b.Doses[0].CenterID != "C1" || b.Doses[1].Batch != "B2" {
		t.Fatalf("doses read back %+v, %v", b.Doses, err)
	}
}

// breakAfter fails every pipeline once left reaches 0.
type breakAfter struct{ left *atomic.Int32 }

func (breakAfter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (breakAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (b breakAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if b.left.Add(-1) < 0 {
			return errors.New("connection broke")
		}
		return next(ctx, cmds)
	}
}

// TestMigrateIntoACluster moves a single Redis of the earlier layout into
// a Redis Cluster: every step below runs there, where a key on the wrong
// slot would be refused.
func TestMigrateIntoACluster(t *testing.T) {
	f := readLayout1(t)
	src := redistest.New(t, 1)
	ctx := context.Background()
	f.load(t, src)
	cl := clustertest.Start(t)
	rdb := cl.Client()
	t.Cleanup(func() { rdb.Close() })
	s := f.store(t, rdb)
	rep, err := s.Migrate(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 0 {
		t.Errorf("removed %d keys of the source", rep.Removed)
	}
	if n, _ := src.Exists(ctx, "sandesh:ben:"+f.Facts.Appointments[0].Beneficiary).Result(); n != 1 {
		t.Error("the source lost its records")
	}
	checkMigrated(t, f, rdb)
	if _, err := f.store(t, rdb).Migrate(ctx, src); !errors.Is(err, ErrMigrateTarget) {
		t.Fatalf("into a cluster already migrated: %v, want ErrMigrateTarget", err)
	}
}

// checkMigrated uses the migrated data through a new process's store.
func checkMigrated(t *testing.T, f *layout1, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	s := f.store(t, rdb)
	if err := s.CheckLayout(ctx); err != nil {
		t.Fatalf("after: CheckLayout = %v", err)
	}
	if !s.moved.on.Load() {
		t.Fatal("the store does not look for moved records")
	}
	// Nothing of the earlier layout is left under the prefix.
	if key, err := s.earlierLayoutKey(ctx); err != nil || key != "" {
		t.Fatalf("earlier layout's key %q left (%v)", key, err)
	}

	t.Run("beneficiaries by their ids and by mobile", func(t *testing.T) {
		for mobile, m := range f.Facts.Mobiles {
			var want []string
			for _, fb := range m.Beneficiaries {
				want = append(want, fb.ID)
				b, err := s.Beneficiary(ctx, fb.ID)
				if err != nil {
					t.Fatalf("%s: %v", fb.ID, err)
				}
				var certs []string
				for _, d := range b.Doses {
					certs = append(certs, d.CertificateID)
				}
				if b.Name != fb.Name || b.Mobile != mobile || len(b.Doses) != fb.DoseCount ||
					!slices.Equal(certs, fb.CertificateIDs) || b.ActiveAppointment != fb.Active {
					t.Errorf("%s = %+v, want %+v", fb.ID, b, fb)
				}
			}
			bs, err := s.BeneficiariesByMobile(ctx, mobile)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range bs {
				got = append(got, b.ID)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s's beneficiaries: %v, want %v", mobile, got, want)
			}
		}
	})
	t.Run("appointments", func(t *testing.T) {
		for _, fa := range f.Facts.Appointments {
			a, err := s.Appointment(ctx, fa.ID)
			if err != nil {
				t.Fatalf("%s: %v", fa.ID, err)
			}
			if string(a.Status) != fa.Status || a.BeneficiaryID != fa.Beneficiary || a.CenterID != fa.Center || a.Date != fa.Date {
				t.Errorf("%s = %+v, want %+v", fa.ID, a, fa)
			}
		}
	})
	t.Run("messages and histories", func(t *testing.T) {
		for _, fm := range f.Facts.Messages.All {
			m, err := s.Message(ctx, fm.ID)
			if err != nil {
				t.Fatalf("%s: %v", fm.ID, err)
			}
			if string(m.Status) != fm.Status || m.To != fm.To {
				t.Errorf("%s = %s to %s, want %s to %s", fm.ID, m.Status, m.To, fm.Status, fm.To)
			}
		}
		for mobile, fm := range f.Facts.Mobiles {
			ms, err := s.MessagesByMobile(ctx, mobile, 200)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != len(fm.Messages) {
				t.Fatalf("%s: %d messages in the history, want %d", mobile, len(ms), len(fm.Messages))
			}
			for i := range ms {
				if ms[i].ID != fm.Messages[i].ID {
					t.Errorf("%s: history[%d] = %s, want %s", mobile, i, ms[i].ID, fm.Messages[i].ID)
				}
			}
		}
	})
	t.Run("pending messages and a dead worker's claims", func(t *testing.T) {
		pending, err := s.PendingBefore(ctx, time.Now().Add(time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(pending)
		want := f.members(t, "sandesh:msgs:pending")
		slices.Sort(want)
		if !slices.Equal(pending, want) {
			t.Errorf("pending %v, want %v", pending, want)
		}
		for _, id := range pending {
			// Its body, sealed and cut in pieces by the earlier release,
			// opens as the worker will send it.
			if body, err := s.SendBody(ctx, id); err != nil || body == "" || strings.Contains(body, "****") {
				t.Errorf("pending %s: body %q, %v", id, body, err)
			}
		}
		orphans, err := s.Orphans(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		claimed := f.members(t, "sandesh:msgs:inflight")
		if len(orphans) != len(claimed) {
			t.Fatalf("orphans %+v, want the killed worker's %v", orphans, claimed)
		}
		for _, o := range orphans {
			if !slices.Contains(claimed, o.ID) {
				t.Errorf("orphan %s was not claimed", o.ID)
			}
		}
	})
	t.Run("due lists and reminder runs", func(t *testing.T) {
		for date, want := range f.Facts.Dues {
			var got []string
			for shard := range DueShards {
				ids, err := s.DueOn(ctx, date, shard, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids...)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("due on %s: %v, want %v", date, got, want)
			}
		}
		for date, fr := range f.Facts.ReminderRuns {
			run, err := s.ReminderRun(ctx, date)
			if err != nil {
				t.Fatal(err)
			}
			if run.State != fr["state"] || run.Due != atoi(fr["due"]) || run.Queued != atoi(fr["queued"]) ||
				run.Booked != atoi(fr["booked"]) || run.StartedAt.UnixMilli() != int64(atoi(fr["started_at"])) {
				t.Errorf("run of %s = %+v, want %v", date, run, fr)
			}
		}
	})
	t.Run("keys and centres", func(t *testing.T) {
		for _, fk := range f.Facts.APIKeys {
			k, err := s.APIKeyBySecret(ctx, fk.Secret)
			if fk.Revoked {
				if err == nil {
					t.Errorf("revoked key %s still works", fk.ID)
				}
				continue
			}
			if err != nil || k.ID != fk.ID || string(k.Role) != fk.Role {
				t.Errorf("key %s: %+v, %v", fk.ID, k, err)
			}
		}
		for _, fc := range f.Facts.Centers {
			if _, err := s.Center(ctx, fc.ID); err != nil {
				t.Errorf("centre %s: %v", fc.ID, err)
			}
		}
	})
	t.Run("a repeat gets the answer the earlier release kept", func(t *testing.T) {
		const key = "sandesh:idem:8fe517949d772915f7d0be45:idem-reg-anil"
		idem := &IdempotencyKey{Scope: "8fe517949d772915f7d0be45", Key: "idem-reg-anil",
			Fingerprint: f.field(t, key, "fp"), TTL: time.Hour}
		kept := func(Beneficiary) (Replay, Replay, error) { return Replay{Status: 201}, Replay{Status: 409}, nil }
		_, err := s.CreateBeneficiaryOnce(ctx, Beneficiary{Name: "Anil Kulkarni", Mobile: "+919876500010", BirthYear: 1972},
			4, idem, kept)
		var answered *AnsweredError
		if !errors.As(err, &answered) || answered.Replay.Status != 201 || !strings.Contains(string(answered.Replay.Body), "66852395685829") {
			t.Fatalf("repeat: %v, want the first answer", err)
		}
	})
	t.Run("steps on the earlier release's records", func(t *testing.T) {
		// Suresh's booking of today: its code checks, and the dose is his
		// second, beside the one the earlier release recorded.
		var suresh struct{ appt, ben, center, code string }
		for _, fa := range f.Facts.Appointments {
			if fa.Status == "booked" && fa.Date == f.Facts.Today && fa.SecurityCode != nil && fa.Dose == 2 {
				suresh.appt, suresh.ben, suresh.center, suresh.code = fa.ID, fa.Beneficiary, fa.Center, *fa.SecurityCode
			}
		}
		if suresh.appt == "" {
			t.Fatal("no booking of today with a known code in the fixture")
		}
		check := CodeCheck{AppointmentID: suresh.appt, CenterID: suresh.center, Code: suresh.code, Today: f.Facts.Today}
		if err := s.VerifyCode(ctx, check); err != nil {
			t.Fatalf("verify code: %v", err)
		}
		out, err := s.RecordDose(ctx, NewDose{BeneficiaryID: suresh.ben, Check: &check, Vaccine: "COVISHIELD", Batch: "B2",
			Date: f.Facts.Today}, nil)
		if err != nil || out.Number != 2 {
			t.Fatalf("dose: %+v, %v", out, err)
		}
		b, err := s.Beneficiary(ctx, suresh.ben)
		if err != nil || len(b.Doses) != 2 {
			t.Fatalf("after the dose: %+v, %v", b, err)
		}
		// A cancelled citizen books again; the new appointment is in their shard.
		var ramesh string
		for _, fa := range f.Facts.Appointments {
			if fa.Status == "cancelled" {
				ramesh = fa.Beneficiary
			}
		}
		a, _, err := s.Book(ctx, Appointment{BeneficiaryID: ramesh, CenterID: "C1", Date: "2026-12-20", Slot: "09:00-11:00", Dose: 1},
			"1234", f.Facts.Today, slipTo(b2mobile(t, s, ramesh)), nil, nil)
		if err != nil {
			t.Fatalf("book: %v", err)
		}
		if !strings.HasPrefix(a.ID, shardOfMobile(b2mobile(t, s, ramesh))) {
			t.Errorf("the new appointment %s is not in the citizen's shard", a.ID)
		}
		// The code of a booking made before, resent; then the booking cancelled.
		for _, fa := range f.Facts.Appointments {
			if fa.Status != "booked" || fa.Date <= f.Facts.Today {
				continue
			}
			if code, _, err := s.ResendCode(ctx, fa.ID, 3); err != nil || len(code) != 4 {
				t.Fatalf("resend the code of %s: %q, %v", fa.ID, code, err)
			}
			if a, err := s.CancelAppointment(ctx, fa.ID); err != nil || a.Status != AppointmentCancelled {
				t.Fatalf("cancel %s: %+v, %v", fa.ID, a, err)
			}
			break
		}
		// A verifier's OTP about an earlier beneficiary unlocks their doses.
		ben := f.Facts.Appointments[0].Beneficiary
		sms := smsTo(b2mobile(t, s, ben), "kyvs_otp", "Your OTP is 123456", "Your OTP is ******")
		txn, sent, err := s.StartOTP(ctx, "key_v", ben, "123456", time.Minute, OTPBudget{Max: 10, Window: time.Hour}, &sms)
		if err != nil || sent == "" {
			t.Fatalf("start otp: %q, %v", sent, err)
		}
		if v, err := s.ConfirmOTP(ctx, txn, "key_v", "123456"); err != nil || v.Beneficiary.ID != ben || len(v.Beneficiary.Doses) == 0 {
			t.Fatalf("confirm otp: %+v, %v", v, err)
		}
		// The reminder of a beneficiary on a due list made before.
		for date, ids := range f.Facts.Dues {
			if date <= f.Facts.Today {
				continue
			}
			run, _, err := s.TakeReminderRun(ctx, date, "runner", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			cands, err := s.DueCandidates(ctx, ids[:1])
			if err != nil || cands[0].ID != ids[0] {
				t.Fatalf("due candidates of %s: %+v, %v", date, cands, err)
			}
			nm := smsTo(cands[0].Mobile, "dose_due", "Your next dose is due", "")
			res, err := s.Remind(ctx, run, f.Facts.Today, time.Now().Add(time.Minute), 0,
				[]Reminder{{BeneficiaryID: ids[0], Dose: cands[0].Given + 1, Message: &nm}})
			if err != nil || res[0].Outcome != RemindQueued {
				t.Fatalf("remind %s on %s: %+v, %v", ids[0], date, res, err)
			}
			break
		}
		// A worker's life of a message the earlier release left pending, and
		// of the reply it left owed.
		pending := f.members(t, "sandesh:msgs:pending")
		m, got, err := s.Claim(ctx, pending[0], "worker-new", time.Minute)
		if err != nil || got != Claimed || m.ID != pending[0] {
			t.Fatalf("claim %s: %v %+v, %v", pending[0], got, m, err)
		}
		if changed, err := s.Advance(ctx, pending[0], Update{Status: StatusSent, Provider: "console", ProviderMessageID: "p-1"}); err != nil || !changed {
			t.Fatalf("advance %s: %v, %v", pending[0], changed, err)
		}
		if id, err := s.MessageIDByProvider(ctx, "console", "p-1"); err != nil || id != pending[0] {
			t.Fatalf("the provider's id finds %q, %v", id, err)
		}
		for _, n := range f.members(t, "sandesh:notify:owed") {
			if ok, err := s.ClaimNotification(ctx, n, time.Now().Add(time.Hour), time.Minute); err != nil || !ok {
				t.Fatalf("claim debt %s: %v, %v", n, ok, err)
			}
			if err := s.NotificationQueued(ctx, n); err != nil {
				t.Fatal(err)
			}
			if owed, _ := s.OwedBefore(ctx, time.Now().Add(time.Hour), 100); slices.Contains(owed, n) {
				t.Fatalf("debt %s still owed", n)
			}
		}
		orphans, err := s.Orphans(ctx, 100)
		if err != nil || len(orphans) == 0 {
			t.Fatalf("orphans %v, %v", orphans, err)
		}
		if ok, err := s.Rescue(ctx, orphans[0]); err != nil || !ok {
			t.Fatalf("rescue %s: %v, %v", orphans[0].ID, ok, err)
		}
		// The mobile's limit counts the beneficiaries registered before.
		mobile := "+919876500001"
		_, err = s.CreateBeneficiary(ctx, Beneficiary{Name: "Fourth", Mobile: mobile, BirthYear: 2000},
			len(f.Facts.Mobiles[mobile].Beneficiaries))
		if !errors.Is(err, ErrMobileLimit) {
			t.Errorf("a registration past the limit: %v, want ErrMobileLimit", err)
		}
	})
}

func b2mobile(t *testing.T, s *Store, id string) string {
	t.Helper()
	b, err := s.Beneficiary(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return b.Mobile
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestClassifyEarlierKeys(t *testing.T) {
	for _, tc := range []struct {
		rest string
		how  moveHow
		to   string // with shard "123"
	}{
		{"ben:58342506320409", moveByRecord, "ben:{c123}:58342506320409"},
		{"ben:58342506320409:doses", moveMerged, ""},
		{"appt:1a23d092a36a7c4a9af3fc607d5", moveByRecord, "appt:{c123}:1a23d092a36a7c4a9af3fc607d5"},
		{"resend:appt:1a23d092a36a7c4a9af3fc607d5", moveByRecord, "resend:{c123}:appt:1a23d092a36a7c4a9af3fc607d5"},
		{"mobile:+919876500001:msgs", moveByMobile, "mobile:{c123}:+919876500001:msgs"},
		{"limit:kyvs-mobile:+919876500001", moveByMobile, "limit:{c123}:+919876500001:kyvs"},
		{"limit:kyvs-verifier:key_1", moveKeep, ""},
		{"cert:8730336099196", moveTo, "cert:{c873}:8730336099196"},
		{"center:C1", moveTo, "center:{centers}:C1"},
		{"apikeys:version", moveTo, "apikeys:{keys}:version"},
		{"audit:mobile:ab12", moveTo, "audit:{audit}:mobile:ab12"},
		{"dead:info", moveTo, "dead:{dead}:info"},
		{"inbound:twilio:SM1", moveByValue, "inbound:{c123}:twilio:SM1"},
		{"idem:3c36bb125d19df6c876133c5:my:key", moveIdem, "idem:123:3c36bb125d19df6c876133c5:my:key"},
		{"msgs:pending", moveSplit, ""},
		{"dues:2026-12-31", moveSplit, ""},
		{"due:2026-12-31", moveSplit, ""},
		{"reminders:2026-12-31", moveRun, ""},
		{"kyvs:43ea304bd04412db1f75aadf923cd284", moveDrop, ""},
		{"worker:e86fed547d13bff6", moveDrop, ""},
		{"pmid:console:x", moveKeep, ""},
		{"breaker:primary:open", moveKeep, ""},
		{"stats:day:2026-12-03", moveKeep, ""},
		{"ben:{c123}:12345678901234", moveNew, ""},
		{"msgs:pending:{c123}", moveNew, ""},
		{"workers:{workers}", moveNew, ""},
		{"layout", moveNew, ""},
		{"something:else", moveUnknown, ""},
	} {
		k := classify(tc.rest)
		if k.how != tc.how {
			t.Errorf("%s: how %d, want %d", tc.rest, k.how, tc.how)
			continue
		}
		if tc.to != "" {
			arg := "123"
			if got := k.to(arg); got != tc.to {
				t.Errorf("%s: to %s, want %s", tc.rest, got, tc.to)
			}
		}
	}
}

func TestMayHaveMoved(t *testing.T) {
	for id, want := range map[string]bool{
		"58342506320409":                   true,  // an earlier beneficiary's, or a new one's: the same shape
		"1a23d092a36a7c4a9af3fc607d5":      true,  // an earlier appointment's or message's
		"1231a23d092a36a7c4a9af3fc607d5":   false, // a new one's: 30 characters
		"5834250632040":                    false, // a certificate's: never looked up
		"43ea304bd04412db1f75aadf923cd284": false, // a KYVS transaction's: not migrated
		"1A23D092A36A7C4A9AF3FC607D5":      false,
		"5834250632040x":                   false,
	} {
		if got := mayHaveMoved(id); got != want {
			t.Errorf("mayHaveMoved(%s) = %v, want %v", id, got, want)
		}
	}
}
