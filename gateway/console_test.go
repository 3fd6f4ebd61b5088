package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sandesh/gateway/pages/support"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/store"
)

// bookAsha registers Asha Patil on 9876543210 and books her at C1 on
// date; it returns her id and the appointment as the API answered it.
func (r *rig) bookAsha(t *testing.T, date string) (string, map[string]any) {
	t.Helper()
	r.newCenter(t, "C1")
	ben := r.newBeneficiary(t, "Asha Patil", "9876543210", "en")
	return ben, r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": ben, "center_id": "C1", "date": date, "slot": "09:00-11:00", "dose": 1})
}

// page is a browser without a browser: a cookie jar that does not follow
// redirects, so tests see each answer the console gives.
type page struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPage(t *testing.T, base string) *page {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &page{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (p *page) do(method, path string, form url.Values) (int, string, http.Header) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the first form on body.
func (p *page) csrf(body string) string {
	p.t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		p.t.Fatalf("no csrf field in:\n%s", body)
	}
	return m[1]
}

// signIn signs in with key and returns the status of the answer and the
// session's CSRF token ("" when refused).
func (p *page) signIn(key string) (int, string) {
	p.t.Helper()
	_, body, _ := p.do("GET", "/support", nil)
	code, _, _ := p.do("POST", "/support/signin", url.Values{"csrf": {p.csrf(body)}, "api_key": {key}})
	if code != http.StatusSeeOther {
		return code, ""
	}
	_, home, _ := p.do("GET", "/support", nil)
	return code, p.csrf(home)
}

func (p *page) cookie(name string) string {
	u, _ := url.Parse(p.base + "/support")
	for _, c := range p.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Only support and admin keys open the console; centre and verifier keys,
// unknown keys and a verifier's session cookie do not.
func TestConsoleSignIn(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	keys := map[string]string{
		"support":  r.newKey(t, "support", ""),
		"admin":    adminKey,
		"center":   r.newKey(t, "center", "C1"),
		"verifier": r.newKey(t, "verifier", ""),
		"registry": r.newKey(t, "registry", ""),
		"unknown":  "sdk_" + strings.Repeat("0", 48),
	}
	for _, tc := range []struct {
		role string
		want int
	}{
		{"support", http.StatusSeeOther},
		{"admin", http.StatusSeeOther},
		{"center", http.StatusUnauthorized},
		{"verifier", http.StatusUnauthorized},
		{"registry", http.StatusUnauthorized},
		{"unknown", http.StatusUnauthorized},
	} {
		t.Run(tc.role, func(t *testing.T) {
			p := newPage(t, r.url)
			code, _ := p.signIn(keys[tc.role])
			if code != tc.want {
				t.Fatalf("sign-in with a %s key: %d, want %d", tc.role, code, tc.want)
			}
			if signedIn := p.cookie("support_session") != ""; signedIn != (tc.want == http.StatusSeeOther) {
				t.Fatalf("session cookie set = %v", signedIn)
			}
		})
	}
	// A verifier signed in to /verify cannot carry the session over.
	v := newPage(t, r.url)
	_, body, _ := v.do("GET", "/verify", nil)
	if code, _, _ := v.do("POST", "/verify/signin", url.Values{"csrf": {v.csrf(body)}, "api_key": {keys["verifier"]}}); code != http.StatusSeeOther {
		t.Fatalf("verifier sign-in to /verify: %d", code)
	}
	vu, _ := url.Parse(r.url + "/verify")
	var verifierSession string
	for _, c := range v.c.Jar.Cookies(vu) {
		if c.Name == "verify_session" {
			verifierSession = c.Value
		}
	}
	p := newPage(t, r.url)
	su, _ := url.Parse(r.url + "/support")
	p.c.Jar.SetCookies(su, []*http.Cookie{{Name: "support_session", Value: verifierSession, Path: "/support"}})
	if code, body, _ := p.do("GET", "/support/search?mobile=9876543210", nil); code != http.StatusUnauthorized || strings.Contains(body, `id="history"`) {
		t.Fatalf("a verifier's session on the console: %d", code)
	}
	// Nor the other way round.
	s := newPage(t, r.url)
	s.signIn(keys["support"])
	v2 := newPage(t, r.url)
	v2.c.Jar.SetCookies(vu, []*http.Cookie{{Name: "verify_session", Value: s.cookie("support_session"), Path: "/verify"}})
	if _, body, _ := v2.do("GET", "/verify", nil); !strings.Contains(body, `name="api_key"`) {
		t.Fatal("a support session opened the verifier page")
	}
}

// Any way a person types an Indian mobile finds the same citizen; what is
// not a mobile is refused before anything is read.
func TestLookUpMobileFormats(t *testing.T) {
	r := newRig(t)
	r.newBeneficiary(t, "Asha Patil", "9876543210", "mr")
	who := Caller{KeyID: "key_t", Name: "Helpline", Role: store.RoleSupport}
	for _, typed := range []string{"9876543210", "98765 43210", "+91-9876543210", "09876543210", "+91 98765-43210",
		"919876543210", "(+91) 98765 43210", " 098765-43210 ", "98765.43210"} {
		t.Run(typed, func(t *testing.T) {
			l, err := r.gw.LookUpMobile(context.Background(), who, typed)
			if err != nil {
				t.Fatal(err)
			}
			if l.Mobile != "+919876543210" || len(l.People) != 1 || l.People[0].Name != "Asha Patil" {
				t.Fatalf("lookup = %s with %d people", l.Mobile, len(l.People))
			}
		})
	}
	before, _ := r.store.AuditTrail(context.Background(), 1000)
	for _, bad := range []string{"", "12345", "98765 4321", "+1 202 555 0100 ext 4", "abcdefghij", "9876543210; DROP", strings.Repeat("9", 40), "++919876543210", "98765+43210", "९८७६५४३२१०"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := r.gw.LookUpMobile(context.Background(), who, bad)
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Code != "invalid_mobile" {
				t.Fatalf("LookUpMobile(%q) = %v, want invalid_mobile", bad, err)
			}
		})
	}
	after, _ := r.store.AuditTrail(context.Background(), 1000)
	if len(after) != len(before) {
		t.Fatalf("refused lookups wrote %d audit entries", len(after)-len(before))
	}
}

// The console shows bodies as the API does: codes masked; the reference
// id masked; inbound keywords and USSD sessions beside the SMS.
func TestConsoleHistoryMasked(t *testing.T) {
	r := newRig(t)
	ben, appt := r.bookAsha(t, r.tomorrow())
	r.startWorker(t)
	secret := codeIn(t, r.smsTo(t, "+919876543210", 1).Body)
	if code, body := r.inbound(t, "primary", "SM"+strings.Repeat("c", 32), "+919876543210", "status"); code != 200 {
		t.Fatalf("inbound: %d %s", code, body)
	}
	for _, text := range []string{"", "1"} {
		if c, body := do(t, "POST", r.url+"/webhooks/ussd", "application/x-www-form-urlencoded",
			url.Values{"sessionId": {"ATUid_42"}, "serviceCode": {"*384*12#"}, "phoneNumber": {"+919876543210"}, "text": {text}}.Encode(), nil); c != 200 {
			t.Fatalf("ussd %q: %d %s", text, c, body)
		}
	}
	p := newPage(t, r.url)
	if code, _ := p.signIn(r.newKey(t, "support", "")); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	status, body, _ := p.do("GET", "/support/search?mobile=98765+43210", nil)
	if status != 200 {
		t.Fatalf("search: %d\n%s", status, body)
	}
	if strings.Contains(body, "code "+secret) || strings.Contains(body, ben) {
		t.Fatalf("the page shows the security code %s or the full reference id", secret)
	}
	for _, want := range []string{"****", "**********" + ben[10:], "Asha Patil", appt["id"].(string),
		`data-kind="sms_in"`, "STATUS", `data-kind="ussd"`, "*384*12#", `data-kind="sms_out"`} {
		if !strings.Contains(body, want) {
			t.Errorf("search page lacks %q", want)
		}
	}
}

// A resend through the API with a reason is audited with who, why and the
// masked mobile; the admin reads the trail by key and by mobile.
func TestResendAudited(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	ben := r.newBeneficiary(t, "Asha Patil", "9876543210", "en")
	other := r.newBeneficiary(t, "Ravi Rao", "9812345678", "en")
	appt := r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": ben, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})
	appt2 := r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": other, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})
	helpA, helpB := r.newKey(t, "support", ""), r.newKey(t, "support", "")
	r.must(t, 202, "POST", "/v1/support/resend", helpA, map[string]any{
		"appointment_id": appt["id"], "what": "security_code", "reason": "  Citizen called: SMS never arrived  "})
	r.must(t, 202, "POST", "/v1/support/resend", helpB, map[string]any{"appointment_id": appt2["id"], "what": "slip"})
	// A reason that is not text is refused and spends nothing.
	for _, bad := range []string{strings.Repeat("x", maxReason+1), "bell\a", "\x00"} {
		code, resp := r.api(t, "POST", "/v1/support/resend", helpA, map[string]any{"appointment_id": appt["id"], "what": "slip", "reason": bad})
		if code != 400 || resp["field"] != "reason" {
			t.Fatalf("reason %q: %d %v", bad, code, resp)
		}
	}
	if left, _ := r.store.ResendsLeft(context.Background(), "appt:"+appt["id"].(string), resendsPerHour); left != 2 {
		t.Fatalf("%d resends left after one (refused ones must not count)", left)
	}
	entries := func(query string) []map[string]any {
		t.Helper()
		body := r.must(t, 200, "GET", "/v1/admin/audit?"+query, adminKey, nil)
		var out []map[string]any
		for _, e := range body["entries"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	all := entries("limit=10")
	if len(all) != 2 || all[1]["reason"] != "Citizen called: SMS never arrived" || all[1]["mobile"] != "+91******3210" ||
		all[1]["action"] != "resend" || all[1]["target"] != "appt:"+appt["id"].(string) {
		t.Fatalf("trail = %v", all)
	}
	if _, ok := all[0]["reason"]; ok {
		t.Fatalf("an entry without a reason has one: %v", all[0])
	}
	byMobile := entries("mobile=" + url.QueryEscape("+91 98765-43210"))
	if len(byMobile) != 1 || byMobile[0]["actor_id"] != all[1]["actor_id"] {
		t.Fatalf("by mobile = %v", byMobile)
	}
	byKey := entries("key_id=" + all[0]["actor_id"].(string))
	if len(byKey) != 1 || byKey[0]["target"] != "appt:"+appt2["id"].(string) {
		t.Fatalf("by key = %v", byKey)
	}
	if got := entries("key_id=" + all[0]["actor_id"].(string) + "&mobile=9876543210"); len(got) != 0 {
		t.Fatalf("key B about mobile A = %v", got)
	}
	if code, resp := r.api(t, "GET", "/v1/admin/audit?mobile=12345", adminKey, nil); code != 400 || resp["error"] != "invalid_mobile" {
		t.Fatalf("bad mobile filter: %d %v", code, resp)
	}
	if code, _ := r.api(t, "GET", "/v1/admin/audit", helpA, nil); code != 403 {
		t.Fatalf("support key read the trail: %d", code)
	}
}

// A console form posted without its CSRF token (a forged cross-site post)
// is refused and changes nothing: no SMS, no resend spent, no audit entry.
func TestConsoleCSRF(t *testing.T) {
	r := newRig(t)
	_, appt := r.bookAsha(t, r.tomorrow())
	p := newPage(t, r.url)
	_, token := p.signIn(r.newKey(t, "support", ""))
	ctx := context.Background()
	msgsBefore, _ := r.store.MessagesByMobile(ctx, "+919876543210", 0)
	trailBefore, _ := r.store.AuditTrail(ctx, 1000)
	form := url.Values{"what": {"security_code"}, "appointment_id": {appt["id"].(string)},
		"mobile": {"+919876543210"}, "reason": {"forged"}}
	for _, tc := range []struct{ name, token string }{{"missing", ""}, {"wrong", token[:len(token)-2] + "xx"}} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if tc.token != "" {
			f.Set("csrf", tc.token)
		}
		for _, path := range []string{"/support/act", "/support/confirm", "/support/signout"} {
			if code, _, _ := p.do("POST", path, f); code != http.StatusForbidden {
				t.Errorf("%s token on %s: %d, want 403", tc.name, path, code)
			}
		}
	}
	msgsAfter, _ := r.store.MessagesByMobile(ctx, "+919876543210", 0)
	trailAfter, _ := r.store.AuditTrail(ctx, 1000)
	left, _ := r.store.ResendsLeft(ctx, "appt:"+appt["id"].(string), resendsPerHour)
	if len(msgsAfter) != len(msgsBefore) || len(trailAfter) != len(trailBefore) || left != resendsPerHour {
		t.Fatalf("a refused post changed something: messages %d→%d, audit %d→%d, resends left %d",
			len(msgsBefore), len(msgsAfter), len(trailBefore), len(trailAfter), left)
	}
	// Still signed in: the refused sign-out did not end the session.
	if code, _, _ := p.do("GET", "/support/search?mobile=9876543210", nil); code != 200 {
		t.Fatalf("after refused posts: %d", code)
	}
	// With the token the same form works.
	form.Set("csrf", token)
	if code, _, h := p.do("POST", "/support/act", form); code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "sent=") {
		t.Fatalf("act with the token: %d %s", code, h.Get("Location"))
	}
	trail, _ := r.store.AuditTrail(ctx, 1)
	if len(trail) != 1 || trail[0].Action != "resend" || trail[0].Reason != "forged" {
		t.Fatalf("audit after the resend: %+v", trail)
	}
}

// The console's support actions map onto the resend flow.
func TestConsoleActions(t *testing.T) {
	r := newRig(t)
	ben, appt := r.bookAsha(t, r.today())
	id := appt["id"].(string)
	centre := r.newKey(t, "center", "C1")
	for range store.MaxCodeAttempts {
		r.api(t, "POST", "/v1/appointments/"+id+"/verify-code", centre, map[string]any{"code": "0000"})
	}
	s := &server{gw: r.gw}
	b := consoleBackend{s}
	ctx := context.Background()
	ws, err := r.store.CreateWebSession(ctx, store.WebSession{KeyID: "key_t", Name: "Helpline", Role: store.RoleSupport}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	staff := support.Staff{SessionID: ws.ID, Name: "Helpline"}
	l, err := b.Search(ctx, staff, "9876543210")
	if err != nil || len(l.People) != 1 || l.People[0].Appointment == nil || !l.People[0].Appointment.Locked {
		t.Fatalf("search = %+v, %v; want a locked appointment", l, err)
	}
	if _, err := b.Act(ctx, staff, support.Action{What: support.ActRegenerate, AppointmentID: id, Reason: "locked out"}); err != nil {
		t.Fatal(err)
	}
	l, _ = b.Search(ctx, staff, "9876543210")
	if a := l.People[0].Appointment; a.Locked || a.ResendsLeft != 2 {
		t.Fatalf("after a new code: %+v; want unlocked, 2 resends left", a)
	}
	for _, tc := range []struct {
		name string
		a    support.Action
		want support.ErrorKind
	}{
		{"no reason", support.Action{What: support.ActSlip, AppointmentID: id, Reason: " "}, support.ErrInvalidInput},
		{"no dose to confirm", support.Action{What: support.ActConfirmation, BeneficiaryID: ben, Reason: "r"}, support.ErrNoDose},
		{"unknown appointment", support.Action{What: support.ActSlip, AppointmentID: "19a8e1f0c2a7d3b5e9f1024c6a8", Reason: "r"}, support.ErrNotFound},
		{"unknown what", support.Action{What: "everything", AppointmentID: id, Reason: "r"}, support.ErrInvalidInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Act(ctx, staff, tc.a)
			var e *support.Error
			if !errors.As(err, &e) || e.Kind != tc.want {
				t.Fatalf("Act = %v, want %s", err, tc.want)
			}
		})
	}
	// A support key reads neither the trail nor the key list.
	if _, err := b.Audit(ctx, staff, support.AuditFilter{Limit: 10}); !isKind(err, support.ErrForbidden) {
		t.Fatalf("support reading the audit: %v", err)
	}
	if _, err := b.StaffKeys(ctx, staff); !isKind(err, support.ErrForbidden) {
		t.Fatalf("support listing keys: %v", err)
	}
	if _, err := b.Search(ctx, support.Staff{SessionID: strings.Repeat("0", 32)}, "9876543210"); !isKind(err, support.ErrUnauthorized) {
		t.Fatalf("search with an unknown session: %v", err)
	}
	if !slices.ContainsFunc(l.History, func(e support.Entry) bool { return e.Template == "security_code" }) {
		t.Fatal("the new code's SMS is not in the history")
	}
}

func isKind(err error, k support.ErrorKind) bool {
	var e *support.Error
	return errors.As(err, &e) && e.Kind == k
}

// TestAuditKeepsRevokedKeys: after a support key is revoked (through the
// API, with the revocation in the trail), the admin's audit page still
// offers it, marked, and shows its actions.
func TestAuditKeepsRevokedKeys(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	ben := r.newBeneficiary(t, "Asha Patil", "9876543210", "en")
	appt := r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": ben, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})
	helpdesk := r.must(t, 201, "POST", "/v1/admin/keys", adminKey, map[string]any{"role": "support", "name": "Helpdesk Nashik"})
	r.must(t, 202, "POST", "/v1/support/resend", helpdesk["key"].(string), map[string]any{"appointment_id": appt["id"], "what": "slip"})
	id := helpdesk["id"].(string)
	r.must(t, 204, "DELETE", "/v1/admin/keys/"+id, adminKey, nil)

	p := newPage(t, r.url)
	if code, _ := p.signIn(adminKey); code != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", code)
	}
	_, body, _ := p.do("GET", "/support/audit?staff="+id, nil)
	if !strings.Contains(body, "Helpdesk Nashik (support, revoked)") {
		t.Fatalf("the revoked key is not offered, marked, in the filter:\n%s", body)
	}
	if !strings.Contains(body, "Resent") || !strings.Contains(body, "appt:"+appt["id"].(string)) {
		t.Fatalf("the revoked key's resend is not listed:\n%s", body)
	}
	_, all, _ := p.do("GET", "/support/audit", nil)
	if !strings.Contains(all, "Revoked a key") || !strings.Contains(all, id) {
		t.Fatalf("the revocation is not in the trail:\n%s", all)
	}
}

// TestDeadLetterRetriedFromTheConsole: a slip the provider refuses for good
// is a dead letter; once the cause is gone an admin retries it from the
// console, the same slip reaches the citizen as a new message, the old one
// stays failed, and the retry is in the audit trail.
func TestDeadLetterRetriedFromTheConsole(t *testing.T) {
	r := newRig(t)
	r.startWorker(t)
	r.double.Respond(twiliotest.FailAll(400, 21614)) // "not a mobile number", say a bad number range
	_, appt := r.bookAsha(t, r.tomorrow())
	slipID := appt["message_id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, _ := r.store.DeadLetterCount(context.Background()); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused slip never became a dead letter")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.double.Respond(nil)

	p := newPage(t, r.url)
	if code, _ := p.signIn(adminKey); code != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", code)
	}
	_, list, _ := p.do("GET", "/support/dead-letters", nil)
	for _, want := range []string{"Appointment slip", "&#43;91******3210", ">21614<", `value="msg:` + slipID + `"`} {
		if !strings.Contains(list, want) {
			t.Fatalf("the list lacks %s:\n%s", want, list)
		}
	}
	code, _, h := p.do("POST", "/support/dead-letters/retry", url.Values{"csrf": {p.csrf(list)}, "id": {"msg:" + slipID}})
	retried := strings.TrimPrefix(h.Get("Location"), "/support/dead-letters?retried=")
	if code != http.StatusSeeOther || retried == "" || retried == slipID {
		t.Fatalf("retry: %d %q", code, h.Get("Location"))
	}
	sms := r.smsTo(t, "+919876543210", 1)
	contains(t, sms.Body, "PHC C1", "09:00-11:00")
	if old := r.must(t, 200, "GET", "/v1/messages/"+slipID, adminKey, nil); old["status"] != "failed" {
		t.Fatalf("the dead slip is now %v", old["status"])
	}
	if again := r.must(t, 200, "GET", "/v1/messages/"+retried, adminKey, nil); again["template"] != "appointment_slip" {
		t.Fatalf("the retried message: %v", again)
	}
	if _, after, _ := p.do("GET", "/support/dead-letters", nil); !strings.Contains(after, "no-dead-letters") {
		t.Fatalf("the retried dead letter is still listed:\n%s", after)
	}
	if code, _, _ := p.do("POST", "/support/dead-letters/retry", url.Values{"csrf": {p.csrf(list)}, "id": {"msg:" + slipID}}); code != http.StatusNotFound {
		t.Fatalf("a second retry: %d, want 404", code)
	}
	if _, trail, _ := p.do("GET", "/support/audit", nil); !strings.Contains(trail, "Retried a dead letter") || !strings.Contains(trail, "msg:"+slipID) {
		t.Fatalf("the retry is not in the audit trail:\n%s", trail)
	}
}
