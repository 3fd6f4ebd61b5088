package gateway

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sandesh/store"
)

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// kyvsFixtures: three people on three mobiles, one per status, and two
// verifier keys.
func kyvsFixtures(t *testing.T, r *rig) (v1, v2 string) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.gw.CreateCenter(ctx, CenterInput{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name, mobile, lang string
		doses              int
	}{{"Asha Patil", "9876543210", "mr", 2}, {"Ravi Kumar", "9876543211", "hi", 1}, {"Neha Joshi", "9876543212", "en", 0}} {
		b, err := r.gw.Register(ctx, Registration{Name: p.name, Mobile: p.mobile, BirthYear: 1980, Gender: "F", Language: p.lang})
		if err != nil {
			t.Fatal(err)
		}
		r.givenDoses(t, b.ID, slices.Repeat([]string{"COVISHIELD"}, p.doses)...)
	}
	return r.newKeyNamed(t, "verifier", "Indian Railways"), r.newKeyNamed(t, "verifier", "Tata Travels")
}

func (r *rig) newKeyNamed(t *testing.T, role, name string) string {
	t.Helper()
	return r.must(t, 201, "POST", "/v1/admin/keys", adminKey, map[string]any{"role": role, "name": name})["key"].(string)
}

// otpFor waits for the n-th SMS to mobile that carries an OTP (the OTP
// queue overtakes bulk messages, so SMS numbers alone do not say which).
// waitSent waits until every SMS recorded for mobile has been recorded as
// handed to a provider: the double has a message before the worker
// writes down that it sent it.
func (r *rig) waitSent(t *testing.T, mobile string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pending := 0
		for _, m := range r.outbound(t, mobile) {
			if m.Status == store.StatusQueued || m.Status == store.StatusSending {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("SMS to %s still not recorded as sent", mobile)
}

func (r *rig) otpFor(t *testing.T, mobile string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var otps []string
		for _, m := range r.double.Messages() {
			if otp := sixDigits.FindString(m.Body); m.To == mobile && otp != "" {
				otps = append(otps, otp)
			}
		}
		if len(otps) >= n {
			return otps[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("OTP %d to %s never came", n, mobile)
	return ""
}

func TestKYVSStatuses(t *testing.T) {
	r := newRig(t)
	v1, _ := kyvsFixtures(t, r)
	r.startWorker(t)
	r.double.WaitCount(t, 3, 10*time.Second) // the fixtures' dose confirmations
	for _, tc := range []struct {
		name, mobile, status string
		doses                int
		lang                 string
	}{
		{"  asha   PATIL ", "9876543210", "FULLY_VACCINATED", 2, "mr"},
		{"Ravi Kumar", "+91 98765 43211", "PARTIALLY_VACCINATED", 1, "hi"},
		{"Neha Joshi", "09876543212", "NOT_VACCINATED", 0, "en"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			mobile, _ := NormalizeMobile(tc.mobile, "IN")
			started := r.must(t, 202, "POST", "/v1/kyvs/otp", v1, map[string]any{"name": tc.name, "mobile": tc.mobile})
			if started["expires_in"] != float64(180) || len(started["txn_id"].(string)) != 32 {
				t.Fatalf("otp answer = %v", started)
			}
			otp := r.otpFor(t, mobile, 1)
			if msgs := r.outbound(t, mobile); msgs[len(msgs)-1].Priority != store.PriorityOTP || msgs[len(msgs)-1].Language != tc.lang {
				t.Fatalf("OTP sent as %+v", msgs[len(msgs)-1])
			}
			// As the citizen reads it out and the verifier types it, maybe in her script's digits.
			got := r.must(t, 200, "POST", "/v1/kyvs/confirm", v1, map[string]any{"txn_id": started["txn_id"], "otp": inDevanagari(otp)})
			if got["status"] != tc.status || got["doses"] != float64(tc.doses) || got["birth_year"] != float64(1980) || got["gender"] != "F" {
				t.Fatalf("confirm = %v", got)
			}
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want := []string{"birth_year", "doses", "gender", "last_dose_date", "name", "status", "vaccine"}
			if tc.doses == 0 {
				want = []string{"birth_year", "doses", "gender", "name", "status"}
			}
			if !slices.Equal(keys, want) {
				t.Fatalf("confirm carries %v, API.md lists %v", keys, want)
			}
			// The citizen is told who checked, on the bulk queue.
			for _, m := range r.double.Messages() {
				if m.To == mobile && strings.Contains(m.Body, otp) {
					contains(t, m.Body, "Indian Railways") // the OTP SMS names who asks
				}
			}
			checked := r.smsTo(t, mobile, tc.doses+2) // the citizen is told who checked
			contains(t, checked.Body, "Indian Railways")
		})
	}
	trail := r.must(t, 200, "GET", "/v1/admin/audit", adminKey, nil)["entries"].([]any)
	if len(trail) != 3 || trail[0].(map[string]any)["action"] != "kyvs_verified" || trail[0].(map[string]any)["actor_name"] != "Indian Railways" {
		t.Fatalf("audit = %v", trail)
	}
}

func TestKYVSRules(t *testing.T) {
	r := newRig(t)
	v1, v2 := kyvsFixtures(t, r)
	r.startWorker(t)
	r.double.WaitCount(t, 3, 10*time.Second) // the fixtures' dose confirmations
	const mobile = "+919876543210"
	start := func(name, mobile string) string {
		t.Helper()
		return r.must(t, 202, "POST", "/v1/kyvs/otp", v1, map[string]any{"name": name, "mobile": mobile})["txn_id"].(string)
	}
	confirm := func(key, txn, otp string, want int) map[string]any {
		t.Helper()
		return r.must(t, want, "POST", "/v1/kyvs/confirm", key, map[string]any{"txn_id": txn, "otp": otp})
	}

	// An unknown pair: the same answer, no SMS, and confirm fails like a wrong OTP.
	before := r.double.Count()
	unknown := start("Somebody Else", mobile)
	if len(unknown) != 32 {
		t.Fatalf("txn for an unknown pair = %q", unknown)
	}
	for left := 2; left >= 0; left-- {
		if got := confirm(v1, unknown, "123456", 422); got["error"] != "otp_mismatch" || got["attempts_left"] != float64(left) {
			t.Fatalf("unknown pair confirm = %v", got)
		}
	}
	confirm(v1, unknown, "123456", 410)

	// Wrong OTP three times burns the transaction, even for the right OTP after.
	txn := start("Asha Patil", mobile)
	otp := r.otpFor(t, mobile, 1)
	if r.double.Count() != before+1 {
		t.Fatalf("the unknown pair sent an SMS")
	}
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	// Another verifier's key cannot use the transaction, and spends no try.
	if got := confirm(v2, txn, otp, 403); got["error"] != "forbidden" {
		t.Fatalf("other verifier = %v", got)
	}
	for left := 2; left >= 0; left-- {
		if got := confirm(v1, txn, wrong, 422); got["attempts_left"] != float64(left) {
			t.Fatalf("wrong OTP = %v, want attempts_left %d", got, left)
		}
	}
	if got := confirm(v1, txn, otp, 410); got["error"] != "otp_expired" {
		t.Fatalf("burnt transaction = %v", got)
	}

	// Used once, then gone.
	txn = start("Asha Patil", mobile)
	otp = r.otpFor(t, mobile, 2)
	confirm(v1, txn, otp, 200)
	confirm(v1, txn, otp, 410)

	// Expired after 180 s.
	txn = start("Asha Patil", mobile)
	otp = r.otpFor(t, mobile, 3)
	r.advance(181 * time.Second)
	confirm(v1, txn, otp, 410)

	// Five OTP SMS per mobile per hour: past them the answer is the same
	// 202 and no SMS goes; requests with a wrong name spend none of them.
	for range 3 {
		start("Someone Else", mobile)
	}
	start("Asha Patil", mobile)
	r.otpFor(t, mobile, 4)
	start("Asha Patil", mobile)
	r.otpFor(t, mobile, 5)
	txn = start("Asha Patil", mobile)
	otps := 0
	for _, m := range r.outbound(t, mobile) {
		if m.Template == "kyvs_otp" {
			otps++
		}
	}
	if otps != 5 {
		t.Fatalf("%d OTP SMS, want 5: the sixth in the hour must not go", otps)
	}
	confirm(v1, txn, otp, 422) // matches nobody, like a wrong name
	// Bad input.
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"name":"Asha Patil","mobile":"12"}`, 400},
		{`{"name":"","mobile":"9876543211"}`, 400},
		{`{"name":"Asha","mobile":"9876543211","extra":1}`, 400},
	} {
		if status, _ := r.api(t, "POST", "/v1/kyvs/otp", v1, tc.body); status != tc.want {
			t.Errorf("%s = %d, want %d", tc.body, status, tc.want)
		}
	}
	for _, tc := range []string{`{"txn_id":"x","otp":"12ab56"}`, `{"txn_id":"","otp":"123456"}`, `{"txn_id":"` + txn + `","otp":123456}`} {
		if status, _ := r.api(t, "POST", "/v1/kyvs/confirm", v1, tc); status != 400 {
			t.Errorf("%s = %d, want 400", tc, status)
		}
	}
	// Roles: only verifier (and admin) keys.
	support := r.newKey(t, "support", "")
	if status, _ := r.api(t, "POST", "/v1/kyvs/otp", support, map[string]any{"name": "Asha Patil", "mobile": mobile}); status != 403 {
		t.Errorf("support key on /v1/kyvs/otp = %d, want 403", status)
	}
	if strings.Contains(strings.Join(r.logged(), "\n"), otp) {
		t.Error("the OTP is in the log")
	}
}

// TestKYVSVerifierLimit: one verifier key has its own hourly cap.
func TestKYVSVerifierLimit(t *testing.T) {
	r := newRig(t)
	r.gw.verifierPerHour = 2
	v1, v2 := kyvsFixtures(t, r)
	for i, want := range []int{202, 202, 429} {
		if status, _ := r.api(t, "POST", "/v1/kyvs/otp", v1, map[string]any{"name": "Neha Joshi", "mobile": "9876543212"}); status != want {
			t.Fatalf("request %d = %d, want %d", i+1, status, want)
		}
	}
	if status, _ := r.api(t, "POST", "/v1/kyvs/otp", v2, map[string]any{"name": "Neha Joshi", "mobile": "9876543212"}); status != 202 {
		t.Fatalf("another verifier key = %d, want 202", status)
	}
}

// TestKYVSConfirmRoundTrips: a confirm is one step for the OTP's rules with
// the beneficiary, their doses and their mobile's choices read back, then
// the audit entry and the citizen's notice (its enqueue goes through the
// queue's own client).
func TestKYVSConfirmRoundTrips(t *testing.T) {
	r := newRig(t)
	v1, _ := kyvsFixtures(t, r)
	trips := &tripCounter{}
	r.rdb.AddHook(tripHook(trips.count))
	r.startWorker(t)
	started := r.must(t, 202, "POST", "/v1/kyvs/otp", v1, map[string]any{"name": "Asha Patil", "mobile": "9876543210"})
	otp := r.otpFor(t, "+919876543210", 1)
	r.waitSent(t, "+919876543210") // the worker's writes for the OTP are not the confirm's
	var got map[string]any
	confirm := trips.during(func() {
		got = r.must(t, 200, "POST", "/v1/kyvs/confirm", v1, map[string]any{"txn_id": started["txn_id"], "otp": otp})
	})
	if got["status"] != "FULLY_VACCINATED" || got["doses"] != float64(2) {
		t.Fatalf("confirm = %v", got)
	}
	if len(confirm) != 3 || confirm[0] != "evalsha" || !strings.Contains(confirm[1], "lpush") || confirm[2] != "evalsha" {
		t.Fatalf("confirm made round trips %q, want the step, the audit entry and the notice", confirm)
	}
	// The notice is in the language the mobile registered with (Marathi).
	checked := r.smsTo(t, "+919876543210", 4)
	if m := r.outbound(t, "+919876543210"); m[len(m)-1].Template != "kyvs_checked" || m[len(m)-1].Language != "mr" {
		t.Fatalf("notice recorded as %+v", m[len(m)-1])
	}
	contains(t, checked.Body, "Indian Railways")
}

// TestMetricsDoNotTellAMatch: an OTP goes out only when name and mobile
// match, so no series may change with it — not the message and segment
// counters, not the send latencies, not its delivery report, not the
// queues (the OTP lane is reported before its first task) — and none
// names the KYVS OTP.
func TestMetricsDoNotTellAMatch(t *testing.T) {
	r := newRig(t)
	v1, _ := kyvsFixtures(t, r)
	r.startWorker(t)
	r.double.WaitCount(t, 3, 10*time.Second) // the fixtures' dose confirmations
	for _, m := range []string{"+919876543210", "+919876543211"} {
		r.waitSent(t, m)
	}
	scrape := func() []string {
		status, body := do(t, "GET", r.url+"/metrics", "", "", map[string]string{"Authorization": "Bearer " + adminKey})
		if status != 200 {
			t.Fatalf("/metrics = %d", status)
		}
		if strings.Contains(body, "kyvs") {
			t.Fatalf("/metrics names the KYVS OTP:\n%s", body)
		}
		var series []string
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "sandesh_") {
				series = append(series, line)
			}
		}
		return series
	}
	before := scrape()
	r.must(t, 202, "POST", "/v1/kyvs/otp", v1, map[string]any{"name": "Someone Else", "mobile": "9876543210"})
	nomatch := scrape()
	r.must(t, 202, "POST", "/v1/kyvs/otp", v1, map[string]any{"name": "Asha Patil", "mobile": "9876543210"})
	r.otpFor(t, "+919876543210", 1)
	r.waitSent(t, "+919876543210")
	// and its delivery report
	sent := r.double.Messages()
	resp, err := r.double.PostStatus(context.Background(), sent[len(sent)-1], "delivered", "")
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("delivery report: %v %v", resp, err)
	}
	if msgs := r.outbound(t, "+919876543210"); msgs[len(msgs)-1].Status != store.StatusDelivered {
		t.Fatalf("the OTP is %s after its delivery report", msgs[len(msgs)-1].Status)
	}
	// Queue sizes are gauges of the moment: the OTP's task is done a
	// moment after its SMS is recorded sent.
	match := scrape()
	for deadline := time.Now().Add(2 * time.Second); !slices.Equal(nomatch, match) && time.Now().Before(deadline); match = scrape() {
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Equal(before, nomatch) || !slices.Equal(nomatch, match) {
		t.Fatalf("series moved with a KYVS request:\nbefore %v\nno match %v\nmatch %v", before, nomatch, match)
	}
}
