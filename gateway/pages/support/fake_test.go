package support

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// The keys of the fake backend; no response may ever contain one.
const (
	supportKey  = "sk_live_support_5b7e1c90"
	adminKey    = "ak_live_admin_9d2f04e1"
	centreKey   = "ck_live_centre_31aa77b2" // a key of another role: SignIn refuses it
	supportName = "Helpline Desk 4"
	adminName   = "Programme Admin"
	testMobile  = "+919876543210"
	testApptID  = "APT7781"
	testBenID   = "BEN00012345" // Asha's, with a dose and the appointment
	otherBenID  = "BEN00067890" // Ravi's, fully vaccinated
	testMsgID   = "msg_7Hq2x-Lz"
)

var allKeys = []string{supportKey, adminKey, centreKey}

// fakeBackend stands in for the gateway: a support and an admin key,
// sessions in a map, one mobile with two people and a history, errors a
// test sets per method, and a record of what it was asked.
type fakeBackend struct {
	mu         sync.Mutex
	sessions   map[string]Staff
	n          int
	calls      map[string]int
	signInErr  error
	sessionErr error
	signOutErr error
	searchErr  error
	actErr     error
	keysErr    error
	auditErr   error
	lookup     Lookup
	keys       []StaffKey
	trail      []AuditEntry
	messageID  string
	searched   []string // the mobiles Search got
	actions    []Action
	filters    []AuditFilter
}

func newFake() *fakeBackend {
	return &fakeBackend{sessions: map[string]Staff{}, calls: map[string]int{}, lookup: testLookup(),
		messageID: testMsgID,
		keys: []StaffKey{
			{ID: "key_support_4", Name: supportName, Role: "support"},
			{ID: "key_admin_1", Name: adminName, Role: "admin"},
		},
		trail: []AuditEntry{
			{At: at(8, 36, 0), Staff: supportName, StaffID: "key_support_4", Role: "support", Action: "resend",
				Target: "appt:" + testApptID, Mobile: "+91******3210", Detail: "security_code", Reason: "Citizen called: no SMS"},
			{At: at(8, 30, 0), Staff: supportName, StaffID: "key_support_4", Role: "support", Action: "search",
				Target: "+91******3210", Mobile: "+91******3210"},
		}}
}

// at is a time on 23 Nov 2026 in UTC; +5:30 makes it IST.
func at(h, m, s int) time.Time { return time.Date(2026, 11, 23, h, m, s, 0, time.UTC) }

// testLookup is the mobile of every test: Asha with one dose and a booked
// second, Ravi fully vaccinated, and their history newest first.
func testLookup() Lookup {
	return Lookup{
		Mobile: testMobile,
		People: []Person{
			{BeneficiaryID: testBenID, MaskedID: "*******2345", Name: "Asha Patil", Status: "PARTIALLY_VACCINATED",
				Doses: 1, LastVaccine: "COVISHIELD", LastDoseDate: "2026-10-01", ConfirmationResendsLeft: 3,
				Appointment: &Appointment{ID: testApptID, CenterID: "C12", CenterName: "PHC Hadapsar",
					Date: "2026-11-24", Slot: "09:00-11:00", Dose: 2, ResendsLeft: 2}},
			{BeneficiaryID: otherBenID, MaskedID: "*******7890", Name: "Ravi <b>Patil</b>", Status: "FULLY_VACCINATED",
				Doses: 2, LastVaccine: "COVAXIN", LastDoseDate: "2026-09-15", ConfirmationResendsLeft: 1},
		},
		History: []Entry{
			{Kind: KindOutbound, ID: "msg_a1", At: at(8, 35, 0), Template: "security_code", Language: "hi",
				Body: "आपका सुरक्षा कोड **** है", Status: "delivered", Provider: "twilio", Segments: 1,
				Changes: []Change{{"queued", at(8, 35, 0)}, {"sent", at(8, 35, 3)}, {"delivered", at(8, 35, 9)}}},
			{Kind: KindUSSD, ID: "ussd_9", At: at(8, 20, 0), ServiceCode: "*384*12#", Body: "1*2", Steps: 2, Status: "ended"},
			{Kind: KindInbound, ID: "in_5", At: at(8, 10, 0), Body: "STATUS", Keyword: "STATUS", Status: "received"},
			{Kind: KindOutbound, ID: "msg_a0", At: at(7, 0, 0), Template: "appointment_slip", Language: "en",
				Body: "Slip: PHC Hadapsar 24-11 09:00, code ****", Status: "undelivered", Provider: "twilio",
				Segments: 2, ErrorCode: "30003",
				Changes: []Change{{"queued", at(7, 0, 0)}, {"sent", at(7, 0, 2)}, {"undelivered", at(7, 1, 30)}}},
		},
	}
}

func (f *fakeBackend) called(m string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[m]
}

func (f *fakeBackend) SignIn(_ context.Context, key string) (Staff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["SignIn"]++
	if f.signInErr != nil {
		return Staff{}, f.signInErr
	}
	var s Staff
	switch key {
	case supportKey:
		s = Staff{Name: supportName}
	case adminKey:
		s = Staff{Name: adminName, Admin: true}
	default: // the centre key too: not a console role
		return Staff{}, &Error{Kind: ErrUnauthorized}
	}
	f.n++
	s.SessionID, s.CSRF = fmt.Sprintf("sess%04dQ", f.n), fmt.Sprintf("csrf%04dZ", f.n)
	f.sessions[s.SessionID] = s
	return s, nil
}

func (f *fakeBackend) Session(_ context.Context, id string) (Staff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Session"]++
	if f.sessionErr != nil {
		return Staff{}, f.sessionErr
	}
	s, ok := f.sessions[id]
	if !ok {
		return Staff{}, &Error{Kind: ErrUnauthorized}
	}
	return s, nil
}

func (f *fakeBackend) SignOut(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["SignOut"]++
	if f.signOutErr != nil {
		return f.signOutErr
	}
	delete(f.sessions, id)
	return nil
}

// Search knows one mobile, in any format with its last ten digits; other
// numbers of ten digits or more have nothing, shorter ones are none.
func (f *fakeBackend) Search(_ context.Context, _ Staff, mobile string) (Lookup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Search"]++
	f.searched = append(f.searched, mobile)
	if f.searchErr != nil {
		return Lookup{}, f.searchErr
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, mobile)
	if len(digits) < 10 {
		return Lookup{}, &Error{Kind: ErrInvalidMobile}
	}
	last := digits[len(digits)-10:]
	if "+91"+last != f.lookup.Mobile {
		return Lookup{Mobile: "+91" + last}, nil
	}
	return f.lookup, nil
}

func (f *fakeBackend) Act(_ context.Context, _ Staff, a Action) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Act"]++
	f.actions = append(f.actions, a)
	if f.actErr != nil {
		return "", f.actErr
	}
	return f.messageID, nil
}

func (f *fakeBackend) StaffKeys(_ context.Context, s Staff) ([]StaffKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["StaffKeys"]++
	if f.keysErr != nil {
		return nil, f.keysErr
	}
	if !s.Admin {
		return nil, &Error{Kind: ErrForbidden}
	}
	return f.keys, nil
}

func (f *fakeBackend) Audit(_ context.Context, s Staff, flt AuditFilter) ([]AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Audit"]++
	f.filters = append(f.filters, flt)
	if f.auditErr != nil {
		return nil, f.auditErr
	}
	if !s.Admin {
		return nil, &Error{Kind: ErrForbidden}
	}
	return f.trail, nil
}

// The time every search is shown as of in tests.
var testNow = time.Date(2026, 11, 23, 14, 5, 0, 0, time.FixedZone("IST", 5*3600+1800))

// rig is a console over a fake backend in a fiber app, and a browser-like
// client with a cookie jar that checks every response it gets.
type rig struct {
	t    *testing.T
	fake *fakeBackend
	page *Page
	app  *fiber.App
	jar  *cookiejar.Jar
	site *url.URL
}

func newRig(t *testing.T, languages []string, secure bool) *rig {
	t.Helper()
	fake := newFake()
	p, err := New(fake, Options{Languages: languages, SecureCookies: secure})
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testNow }
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	p.Mount(app)
	jar, _ := cookiejar.New(nil)
	site, _ := url.Parse("http://support.test/support")
	if secure {
		site.Scheme = "https"
	}
	return &rig{t: t, fake: fake, page: p, app: app, jar: jar, site: site}
}

type response struct {
	*http.Response
	body string
}

func (r *rig) get(path string) response { return r.do(http.MethodGet, path, nil) }

func (r *rig) post(path string, form url.Values) response { return r.do(http.MethodPost, path, form) }

func (r *rig) do(method, path string, form url.Values) response {
	r.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := r.site.ResolveReference(&url.URL{Path: path})
	if p, q, ok := strings.Cut(path, "?"); ok {
		u = r.site.ResolveReference(&url.URL{Path: p, RawQuery: q})
	}
	req, _ := http.NewRequest(method, u.String(), body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range r.jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := r.app.Test(req, -1)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.jar.SetCookies(u, resp.Cookies())
	out := response{resp, string(b)}
	checkResponse(r.t, method+" "+path, out)
	return out
}

// signIn signs the rig's browser in with key.
func (r *rig) signIn(key string) {
	r.t.Helper()
	form := url.Values{"csrf": {csrfOf(r.t, r.get("/support"))}, "api_key": {key}}
	if resp := r.post("/support/signin", form); resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("sign-in: status %d\n%s", resp.StatusCode, resp.body)
	}
}

// sessionCSRF is the CSRF token of the signed-in session.
func (r *rig) sessionCSRF() string {
	r.t.Helper()
	r.fake.mu.Lock()
	defer r.fake.mu.Unlock()
	for _, s := range r.fake.sessions {
		return s.CSRF
	}
	r.t.Fatal("no session")
	return ""
}

// actForm is the form of an action of the search page, with a reason.
func (r *rig) actForm(what, reason string) url.Values {
	f := url.Values{"csrf": {r.sessionCSRF()}, "what": {what}, "mobile": {testMobile}}
	if what == ActConfirmation {
		f.Set("beneficiary_id", testBenID)
	} else {
		f.Set("appointment_id", testApptID)
	}
	if reason != "" {
		f.Set("reason", reason)
	}
	return f
}

// cookieSet is the cookie of name that resp sets, nil when none.
func cookieSet(resp response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var (
	hiddenRe    = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	fieldRe     = regexp.MustCompile(`<(?:input|select|textarea) [^>]*>`)
	idRe        = regexp.MustCompile(` id="([^"]+)"`)
	langRe      = regexp.MustCompile(`<html lang="([a-z]+)">`)
	forbiddenRe = regexp.MustCompile(`<script|<style|\sstyle=|\son[a-z]+=|https?://`)
	errorRe     = regexp.MustCompile(`<p class="error" id="error" role="alert">([^<]*)</p>`)
	flashRe     = regexp.MustCompile(`<p id="flash" role="status">([^<]*)</p>`)
)

func hidden(body, name string) string {
	for _, m := range hiddenRe.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

func csrfOf(t *testing.T, resp response) string {
	t.Helper()
	tok := hidden(resp.body, "csrf")
	if tok == "" {
		t.Fatalf("no csrf field in\n%s", resp.body)
	}
	return tok
}

// errorText is the page's error message, unescaped; "" when none.
func errorText(body string) string {
	m := errorRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// invalidFields are the ids of the fields marked aria-invalid.
func invalidFields(body string) []string {
	var out []string
	for _, f := range fieldRe.FindAllString(body, -1) {
		if strings.Contains(f, `aria-invalid="true" aria-describedby="error"`) {
			if m := idRe.FindStringSubmatch(f); m != nil {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// checkResponse holds for every response of the console: the security
// headers; HTML that is UTF-8, has a lang, a label for each field and is
// not stored; and never an API key.
func checkResponse(t *testing.T, what string, r response) {
	t.Helper()
	for _, kv := range [][2]string{
		{"Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
		{"X-Frame-Options", "DENY"},
		{"X-Content-Type-Options", "nosniff"},
		{"Referrer-Policy", "no-referrer"},
	} {
		if got := r.Header.Get(kv[0]); got != kv[1] {
			t.Errorf("%s: %s = %q, want %q", what, kv[0], got, kv[1])
		}
	}
	for _, key := range allKeys {
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, key) {
					t.Errorf("%s: header %s has an API key", what, name)
				}
			}
		}
		if strings.Contains(r.body, key) {
			t.Errorf("%s: body has an API key", what)
		}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		return
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
	if r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type = %q", what, r.Header.Get("Content-Type"))
	}
	if !utf8.ValidString(r.body) {
		t.Errorf("%s: body is not UTF-8", what)
	}
	if !strings.HasPrefix(r.body, "<!DOCTYPE html>\n<html lang=\"") || !strings.HasSuffix(r.body, "</html>\n") {
		t.Errorf("%s: not a whole HTML page:\n%s", what, r.body)
	}
	if m := forbiddenRe.FindString(r.body); m != "" {
		t.Errorf("%s: page has %q (script, inline style or an outside URL)", what, m)
	}
	if !strings.Contains(r.body, `<a class="skip" href="#main">`) || !strings.Contains(r.body, `<main id="main"`) {
		t.Errorf("%s: no skip link to the main content", what)
	}
	for _, f := range fieldRe.FindAllString(r.body, -1) {
		if strings.Contains(f, `type="hidden"`) {
			continue
		}
		m := idRe.FindStringSubmatch(f)
		if m == nil || !strings.Contains(r.body, `<label for="`+m[1]+`">`) {
			t.Errorf("%s: field without a label: %s", what, f)
		}
	}
	if n := len(invalidFields(r.body)); n > 0 && errorText(r.body) == "" {
		t.Errorf("%s: %d fields marked invalid with no error to describe them", what, n)
	}
}
