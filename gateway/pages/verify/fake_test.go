package verify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"sandesh/gateway/pages/webpage/webpagetest"
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

// rig is a page over a fake backend, and a browser-like client of it that
// checks every response it gets and that none has the API key.
type rig struct {
	*webpagetest.Client
	t    *testing.T
	fake *fakeBackend
	page *Page
}

func newRig(t *testing.T, languages []string, secure bool) *rig {
	t.Helper()
	fake := newFake()
	p, err := New(fake, languages, secure)
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testNow }
	site := "http://verify.test/verify"
	if secure {
		site = "https://verify.test/verify"
	}
	return &rig{Client: webpagetest.NewClient(t, site, p.Mount, testKey), t: t, fake: fake, page: p}
}

// signIn signs the rig's browser in with testKey.
func (r *rig) signIn() {
	r.t.Helper()
	form := url.Values{"csrf": {r.CSRF(r.Get("/verify"))}, "api_key": {testKey}}
	if resp := r.Post("/verify/signin", form); resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("sign-in: status %d\n%s", resp.StatusCode, resp.Body)
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
func (r *rig) requestOTP() webpagetest.Response {
	r.t.Helper()
	resp := r.Post("/verify/otp", url.Values{"csrf": {r.sessionCSRF()}, "name": {"Asha Patil"}, "mobile": {"9876543210"}})
	if resp.StatusCode != http.StatusOK || webpagetest.Hidden(resp.Body, "txn") == "" {
		r.t.Fatalf("otp: status %d\n%s", resp.StatusCode, resp.Body)
	}
	return resp
}

func (r *rig) confirmForm(otp string) url.Values {
	return url.Values{"csrf": {r.sessionCSRF()}, "txn": {"txn-7d1e"}, "otp": {otp}, "name": {"Asha Patil"}, "mobile": {"9876543210"}}
}

func (r *rig) setLang(lang string) {
	r.t.Helper()
	r.Get("/verify?lang=" + lang)
}
