package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/store"
	"sandesh/templates"
)

// TestBookVerifyDose walks the programme's first rule end to end: real
// Redis, real workers, a Twilio double receiving the SMS.
func TestBookVerifyDose(t *testing.T) {
	r := newRig(t)
	r.startWorker(t)
	r.newCenter(t, "C1")
	r.newCenter(t, "C2")
	registry := r.newKey(t, "registry", "")
	c1 := r.newKey(t, "center", "C1")
	c2 := r.newKey(t, "center", "C2")

	id := r.must(t, 201, "POST", "/v1/beneficiaries", registry, map[string]any{
		"name": "Asha Patil", "mobile": "9876543210", "birth_year": 1980, "gender": "F", "language": "mr"})["id"].(string)
	if len(id) != 14 {
		t.Fatalf("beneficiary id %q is not 14 digits", id)
	}
	appt := r.must(t, 201, "POST", "/v1/appointments", registry, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.today(), "slot": "09:00-11:00", "dose": 1})
	if appt["status"] != "booked" {
		t.Fatalf("appointment = %v", appt)
	}
	apptID := appt["id"].(string)
	slip := r.smsTo(t, "+919876543210", 1)
	contains(t, slip.Body, "PHC C1", "सुरक्षा कोड", "09:00-11:00")
	code := codeIn(t, slip.Body)

	wrong := r.must(t, 422, "POST", "/v1/appointments/"+apptID+"/verify-code", c1, map[string]any{"code": otherCode(code)})
	if wrong["error"] != "code_mismatch" || wrong["attempts_left"] != float64(4) {
		t.Fatalf("wrong code = %v, want code_mismatch with attempts_left 4", wrong)
	}
	if got := r.must(t, 403, "POST", "/v1/appointments/"+apptID+"/verify-code", c2, map[string]any{"code": code}); got["error"] != "forbidden" {
		t.Fatalf("other centre = %v", got)
	}
	// The code as a vaccinator's keyboard set to Marathi types it.
	r.must(t, 200, "POST", "/v1/appointments/"+apptID+"/verify-code", c1, map[string]any{"code": inDevanagari(code)})

	dose := r.must(t, 201, "POST", "/v1/doses", c1, map[string]any{
		"beneficiary_id": id, "appointment_id": apptID, "code": inDevanagari(code), "vaccine": "COVISHIELD", "batch": "4121Z025"})
	if dose["dose"] != float64(1) || dose["status"] != "PARTIALLY_VACCINATED" {
		t.Fatalf("dose 1 = %v", dose)
	}
	confirm := r.smsTo(t, "+919876543210", 2)
	contains(t, confirm.Body, dose["certificate_id"].(string), "अंशतः लसीकरण") // the status in words, in Marathi
	if strings.Contains(confirm.Body, "VACCINATED") {
		t.Errorf("the confirmation shows the API's enum: %s", confirm.Body)
	}

	// The code admitted one dose; the appointment is used.
	if got := r.must(t, 409, "POST", "/v1/appointments/"+apptID+"/verify-code", c1, map[string]any{"code": code}); got["error"] != "not_active" {
		t.Fatalf("used appointment = %v", got)
	}

	// COVISHIELD's second dose opens 84 days on: a booking before is refused.
	if got := r.must(t, 409, "POST", "/v1/appointments", registry, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.daysOn(83), "slot": "11:00-13:00", "dose": 2}); got["error"] != "too_early" || got["opens_on"] != r.daysOn(84) {
		t.Fatalf("booking dose 2 a day early = %v", got)
	}
	r.advance(84 * day)
	appt2 := r.must(t, 201, "POST", "/v1/appointments", registry, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.today(), "slot": "11:00-13:00", "dose": 2})["id"].(string)
	code2 := codeIn(t, r.smsTo(t, "+919876543210", 3).Body)
	dose2 := r.must(t, 201, "POST", "/v1/doses", c1, map[string]any{
		"beneficiary_id": id, "appointment_id": appt2, "code": code2, "vaccine": "COVISHIELD", "batch": "4121Z026"})
	if dose2["dose"] != float64(2) || dose2["status"] != "FULLY_VACCINATED" {
		t.Fatalf("dose 2 = %v", dose2)
	}
	contains(t, r.smsTo(t, "+919876543210", 4).Body, dose2["certificate_id"].(string), "पूर्ण लसीकरण")

	b := r.must(t, 200, "GET", "/v1/beneficiaries/"+id, registry, nil)
	if b["status"] != "FULLY_VACCINATED" || b["doses"] != float64(2) || b["mobile"] != "+919876543210" {
		t.Fatalf("beneficiary = %v", b)
	}
	if got := r.must(t, 200, "GET", "/v1/appointments/"+apptID, registry, nil); got["status"] != "completed" {
		t.Fatalf("appointment after dose = %v", got)
	}
}

func TestWalkIn(t *testing.T) {
	r := newRig(t)
	r.startWorker(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	id := r.newBeneficiary(t, "रमेश कुमार", "+91 98765 43211", "hi")
	walkIn := map[string]any{"beneficiary_id": id, "vaccine": "COVAXIN", "batch": "B-1"}
	n := 0 // doses recorded
	for i, step := range []struct {
		after  time.Duration // since the dose before
		status int
		want   string // the beneficiary's status, or the refusal
		words  string // the status in the SMS, in Hindi
	}{
		{0, 201, "PARTIALLY_VACCINATED", "आंशिक टीकाकरण"},
		{0, 409, "already_dosed_today", ""},
		{27 * day, 409, "too_early", ""}, // COVAXIN: 28 days
		{day, 201, "FULLY_VACCINATED", "पूर्ण टीकाकरण"},
		{181 * day, 409, "too_early", ""}, // a precaution dose: 182 days
		{day, 201, "FULLY_VACCINATED", "पूर्ण टीकाकरण"},
	} {
		r.advance(step.after)
		d := r.must(t, step.status, "POST", "/v1/doses", c1, walkIn)
		if step.status != 201 {
			if d["error"] != step.want || (step.want == "too_early" && d["opens_on"] != r.daysOn(1)) {
				t.Fatalf("step %d: %v, want %s opening tomorrow", i, d, step.want)
			}
			continue
		}
		n++
		if d["status"] != step.want || d["dose"] != float64(n) || d["precaution"] != (n == 3) {
			t.Fatalf("walk-in dose %d = %v, want %s", n, d, step.want)
		}
		contains(t, r.smsTo(t, "+919876543211", n).Body, d["certificate_id"].(string), step.words, "रमेश कुमार")
	}

	// A booked beneficiary is vaccinated through the booking: a walk-in
	// would get around the code and its lock.
	booked := r.newBeneficiary(t, "Asha Patil", "9876543219", "en")
	r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": booked, "center_id": "C1", "date": r.today(), "slot": "09:00-11:00", "dose": 1})
	if got := r.must(t, 409, "POST", "/v1/doses", c1, map[string]any{
		"beneficiary_id": booked, "vaccine": "COVAXIN", "batch": "B-1"}); got["error"] != "already_booked" {
		t.Fatalf("walk-in of a booked beneficiary = %v", got)
	}

	// Admin may record a walk-in without naming a centre.
	other := r.newBeneficiary(t, "Test User 2", "9876543218", "en")
	if d := r.must(t, 201, "POST", "/v1/doses", adminKey, map[string]any{
		"beneficiary_id": other, "vaccine": "SPUTNIK_LIGHT", "batch": "SL-1"}); d["status"] != "FULLY_VACCINATED" {
		t.Fatalf("admin walk-in = %v", d)
	}
}

func TestLockoutAndRegenerate(t *testing.T) {
	r := newRig(t)
	r.startWorker(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	support := r.newKey(t, "support", "")
	id := r.newBeneficiary(t, "Asha Patil", "9876543212", "en")
	apptID := r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.today(), "slot": "09:00-11:00", "dose": 1})["id"].(string)
	code := codeIn(t, r.smsTo(t, "+919876543212", 1).Body)
	path := "/v1/appointments/" + apptID + "/verify-code"
	for left := 4; left >= 0; left-- {
		got := r.must(t, 422, "POST", path, c1, map[string]any{"code": otherCode(code)})
		if got["attempts_left"] != float64(left) {
			t.Fatalf("attempts_left = %v, want %d", got["attempts_left"], left)
		}
	}
	// Locked: even the right code is refused, on both routes.
	if got := r.must(t, 423, "POST", path, c1, map[string]any{"code": code}); got["error"] != "code_locked" {
		t.Fatalf("locked = %v", got)
	}
	r.must(t, 423, "POST", "/v1/doses", c1, map[string]any{
		"beneficiary_id": id, "appointment_id": apptID, "code": code, "vaccine": "COVISHIELD", "batch": "X1"})

	// Resending the same code does not unlock; regenerating does.
	r.must(t, 202, "POST", "/v1/support/resend", support, map[string]any{"appointment_id": apptID, "what": "security_code"})
	if again := codeIn(t, r.smsTo(t, "+919876543212", 2).Body); again != code {
		t.Fatalf("resent code %s differs from the original", again)
	}
	r.must(t, 423, "POST", path, c1, map[string]any{"code": code})
	r.must(t, 202, "POST", "/v1/support/resend", support, map[string]any{"appointment_id": apptID, "what": "security_code", "regenerate": true})
	fresh := codeIn(t, r.smsTo(t, "+919876543212", 3).Body)
	r.must(t, 200, "POST", path, c1, map[string]any{"code": fresh})

	// Three resends an hour, then 429 with Retry-After.
	status, body := r.api(t, "POST", "/v1/support/resend", support, map[string]any{"appointment_id": apptID, "what": "slip"})
	if status != 202 {
		t.Fatalf("third resend = %d %v", status, body)
	}
	status, body = r.api(t, "POST", "/v1/support/resend", support, map[string]any{"appointment_id": apptID, "what": "slip"})
	if status != 429 || body["error"] != "rate_limited" {
		t.Fatalf("fourth resend = %d %v, want 429", status, body)
	}

	// Every support action is in the audit trail; support cannot read it.
	trail := r.must(t, 200, "GET", "/v1/admin/audit", adminKey, nil)["entries"].([]any)
	if len(trail) != 3 {
		t.Fatalf("audit trail has %d entries, want 3: %v", len(trail), trail)
	}
	r.must(t, 403, "GET", "/v1/admin/audit", support, nil)

	// History for support: newest first, codes masked.
	msgs := r.must(t, 200, "GET", "/v1/support/messages?mobile=9876543212", support, nil)["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("history has %d messages, want 4", len(msgs))
	}
	for _, m := range msgs {
		body := m.(map[string]any)["body"].(string)
		if fourDigits.MatchString(body) {
			t.Fatalf("history shows a code: %q", body)
		}
		contains(t, body, "****")
	}
}

func TestWrongDateAndCancelled(t *testing.T) {
	r := newRig(t)
	r.startWorker(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	id := r.newBeneficiary(t, "Asha Patil", "9876543213", "en")
	apptID := r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})["id"].(string)
	code := codeIn(t, r.smsTo(t, "+919876543213", 1).Body)
	if got := r.must(t, 409, "POST", "/v1/appointments/"+apptID+"/verify-code", c1, map[string]any{"code": code}); got["error"] != "wrong_date" {
		t.Fatalf("tomorrow's appointment = %v", got)
	}
	if got := r.must(t, 409, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1}); got["error"] != "already_booked" {
		t.Fatalf("second booking = %v", got)
	}
	r.must(t, 200, "POST", "/v1/appointments/"+apptID+"/cancel", adminKey, nil)
	contains(t, r.smsTo(t, "+919876543213", 2).Body, "cancelled")
	if got := r.must(t, 409, "POST", "/v1/appointments/"+apptID+"/cancel", adminKey, nil); got["error"] != "not_active" {
		t.Fatalf("second cancel = %v", got)
	}
	if got := r.must(t, 409, "POST", "/v1/appointments/"+apptID+"/verify-code", c1, map[string]any{"code": code}); got["error"] != "not_active" {
		t.Fatalf("cancelled appointment = %v", got)
	}
	// Cancelling frees the beneficiary to book again.
	r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})
}

func TestIdempotentDose(t *testing.T) {
	r := newRig(t)
	r.startWorker(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	id := r.newBeneficiary(t, "Asha Patil", "9876543214", "en")
	body := map[string]any{"beneficiary_id": id, "vaccine": "COVISHIELD", "batch": "4121Z025"}
	first := r.must(t, 201, "POST", "/v1/doses", c1, body, "Idempotency-Key", "dose-1")
	again := r.must(t, 201, "POST", "/v1/doses", c1, body, "Idempotency-Key", "dose-1")
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Fatalf("repeat answered %v, first was %v", again, first)
	}
	r.smsTo(t, "+919876543214", 1)
	if got := r.must(t, 422, "POST", "/v1/doses", c1, map[string]any{
		"beneficiary_id": id, "vaccine": "COVAXIN", "batch": "4121Z025"}, "Idempotency-Key", "dose-1"); got["error"] != "idempotency_mismatch" {
		t.Fatalf("same key, other body = %v", got)
	}
	if b := r.must(t, 200, "GET", "/v1/beneficiaries/"+id, adminKey, nil); b["doses"] != float64(1) {
		t.Fatalf("doses recorded = %v, want 1", b["doses"])
	}
	// A second dose the same day is refused; the first's repeat still replays.
	if got := r.must(t, 409, "POST", "/v1/doses", c1, body, "Idempotency-Key", "dose-1b"); got["error"] != "already_dosed_today" {
		t.Fatalf("second dose today = %v", got)
	}
	if again := r.must(t, 201, "POST", "/v1/doses", c1, body, "Idempotency-Key", "dose-1"); fmt.Sprint(first) != fmt.Sprint(again) {
		t.Fatalf("repeat after a refusal answered %v, first was %v", again, first)
	}
	// Parallel repeats, once the next dose opens: still one dose and one SMS.
	r.advance(84 * day)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { r.api(t, "POST", "/v1/doses", c1, body, "Idempotency-Key", "dose-2") })
	}
	wg.Wait()
	if b := r.must(t, 200, "GET", "/v1/beneficiaries/"+id, adminKey, nil); b["doses"] != float64(2) {
		t.Fatalf("doses recorded = %v, want 2", b["doses"])
	}
	r.smsTo(t, "+919876543214", 2)
	r.worker.Shutdown()
	if n := r.countTo("+919876543214"); n != 2 {
		t.Fatalf("the double got %d SMS, want 2", n)
	}
}

// TestParallelWrongCodes: 20 wrong codes at once never buy more than 5 tries.
func TestParallelWrongCodes(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	id := r.newBeneficiary(t, "Asha Patil", "9876543215", "en")
	apptID := r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.today(), "slot": "09:00-11:00", "dose": 1})["id"].(string)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			path := "/v1/appointments/" + apptID + "/verify-code"
			body := map[string]any{"code": fmt.Sprintf("%04d", i)} // never a real code: those start at 1000
			if i%2 == 1 {
				path = "/v1/doses"
				body = map[string]any{"beneficiary_id": id, "appointment_id": apptID, "code": fmt.Sprintf("%04d", i),
					"vaccine": "COVISHIELD", "batch": "X1"}
			}
			status, _ := r.api(t, "POST", path, c1, body)
			mu.Lock()
			counts[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[http.StatusUnprocessableEntity] != 5 || counts[http.StatusLocked] != 15 {
		t.Fatalf("answers = %v, want 5×422 and 15×423", counts)
	}
	if got := r.must(t, 200, "GET", "/v1/appointments/"+apptID, adminKey, nil); got["locked"] != true || got["attempts_left"] != float64(0) {
		t.Fatalf("appointment = %v", got)
	}
}

// TestDoseRetryAfterLostEnqueue: the dose's step was done but its process
// died before the confirmation's task was queued. The client's retry with
// the same Idempotency-Key gets the first answer and nothing new is
// recorded, and the confirmation still goes out, once.
func TestDoseRetryAfterLostEnqueue(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	id := r.newBeneficiary(t, "Asha Patil", "9876543216", "en")
	body := map[string]any{"beneficiary_id": id, "vaccine": "COVISHIELD", "batch": "4121Z025"}
	first := r.must(t, 201, "POST", "/v1/doses", c1, body, "Idempotency-Key", "lost-1")
	o := r.rdb.Options()
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB})
	defer insp.Close()
	if n, err := insp.DeleteAllPendingTasks(string(store.PriorityTransactional)); err != nil || n != 1 {
		t.Fatalf("deleted %d queued tasks (%v), want the confirmation's 1", n, err)
	}
	again := r.must(t, 201, "POST", "/v1/doses", c1, body, "Idempotency-Key", "lost-1")
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Fatalf("retry answered %v, first was %v", again, first)
	}
	r.startWorker(t)
	sms := r.smsTo(t, "+919876543216", 1)
	if !strings.Contains(sms.Body, first["certificate_id"].(string)) {
		t.Fatalf("confirmation %q lacks certificate %v", sms.Body, first["certificate_id"])
	}
	if b := r.must(t, 200, "GET", "/v1/beneficiaries/"+id, adminKey, nil); b["doses"] != float64(1) {
		t.Fatalf("doses recorded = %v, want 1", b["doses"])
	}
	r.worker.Shutdown()
	if n := r.countTo("+919876543216"); n != 1 {
		t.Fatalf("the double got %d SMS, want 1", n)
	}
}

// TestIdempotentBooking: a booking, and a cancel, keep their answers in
// their own step. A
// repeat gets the first answer, byte for byte, and books and sends nothing;
// the same key with another body about the same mobile's people is
// refused (a key's answers live with the citizen, so under another
// citizen it names another request); a refusal for an active
// booking is kept too; a repeat of a request that changed nothing runs.
func TestIdempotentBooking(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	id := r.newBeneficiary(t, "Asha Patil", "9876543217", "en")
	other := r.newBeneficiary(t, "Neha Joshi", "9876543217", "en")
	booking := func(ben string) map[string]any {
		return map[string]any{"beneficiary_id": ben, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1}
	}
	post := func(key string, body any) (int, string, string) {
		t.Helper()
		return postKeyed(t, r.url+"/v1/appointments", adminKey, key, body)
	}
	code, replayed, first := post("book-1", booking(id))

	if code != 201 || replayed != "" {
		t.Fatalf("first booking %d %q %s", code, replayed, first)
	}
	for range 2 {
		if code, replayed, again := post("book-1", booking(id)); code != 201 || replayed != "true" || again != first {
			t.Fatalf("repeat %d %q %s, want the first answer %s", code, replayed, again, first)
		}
	}
	if code, _, body := post("book-1", booking(other)); code != 422 || !strings.Contains(body, "idempotency_mismatch") {
		t.Fatalf("same key, other body: %d %s", code, body)
	}
	code, _, refused := post("book-2", booking(id))
	if code != 409 || !strings.Contains(refused, "already_booked") {
		t.Fatalf("second booking %d %s, want already_booked", code, refused)
	}
	if code, replayed, again := post("book-2", booking(id)); code != 409 || replayed != "true" || again != refused {
		t.Fatalf("repeat of the refusal %d %q %s", code, replayed, again)
	}
	unknown := booking("10000000000000")
	for range 2 { // not found changed nothing: the key is not kept
		if code, replayed, _ := post("book-3", unknown); code != 404 || replayed != "" {
			t.Fatalf("unknown beneficiary %d %q", code, replayed)
		}
	}
	if msgs := r.outbound(t, "+919876543217"); len(msgs) != 1 || msgs[0].Template != "appointment_slip" {
		t.Fatalf("slips sent: %+v, want one", msgs)
	}

	// A cancel keeps its key's answers in its step too.
	var appt struct{ ID string }
	if err := json.Unmarshal([]byte(first), &appt); err != nil {
		t.Fatal(err)
	}
	cancel := func(key string) (int, string, string) {
		t.Helper()
		return postKeyed(t, r.url+"/v1/appointments/"+appt.ID+"/cancel", adminKey, key, nil)
	}
	code, replayed, cancelled := cancel("cancel-1")
	if code != 200 || replayed != "" || !strings.Contains(cancelled, `"status":"cancelled"`) {
		t.Fatalf("cancel %d %q %s", code, replayed, cancelled)
	}
	if code, replayed, again := cancel("cancel-1"); code != 200 || replayed != "true" || again != cancelled {
		t.Fatalf("repeat of the cancel %d %q %s, want the first answer %s", code, replayed, again, cancelled)
	}
	code, _, notActive := cancel("cancel-2")
	if code != 409 || !strings.Contains(notActive, "not_active") {
		t.Fatalf("cancel of a cancelled appointment %d %s", code, notActive)
	}
	if code, replayed, again := cancel("cancel-2"); code != 409 || replayed != "true" || again != notActive {
		t.Fatalf("repeat of the refusal %d %q %s", code, replayed, again)
	}
	sent := map[string]int{}
	for _, m := range r.outbound(t, "+919876543217") {
		sent[m.Template]++
	}
	if len(sent) != 2 || sent["appointment_slip"] != 1 || sent["cancellation"] != 1 {
		t.Fatalf("SMS sent: %v, want the slip and one cancellation", sent)
	}
}

// postKeyed posts body (nil: none) as apiKey with an Idempotency-Key,
// and returns the status, the Idempotent-Replayed header and the body.
func postKeyed(t *testing.T, url, apiKey, key string, body any) (int, string, string) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest("POST", url, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), string(b)
}

// TestConfirmationsCountEveryDoseNumber: the segments a confirmation takes
// with a one-, two- or three-digit dose number, worked out before the dose
// step, are those of the text it would send, in every language and with
// names of every length up to 100 (so that some end just where one more
// digit needs another part).
func TestConfirmationsCountEveryDoseNumber(t *testing.T) {
	r := newRig(t)
	var names []string
	for n := 1; n <= 100; n++ {
		names = append(names, strings.Repeat("a", n), strings.Repeat("आ", n))
	}
	for _, lang := range []string{"en", "hi", "mr"} {
		for _, name := range names {
			p := store.Profile{ID: "B1", Name: name, Mobile: "+919876543210", Language: lang}
			partial, full, err := r.gw.confirmations(p, "COVISHIELD", "12345678901234")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []store.Confirmation{partial, full} {
				for k, got := range c.ByDigits {
					want := templates.CountText(c.Prefix + strings.Repeat("7", k+1) + c.Suffix)
					if got.Encoding != want.Encoding || got.Segments != want.Segments {
						t.Errorf("%s, %d-character name, %d-digit dose: %s in %d segments, want %s in %d",
							lang, len([]rune(name)), k+1, got.Encoding, got.Segments, want.Encoding, want.Segments)
					}
				}
			}
		}
	}
}

// TestCenterRead: a centre reads back as it was registered, with its
// creation time; another id is 404 and the same id again 409.
func TestCenterRead(t *testing.T) {
	r := newRig(t)
	registry := r.newKey(t, "registry", "")
	r.newCenter(t, "C1")
	c := r.must(t, 200, "GET", "/v1/centers/C1", registry, nil)
	if c["id"] != "C1" || c["name"] != "PHC C1" || c["district"] != "Pune" || c["state"] != "Maharashtra" || c["pincode"] != "411007" {
		t.Fatalf("centre = %v", c)
	}
	if at, err := time.Parse(time.RFC3339, fmt.Sprint(c["created_at"])); err != nil || time.Since(at) > time.Minute {
		t.Fatalf("created_at = %v (%v)", c["created_at"], err)
	}
	if got := r.must(t, 404, "GET", "/v1/centers/C9", registry, nil); got["error"] != "not_found" {
		t.Fatalf("unknown centre = %v", got)
	}
	if got := r.must(t, 409, "POST", "/v1/centers", registry, map[string]any{
		"id": "C1", "name": "Other", "district": "Pune", "state": "Maharashtra", "pincode": "411007"}); got["error"] != "exists" {
		t.Fatalf("same id again = %v", got)
	}
}

// inDevanagari writes ASCII digits as Devanagari ones.
func inDevanagari(digits string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '०' + r - '0'
		}
		return r
	}, digits)
}
