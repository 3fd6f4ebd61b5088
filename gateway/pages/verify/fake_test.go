package verify

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

// The verifier key of the fake backend; no response may ever contain it.
const (
	testKey      = "vk_live_9f3c2b7a41d84e0c"
	testVerifier = "Railway Gate 3"
	testOTP      = "123456"
)

// fakeBackend stands in for the gateway's flows: one verifier key, sessions
// in a map, and errors a test sets per method.
type fakeBackend struct {
	mu         sync.Mutex
	sessions   map[string]Session
	n          int
	calls      map[string]int
	signInErr  error
	sessionErr error
	otpErr     error
	confirmErr error
	signOutErr error
	result     Result
	gotName    string
	gotMobile  string
	gotTxn     string
}

func newFake() *fakeBackend {
	return &fakeBackend{sessions: map[string]Session{}, calls: map[string]int{}, result: Result{
		Status: "FULLY_VACCINATED", Name: "Asha Patil", BirthYear: 1980, Gender: "F",
		Doses: 2, LastDoseDate: "2026-10-01", Vaccine: "COVISHIELD",
	}}
}

func (f *fakeBackend) called(m string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[m]
}

func (f *fakeBackend) SignIn(_ context.Context, key string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["SignIn"]++
	if f.signInErr != nil {
		return Session{}, f.signInErr
	}
	if key != testKey {
		return Session{}, &Error{Kind: ErrUnauthorized}
	}
	f.n++
	s := Session{ID: fmt.Sprintf("sess%04dQ", f.n), Verifier: testVerifier, CSRF: fmt.Sprintf("csrf%04dZ", f.n)}
	f.sessions[s.ID] = s
	return s, nil
}

func (f *fakeBackend) Session(_ context.Context, id string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Session"]++
	if f.sessionErr != nil {
		return Session{}, f.sessionErr
	}
	s, ok := f.sessions[id]
	if !ok {
		return Session{}, &Error{Kind: ErrUnauthorized}
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

func (f *fakeBackend) RequestOTP(_ context.Context, _ Session, name, mobile string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["RequestOTP"]++
	f.gotName, f.gotMobile = name, mobile
	if f.otpErr != nil {
		return "", f.otpErr
	}
	return "txn-7d1e", nil
}

func (f *fakeBackend) Confirm(_ context.Context, _ Session, txn, otp string) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Confirm"]++
	f.gotTxn = txn
	if f.confirmErr != nil {
		return Result{}, f.confirmErr
	}
	if otp != testOTP {
		return Result{}, &Error{Kind: ErrOTPMismatch, AttemptsLeft: 2}
	}
	return f.result, nil
}

// The verification time every result page shows in tests.
var testNow = time.Date(2026, 11, 23, 14, 5, 0, 0, time.FixedZone("IST", 5*3600+1800))

// rig is a page over a fake backend in a fiber app, and a browser-like
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
	p, err := New(fake, languages, secure)
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testNow }
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	p.Mount(app)
	jar, _ := cookiejar.New(nil)
	site, _ := url.Parse("http://verify.test/verify")
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

// signIn signs the rig's browser in with testKey.
func (r *rig) signIn() {
	r.t.Helper()
	form := url.Values{"csrf": {csrfOf(r.t, r.get("/verify"))}, "api_key": {testKey}}
	if resp := r.post("/verify/signin", form); resp.StatusCode != http.StatusSeeOther {
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

// requestOTP takes the signed-in browser to the OTP form.
func (r *rig) requestOTP() response {
	r.t.Helper()
	resp := r.post("/verify/otp", url.Values{"csrf": {r.sessionCSRF()}, "name": {"Asha Patil"}, "mobile": {"9876543210"}})
	if resp.StatusCode != http.StatusOK || hidden(resp.body, "txn") == "" {
		r.t.Fatalf("otp: status %d\n%s", resp.StatusCode, resp.body)
	}
	return resp
}

func (r *rig) confirmForm(otp string) url.Values {
	return url.Values{"csrf": {r.sessionCSRF()}, "txn": {"txn-7d1e"}, "otp": {otp}, "name": {"Asha Patil"}, "mobile": {"9876543210"}}
}

func (r *rig) setLang(lang string) {
	r.t.Helper()
	r.get("/verify?lang=" + lang)
}

var (
	hiddenRe    = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	inputRe     = regexp.MustCompile(`<input [^>]*>`)
	idRe        = regexp.MustCompile(` id="([^"]+)"`)
	langRe      = regexp.MustCompile(`<html lang="([a-z]+)">`)
	forbiddenRe = regexp.MustCompile(`<script|<style|\sstyle=|\son[a-z]+=|https?://`)
	errorRe     = regexp.MustCompile(`<p class="error" id="error" role="alert">([^<]*)</p>`)
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

// checkResponse holds for every response of the page: the security
// headers; HTML that is UTF-8, has a lang, a label for each input and is
// not stored; and never the API key.
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
	for name, vals := range r.Header {
		for _, v := range vals {
			if strings.Contains(v, testKey) {
				t.Errorf("%s: header %s has the API key", what, name)
			}
		}
	}
	if strings.Contains(r.body, testKey) {
		t.Errorf("%s: body has the API key", what)
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
	for _, in := range inputRe.FindAllString(r.body, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		m := idRe.FindStringSubmatch(in)
		if m == nil || !strings.Contains(r.body, `<label for="`+m[1]+`">`) {
			t.Errorf("%s: input without a label: %s", what, in)
		}
	}
}
