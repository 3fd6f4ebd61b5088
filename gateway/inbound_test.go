package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"sandesh/jobs"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/store"
)

const ourNumber = "+15005550006"

// inbound posts a signed Twilio inbound SMS and returns the answer.
func (r *rig) inbound(t *testing.T, provider, sid, from, body string) (int, string) {
	t.Helper()
	resp, err := r.double.PostInbound(context.Background(), r.url+"/webhooks/twilio/"+provider+"/sms",
		twiliotest.Inbound{Sid: sid, From: from, To: ourNumber, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postSigned posts form to path as a webhook with the X-Twilio-Signature
// sig (made up: these are the requests refused), and answers the status
// and body.
func (r *rig) postSigned(t *testing.T, path, sig, form string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url+path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// outbound lists the messages queued to mobile, oldest first.
func (r *rig) outbound(t *testing.T, mobile string) []store.Message {
	t.Helper()
	all, err := r.store.MessagesByMobile(context.Background(), mobile, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Message
	for _, m := range slices.Backward(all) {
		if m.Direction == "out" {
			out = append(out, m)
		}
	}
	return out
}

// inboundFixtures registers mobile A (one Marathi beneficiary, booked
// today) and mobile B (three English beneficiaries: vaccinated, booked,
// neither).
func inboundFixtures(t *testing.T, r *rig) (a, b string) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.gw.CreateCenter(ctx, CenterInput{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}); err != nil {
		t.Fatal(err)
	}
	reg := func(name, mobile, lang string) string {
		v, err := r.gw.Register(ctx, Registration{Name: name, Mobile: mobile, BirthYear: 1980, Gender: "F", Language: lang})
		if err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	book := func(id string) {
		if _, err := r.gw.Book(ctx, Booking{BeneficiaryID: id, CenterID: "C1", Date: r.today(), Slot: "09:00-11:00", Dose: 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	book(reg("आशा पाटील", "9876543210", "mr"))
	done := reg("Priya Sharma", "9876543220", "en")
	r.givenDoses(t, done, "COVISHIELD", "COVISHIELD")
	book(reg("Rahul Sharma", "9876543220", "en"))
	reg("Neha Sharma", "9876543220", "en")
	return "+919876543210", "+919876543220"
}

// resetMobile forgets a mobile's choices and reply budget, so each row of
// a table starts from the same state.
func (r *rig) resetMobile(t *testing.T, mobile string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []string{"sandesh:mobile:*:" + mobile, "sandesh:replies:*:" + mobile, "sandesh:resend:*"} {
		keys, err := r.rdb.Keys(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 0 {
			r.rdb.Del(ctx, keys...)
		}
	}
}

func TestKeywordReplies(t *testing.T) {
	r := newRig(t)
	a, b := inboundFixtures(t, r)
	const c = "+919876543230" // not registered
	long := "STATUS " + strings.Repeat("please tell me ", 107)[:1593]
	for i, tc := range []struct {
		name, from, body string
		want             []string // templates of the replies, in order
		wantLang         string
	}{
		{"status", a, "STATUS", []string{"kw_status"}, "mr"},
		{"lower case", a, "status", []string{"kw_status"}, "mr"},
		{"mixed case and spaces", a, "  sTaTuS \n", []string{"kw_status"}, "mr"},
		{"typo", a, "Staus", []string{"kw_status"}, "mr"},
		{"transposed", a, "STATSU", []string{"kw_status"}, "mr"},
		{"extra words", a, "status please", []string{"kw_status"}, "mr"},
		{"marathi alias", a, "स्थिती", []string{"kw_status"}, "mr"},
		{"hindi alias sets hindi", a, "स्थिति", []string{"kw_status"}, "hi"},
		{"slip", a, "SLIP", []string{"kw_slip"}, "mr"},
		{"code", a, "CODE", []string{"security_code"}, "mr"},
		{"cert", a, "CERT", []string{"kw_no_cert"}, "mr"},
		{"card", a, "CARD", []string{"kw_card"}, "mr"},
		{"help", a, "HELP", []string{"kw_help"}, "mr"},
		{"marathi help", a, "मदत", []string{"kw_help"}, "mr"},
		{"hindi help", a, "मदद", []string{"kw_help"}, "hi"},
		{"unknown", a, "hello there", []string{"kw_unknown"}, "mr"},
		{"empty", a, "", []string{"kw_help"}, "mr"},
		{"emoji", a, "😀🙏", []string{"kw_help"}, "mr"},
		{"hindi slip", a, "पर्ची", []string{"kw_slip"}, "hi"},
		{"slip in devanagari", a, "स्लिप", []string{"kw_slip"}, "mr"},
		{"code in devanagari", a, "कोड", []string{"security_code"}, "mr"},
		{"cert in devanagari", a, "प्रमाणपत्र", []string{"kw_no_cert"}, "mr"},
		{"marathi lang", a, "भाषा मराठी", []string{"kw_language"}, "mr"},
		{"hindi lang", a, "भाषा हिंदी", []string{"kw_language"}, "hi"},
		{"hindi start", a, "शुरू", []string{"kw_opted_in"}, "hi"},
		{"marathi start", a, "सुरू", []string{"kw_opted_in"}, "mr"},
		{"marathi stop", a, "थांबा", []string{"kw_opted_out"}, "mr"},
		{"stop in devanagari", a, "बंद", []string{"kw_opted_out"}, "mr"},
		{"lang hi", a, "LANG HI", []string{"kw_language"}, "hi"},
		{"lang en", a, "lang en", []string{"kw_language"}, "en"},
		{"lang without a language", a, "LANG", []string{"kw_help"}, "mr"},
		{"stop", a, "STOP", []string{"kw_opted_out"}, "mr"},
		{"start", a, "START", []string{"kw_opted_in"}, "mr"},
		{"1,600 characters", a, long, []string{"kw_status"}, "mr"},
		{"three people: status", b, "STATUS", []string{"kw_status", "kw_status", "kw_status"}, "en"},
		{"three people: cert", b, "cert", []string{"kw_cert", "kw_no_cert", "kw_no_cert"}, "en"},
		{"three people: slip", b, "slip", []string{"kw_no_appointment", "kw_slip", "kw_no_appointment"}, "en"},
		{"three people: code", b, "code", []string{"kw_no_appointment", "security_code", "kw_no_appointment"}, "en"},
		{"not registered", c, "STATUS", []string{"kw_not_registered"}, "en"},
		{"not registered asks for help", c, "HELP", []string{"kw_help"}, "en"},
		{"national format sender", "09876543230", "HELP", []string{"kw_help"}, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mobile, _ := NormalizeMobile(tc.from, "IN")
			r.resetMobile(t, mobile)
			before := len(r.outbound(t, mobile))
			status, body := r.inbound(t, "primary", fmt.Sprintf("SM%032d", i), tc.from, tc.body)
			if status != 200 || body != "<Response/>" {
				t.Fatalf("webhook = %d %q, want 200 with an empty TwiML response", status, body)
			}
			var got []string
			for _, m := range r.outbound(t, mobile)[before:] {
				got = append(got, m.Template)
				if m.Language != tc.wantLang {
					t.Errorf("%s reply in %q, want %q", m.Template, m.Language, tc.wantLang)
				}
				if m.Priority != store.PriorityTransactional {
					t.Errorf("%s reply on %s, want transactional", m.Template, m.Priority)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("replies %v, want %v", got, tc.want)
			}
		})
	}
}

func TestInboundStoredAndAnsweredOnce(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	for range 3 { // Twilio retries a webhook it thinks failed
		if status, _ := r.inbound(t, "primary", "SM00000000000000000000000000000001", a, "STATUS"); status != 200 {
			t.Fatalf("webhook = %d", status)
		}
	}
	if n := len(r.outbound(t, a)); n != 2 { // the slip from the fixtures, one reply
		t.Fatalf("%d messages to %s, want the slip and one reply", n, a)
	}
	all, _ := r.store.MessagesByMobile(context.Background(), a, 0)
	in := 0
	for _, m := range all {
		if m.Direction == "in" {
			in++
			if m.Body != "STATUS" || m.From != a || m.Status != store.StatusReceived || m.Provider != "primary" {
				t.Fatalf("inbound record = %+v", m)
			}
		}
	}
	if in != 1 {
		t.Fatalf("%d inbound records, want 1", in)
	}
}

func TestInboundRejects(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	post := func(path, sig string, form string) int {
		code, _ := r.postSigned(t, path, sig, form)
		return code
	}
	if got := post("/webhooks/twilio/primary/sms", "bm90IGEgc2lnbmF0dXJl", "MessageSid=SM1&From=%2B919876543210&Body=STATUS"); got != 403 {
		t.Errorf("bad signature = %d, want 403", got)
	}
	if got := post("/webhooks/twilio/nobody/sms", "x", "MessageSid=SM1"); got != 404 {
		t.Errorf("unknown provider = %d, want 404", got)
	}
	for _, from := range []string{"VM-CWNSMS", "56161", "not a number", ""} {
		status, _ := r.inbound(t, "primary", "SM"+strings.Repeat("7", 32), from, "STATUS")
		want := 200
		if from == "" {
			want = 400
		}
		if status != want {
			t.Errorf("From %q = %d, want %d", from, status, want)
		}
		for _, k := range r.rdb.Keys(context.Background(), "sandesh:inbound:*:primary:SM"+strings.Repeat("7", 32)).Val() {
			r.rdb.Del(context.Background(), k)
		}
	}
	if n := len(r.outbound(t, a)); n != 1 {
		t.Fatalf("a bot sender got %d replies", n-1)
	}
}

func TestReplyLimit(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	for i := range 8 {
		if status, _ := r.inbound(t, "primary", fmt.Sprintf("SM%032d", 100+i), a, "HELP"); status != 200 {
			t.Fatalf("webhook %d = %d", i, status)
		}
	}
	if n := len(r.outbound(t, a)) - 1; n != repliesPerWindow {
		t.Fatalf("%d replies to 8 messages, want %d", n, repliesPerWindow)
	}
	all, _ := r.store.MessagesByMobile(context.Background(), a, 0)
	in := 0
	for _, m := range all {
		if m.Direction == "in" {
			in++
		}
	}
	if in != 8 {
		t.Fatalf("%d inbound stored, want all 8", in)
	}
}

func TestInboundRedisDown(t *testing.T) {
	r := newRig(t)
	r.rdb.Close()
	if status, _ := r.inbound(t, "primary", "SM1", "+919876543210", "STATUS"); status != 503 {
		t.Fatalf("webhook with Redis down = %d, want 503 so Twilio retries", status)
	}
}

// TestOptOut: STOP ends bulk messages only; Twilio's 21610 opts out too.
func TestOptOut(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	ctx := context.Background()
	run := func(m store.Message) store.Message {
		task := asynq.NewTask(jobs.TypeSend, []byte(`{"message_id":"`+m.ID+`"}`))
		r.worker.ProcessSend(ctx, task)
		return r.message(t, m.ID)
	}
	r.inbound(t, "primary", "SM"+strings.Repeat("1", 32), a, "STOP")
	bulk, err := r.gw.Send(ctx, Outgoing{To: a, Template: "kw_help", Priority: store.PriorityBulk})
	if err != nil {
		t.Fatal(err)
	}
	if m := run(bulk); m.Status != store.StatusFailed || m.ErrorCode != "opted_out" {
		t.Fatalf("bulk to an opted-out mobile: %s %s", m.Status, m.ErrorCode)
	}
	code, _ := r.gw.Send(ctx, Outgoing{To: a, Template: "kw_help", Priority: store.PriorityTransactional})
	if m := run(code); m.Status != store.StatusSent {
		t.Fatalf("transactional to an opted-out mobile: %s, want sent", m.Status)
	}
	r.inbound(t, "primary", "SM"+strings.Repeat("2", 32), a, "START")
	bulk2, _ := r.gw.Send(ctx, Outgoing{To: a, Template: "kw_help", Priority: store.PriorityBulk})
	if m := run(bulk2); m.Status != store.StatusSent {
		t.Fatalf("bulk after START: %s, want sent", m.Status)
	}

	r.double.Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Status: 400, Code: 21610} })
	refused, _ := r.gw.Send(ctx, Outgoing{To: a, Template: "kw_help", Priority: store.PriorityTransactional})
	if m := run(refused); m.Status != store.StatusFailed || m.ErrorCode != "21610" {
		t.Fatalf("21610: %s %s", m.Status, m.ErrorCode)
	}
	if prefs, _ := r.store.MobilePrefs(ctx, a); !prefs.OptedOut {
		t.Fatal("Twilio's 21610 did not opt the mobile out")
	}
}

// TestInboundAnswerNotLost: a process that dies after storing an inbound
// SMS, before queuing its answer, leaves the answer owed; the sweeper
// sends it, and the provider's retry does not answer twice.
func TestInboundAnswerNotLost(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	ctx := context.Background()
	// What the crash leaves: the message stored, the answer owed.
	if _, err := r.store.Receive(ctx, store.Inbound{Provider: "primary", ProviderMessageID: "SM" + strings.Repeat("9", 32),
		From: a, To: ourNumber, Body: "STATUS", OwesReply: true}, store.Effect{}, replyLimit); err != nil {
		t.Fatal(err)
	}
	before := len(r.outbound(t, a))
	if status, _ := r.inbound(t, "primary", "SM"+strings.Repeat("9", 32), a, "STATUS"); status != 200 {
		t.Fatalf("retry = %d", status)
	}
	if n := len(r.outbound(t, a)) - before; n != 0 {
		t.Fatalf("the retry of a stored message answered %d times", n)
	}
	if _, err := r.gw.SweepNotifications(ctx, 0); err != nil {
		t.Fatal(err)
	}
	got := r.outbound(t, a)[before:]
	if len(got) != 1 || got[0].Template != "kw_status" || got[0].Language != "mr" {
		t.Fatalf("sweeper answered %+v, want one Marathi kw_status", got)
	}
	if _, err := r.gw.SweepNotifications(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n := len(r.outbound(t, a)) - before; n != 1 {
		t.Fatalf("a second sweep answered again: %d replies", n)
	}
}

// TestReplyLimitKeepsEffects: past the limit STOP still opts out and CODE
// spends no resend; only the replies stop. A citizen's code in an inbound
// SMS is masked for support.
func TestReplyLimitKeepsEffects(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	ctx := context.Background()
	for i := range repliesPerWindow {
		r.inbound(t, "primary", fmt.Sprintf("SM%032d", 200+i), a, "HELP")
	}
	r.inbound(t, "primary", fmt.Sprintf("SM%032d", 300), a, "STOP")
	if prefs, _ := r.store.MobilePrefs(ctx, a); !prefs.OptedOut {
		t.Fatal("STOP past the reply limit did not opt out")
	}
	for i := range 3 {
		r.inbound(t, "primary", fmt.Sprintf("SM%032d", 400+i), a, "CODE")
	}
	r.rdb.Del(ctx, r.store.MobileKeyOf("replies", a, "")) // a new reply window; the resend budget is untouched
	r.inbound(t, "primary", fmt.Sprintf("SM%032d", 500), a, "my code 4821 CODE")
	for i := range 4 {
		r.inbound(t, "primary", fmt.Sprintf("SM%032d", 600+i), a, "CODE")
	}
	var templates []string
	for _, m := range r.outbound(t, a) {
		templates = append(templates, m.Template)
	}
	want := []string{"appointment_slip", "kw_help", "kw_help", "kw_help", "kw_help", "kw_help",
		"kw_unknown", "security_code", "security_code", "security_code", "kw_code_limited"}
	if !slices.Equal(templates, want) {
		t.Fatalf("replies %v, want %v", templates, want)
	}
	all, _ := r.store.MessagesByMobile(ctx, a, 0)
	for _, m := range all {
		if m.Direction == "in" && strings.Contains(m.Body, "4821") {
			t.Fatalf("a code the citizen sent is shown to support: %q", m.Body)
		}
	}
}

// TestInboundRoundTrips: a keyword that answers about the mobile's
// beneficiaries reads them (doses, booking, centre) in the step that stores
// the SMS, so STATUS, SLIP and CERT cost that step and the one that records
// the replies; CODE also spends a resend under its limit with the code as
// it is then (support may have issued a new one since the step) in one.
func TestInboundRoundTrips(t *testing.T) {
	r := newRig(t)
	a, b := inboundFixtures(t, r)
	trips := &tripCounter{}
	r.rdb.AddHook(tripHook(trips.count))
	for i, tc := range []struct {
		from, body string
		trips      int
	}{
		// a has one beneficiary, booked; b takes the sixth, under the reply limit.
		// HELP to a registered mobile that chose no language waits for the
		// step to read its beneficiary's; built before it, it is one step.
		{a, "HELP", 2}, {a, "STATUS", 2}, {a, "SLIP", 2}, {a, "CODE", 3},
		{a, "CARD", 3}, // its link's token is a write of its own
		{b, "CERT", 2}, {b, "LANG HI", 1}, {b, "मदद", 1}, {"+919876500123", "HELP", 1},
	} {
		sid := fmt.Sprintf("SM%032d", 900+i)
		got := trips.during(func() {
			if status, body := r.inbound(t, "primary", sid, tc.from, tc.body); status != http.StatusOK {
				t.Fatalf("%s answered %d %s", tc.body, status, body)
			}
		})
		if len(got) != tc.trips {
			t.Fatalf("%s made round trips %q, want %d", tc.body, got, tc.trips)
		}
	}
}

func TestMaskDigits(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CODE 7556", "CODE ****"},
		{"CODE ७५५६", "CODE ****"},  // Devanagari
		{"CODE ৭৫৫৬", "CODE ****"},  // Bengali
		{"CODE ７５５６", "CODE ****"},  // full width
		{"CODE 75 56", "CODE ****"}, // spaced
		{"otp 846-205", "otp ****"}, // grouped
		{"otp 8.4.6.2.0.5", "otp ****"},
		{"my code is 4821, dose 2", "my code is ****, dose 2"},
		{"STATUS", "STATUS"},
		{"LANG 2", "LANG 2"},
		{"dose 1 2", "dose 1 2"}, // two digits are no code
		{"123", "123"},
		{"call 98765 43210", "call ****"},
		{"7 5  5 6", "7 5  5 6"}, // two spaces part them: not one run
	} {
		if got := maskDigits(tc.in); got != tc.want {
			t.Errorf("maskDigits(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestReplyLimitLogsOncePerWindow: a looping bot past the reply limit gets
// one log line per window, not one per SMS.
func TestReplyLimitLogsOncePerWindow(t *testing.T) {
	r := newRig(t)
	a, _ := inboundFixtures(t, r)
	lines := func() []string {
		var out []string
		for _, l := range r.logged() {
			if strings.Contains(l, "reply limit reached") {
				out = append(out, l)
			}
		}
		return out
	}
	for i := range repliesPerWindow + 20 {
		r.inbound(t, "primary", fmt.Sprintf("SM%032d", 700+i), a, "HELP")
	}
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "not_logged_before=0") {
		t.Fatalf("after 20 refusals: %d lines %q, want 1", len(got), got)
	}
	r.advance(replyWindow)
	for i := range repliesPerWindow + 1 {
		r.inbound(t, "primary", fmt.Sprintf("SM%032d", 800+i), a, "HELP")
	}
	if got := lines(); len(got) != 2 || !strings.Contains(got[1], "not_logged_before=19") {
		t.Fatalf("after the next window's first refusal: %q", got)
	}
}
