package verify

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"sandesh/gateway/pages/webpage/webpagetest"
)

var allLangs = []string{"en", "hi", "mr"}

func TestSignIn(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key        string
		backendErr error
		wantStatus int
		wantMsg    string // key of the error shown; "" for none
		wantCalled int    // calls of Backend.SignIn
	}{
		{"verifier key", testKey, nil, http.StatusSeeOther, "", 1},
		{"key pasted with spaces", "  " + testKey + "\n", nil, http.StatusSeeOther, "", 1},
		{"unknown key", "vk_live_wrong", nil, http.StatusUnauthorized, "err_signin", 1},
		{"empty key", "", nil, http.StatusUnauthorized, "err_signin", 0},
		{"overlong key", strings.Repeat("k", 201), nil, http.StatusUnauthorized, "err_signin", 0},
		{"rate limited", testKey, &Error{Kind: ErrRateLimited}, http.StatusTooManyRequests, "err_rate_limited", 1},
		{"backend down", testKey, errors.New("redis: connection refused"), http.StatusServiceUnavailable, "err_unavailable", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			r.fake.signInErr = tc.backendErr
			form := url.Values{"csrf": {r.CSRF(r.Get("/verify"))}, "api_key": {tc.key}}
			resp := r.Post("/verify/signin", form)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			if got := r.fake.called("SignIn"); got != tc.wantCalled {
				t.Errorf("SignIn called %d times, want %d", got, tc.wantCalled)
			}
			if strings.Contains(resp.Body, tc.key) && tc.key != "" {
				t.Errorf("the key is echoed back")
			}
			if tc.wantMsg != "" {
				if got, want := webpagetest.ErrorText(resp.Body), r.page.langs.Words["en"].Text(tc.wantMsg); got != want {
					t.Errorf("error %q, want %q", got, want)
				}
				if strings.Contains(resp.Header.Get("Set-Cookie"), sessionCookie+"=sess") {
					t.Errorf("a session cookie after a failed sign-in")
				}
				return
			}
			if loc := resp.Header.Get("Location"); loc != "/verify" {
				t.Errorf("Location %q, want /verify", loc)
			}
			home := r.Get("/verify")
			if !strings.Contains(home.Body, "Signed in as "+testVerifier) || !strings.Contains(home.Body, `action="/verify/otp"`) {
				t.Errorf("after sign-in, no name-and-mobile form:\n%s", home.Body)
			}
		})
	}
}

func TestCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		r := newRig(t, allLangs, secure)
		first := r.Get("/verify?lang=hi")
		ok := r.Post("/verify/signin", url.Values{"csrf": {r.CSRF(first)}, "api_key": {testKey}})
		out := r.Post("/verify/signout", url.Values{"csrf": {r.sessionCSRF()}})

		cookies := webpagetest.CookiesSet(first, ok)
		webpagetest.CheckCookies(t, cookies, "/verify", secure, webpagetest.SignInCookies(sessionCookie, csrfCookie, langCookie)...)
		if cookies[sessionCookie].Value == testKey {
			t.Errorf("the session cookie is the key")
		}
		cleared := out.Clears(sessionCookie, "/verify")
		if out.StatusCode != http.StatusSeeOther || !cleared || r.fake.called("SignOut") != 1 {
			t.Errorf("secure=%v: sign-out: status %d, cookie cleared %v, SignOut calls %d", secure, out.StatusCode, cleared, r.fake.called("SignOut"))
		}
		if home := r.Get("/verify"); !strings.Contains(home.Body, `action="/verify/signin"`) {
			t.Errorf("secure=%v: signed in after sign-out", secure)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	for _, tc := range []struct {
		name, path, token string
		signedIn          bool
		method            string // Backend method that must not be called
	}{
		{"sign-in without token", "/verify/signin", "", false, "SignIn"},
		{"sign-in with a wrong token", "/verify/signin", "forged", false, "SignIn"},
		{"otp without token", "/verify/otp", "", true, "RequestOTP"},
		{"otp with a wrong token", "/verify/otp", "forged", true, "RequestOTP"},
		{"otp with the sign-in form's token", "/verify/otp", "pre-session", true, "RequestOTP"},
		{"confirm without token", "/verify/confirm", "", true, "Confirm"},
		{"confirm with a wrong token", "/verify/confirm", "forged", true, "Confirm"},
		{"sign-out without token", "/verify/signout", "", true, "SignOut"},
		{"sign-out with a wrong token", "/verify/signout", "forged", true, "SignOut"},
	} {
		for _, lang := range allLangs {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.setLang(lang)
				pre := r.CSRF(r.Get("/verify"))
				if tc.signedIn {
					r.signIn()
				}
				form := url.Values{"api_key": {testKey}, "name": {"Asha Patil"}, "mobile": {"9876543210"}, "txn": {"txn-7d1e"}, "otp": {testOTP}}
				resp := r.Post(tc.path, webpagetest.WithToken(form, tc.token, pre))
				webpagetest.CheckError(t, resp, http.StatusForbidden, r.page.langs.Words[lang].Text("err_csrf"), lang)
				if n := r.fake.called(tc.method); n > 0 && !(tc.method == "SignIn" && tc.signedIn) {
					t.Errorf("%s called %d times", tc.method, n)
				}
			})
		}
	}
	t.Run("sign-in token without its cookie", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		tok := r.CSRF(r.Get("/verify"))
		r.Forget(csrfCookie)
		if resp := r.Post("/verify/signin", url.Values{"csrf": {tok}, "api_key": {testKey}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
}

// TestErrors shows every error kind, at every step it can happen, in each
// language, with its status and on the form where the verifier can act.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		step       string // home, otp or confirm
		setup      func(f *fakeBackend)
		form       url.Values // fields over the step's usual ones
		wantStatus int
		wantMsg    string
		wantN      string // {n} of the message
		wantForm   string // action of the form shown
		wantField  string // input marked aria-invalid
	}{
		{"session expired, home", "home", func(f *fakeBackend) { f.sessionErr = &Error{Kind: ErrUnauthorized} }, nil, 200, "err_session_ended", "", "/verify/signin", ""},
		{"session lookup down, home", "home", func(f *fakeBackend) { f.sessionErr = errors.New("timeout") }, nil, 503, "err_unavailable", "", "", ""},
		{"session expired, otp", "otp", func(f *fakeBackend) { f.sessionErr = &Error{Kind: ErrUnauthorized} }, nil, 401, "err_session_ended", "", "/verify/signin", ""},
		{"session lookup down, otp", "otp", func(f *fakeBackend) { f.sessionErr = errors.New("timeout") }, nil, 503, "err_unavailable", "", "", ""},
		{"name refused", "otp", func(f *fakeBackend) { f.otpErr = &Error{Kind: ErrInvalidInput} }, nil, 422, "err_invalid_input", "", "/verify/otp", "name"},
		{"name empty", "otp", nil, url.Values{"name": {"  "}}, 422, "err_invalid_input", "", "/verify/otp", "name"},
		{"mobile refused", "otp", func(f *fakeBackend) { f.otpErr = &Error{Kind: ErrInvalidMobile} }, nil, 422, "err_invalid_mobile", "", "/verify/otp", "mobile"},
		{"mobile empty", "otp", nil, url.Values{"mobile": {""}}, 422, "err_invalid_mobile", "", "/verify/otp", "mobile"},
		{"otp rate limited", "otp", func(f *fakeBackend) { f.otpErr = &Error{Kind: ErrRateLimited} }, nil, 429, "err_rate_limited", "", "/verify/otp", ""},
		{"key revoked at otp", "otp", func(f *fakeBackend) { f.otpErr = &Error{Kind: ErrUnauthorized} }, nil, 401, "err_session_ended", "", "/verify/signin", ""},
		{"otp unavailable", "otp", func(f *fakeBackend) { f.otpErr = &Error{Kind: ErrUnavailable} }, nil, 503, "err_unavailable", "", "/verify/otp", ""},
		{"otp plain error", "otp", func(f *fakeBackend) { f.otpErr = errors.New("queue full") }, nil, 503, "err_unavailable", "", "/verify/otp", ""},
		{"wrong otp, attempts left", "confirm", nil, url.Values{"otp": {"654321"}}, 422, "err_otp_mismatch", "2", "/verify/confirm", "otp"},
		{"wrong otp, none left", "confirm", func(f *fakeBackend) { f.confirmErr = &Error{Kind: ErrOTPMismatch} }, nil, 422, "err_otp_no_attempts", "", "/verify/otp", ""},
		{"otp expired", "confirm", func(f *fakeBackend) { f.confirmErr = &Error{Kind: ErrOTPExpired} }, nil, 410, "err_otp_expired", "", "/verify/otp", ""},
		{"txn missing", "confirm", nil, url.Values{"txn": {""}}, 410, "err_otp_expired", "", "/verify/otp", ""},
		{"otp not six digits", "confirm", nil, url.Values{"otp": {"12ab56"}}, 422, "err_otp_format", "", "/verify/confirm", "otp"},
		{"otp refused as input", "confirm", func(f *fakeBackend) { f.confirmErr = &Error{Kind: ErrInvalidInput} }, nil, 422, "err_otp_format", "", "/verify/confirm", "otp"},
		{"confirm rate limited", "confirm", func(f *fakeBackend) { f.confirmErr = &Error{Kind: ErrRateLimited} }, nil, 429, "err_rate_limited", "", "/verify/confirm", ""},
		{"txn of another key", "confirm", func(f *fakeBackend) { f.confirmErr = &Error{Kind: ErrUnauthorized} }, nil, 401, "err_session_ended", "", "/verify/signin", ""},
		{"confirm plain error", "confirm", func(f *fakeBackend) { f.confirmErr = errors.New("redis down") }, nil, 503, "err_unavailable", "", "/verify/confirm", ""},
		{"unknown status", "confirm", func(f *fakeBackend) { f.result.Status = "BOOSTED" }, nil, 503, "err_unavailable", "", "/verify/confirm", ""},
	} {
		for _, lang := range allLangs {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.setLang(lang)
				r.signIn()
				var form url.Values
				switch tc.step {
				case "otp":
					form = url.Values{"csrf": {r.sessionCSRF()}, "name": {"Asha Patil"}, "mobile": {"9876543210"}}
				case "confirm":
					r.requestOTP()
					form = r.confirmForm(testOTP)
				}
				for k, v := range tc.form {
					form[k] = v
				}
				if tc.setup != nil {
					tc.setup(r.fake)
				}
				var resp webpagetest.Response
				if tc.step == "home" {
					resp = r.Get("/verify")
				} else {
					resp = r.Post("/verify/"+tc.step, form)
				}
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
				}
				want := r.page.langs.Words[lang].Text(tc.wantMsg, "n", tc.wantN)
				if got := webpagetest.ErrorText(resp.Body); got != want || strings.Contains(got, "{") {
					t.Errorf("error %q, want %q", got, want)
				}
				if lang != "en" && want == r.page.langs.Words["en"].Text(tc.wantMsg, "n", tc.wantN) {
					t.Errorf("%s is not translated into %s", tc.wantMsg, lang)
				}
				if !strings.Contains(resp.Body, `<html lang="`+lang+`">`) {
					t.Errorf("page not in %s", lang)
				}
				if tc.wantForm != "" && !strings.Contains(resp.Body, `action="`+tc.wantForm+`"`) {
					t.Errorf("no form to %s:\n%s", tc.wantForm, resp.Body)
				}
				if tc.wantField != "" && !strings.Contains(resp.Body, `id="`+tc.wantField+`"`) {
					t.Errorf("no %s field", tc.wantField)
				}
				if tc.wantField != "" && !strings.Contains(resp.Body, `name="`+tc.wantField+`" `) {
					t.Errorf("no %s input", tc.wantField)
				}
				for _, in := range webpagetest.Fields(resp.Body) {
					marked := strings.Contains(in, `aria-invalid="true"`)
					isField := tc.wantField != "" && strings.Contains(in, `id="`+tc.wantField+`"`)
					if marked != isField && tc.wantForm != "/verify/signin" {
						t.Errorf("aria-invalid on %s (want only %q)", in, tc.wantField)
					}
				}
				if tc.wantForm == "/verify/confirm" && webpagetest.Hidden(resp.Body, "txn") != "txn-7d1e" {
					t.Errorf("the OTP form lost the txn")
				}
				if tc.step == "confirm" && tc.wantForm == "/verify/otp" && !strings.Contains(resp.Body, `value="Asha Patil"`) {
					t.Errorf("the new check is not filled in with the name")
				}
			})
		}
	}
}

func TestResult(t *testing.T) {
	words := map[string]map[string]string{
		"en": {"FULLY_VACCINATED": "Fully vaccinated", "PARTIALLY_VACCINATED": "Partially vaccinated", "NOT_VACCINATED": "Not vaccinated",
			"date": "1 Oct 2026", "at": "23 Nov 2026, 14:05 IST", "none": "None", "F": "Female"},
		"hi": {"FULLY_VACCINATED": "पूर्ण टीकाकरण", "PARTIALLY_VACCINATED": "आंशिक टीकाकरण", "NOT_VACCINATED": "टीका नहीं लगा",
			"date": "1 अक्टूबर 2026", "at": "23 नवंबर 2026, 14:05 IST", "none": "कोई नहीं", "F": "महिला"},
		"mr": {"FULLY_VACCINATED": "पूर्ण लसीकरण", "PARTIALLY_VACCINATED": "अंशतः लसीकरण", "NOT_VACCINATED": "लसीकरण झालेले नाही",
			"date": "1 ऑक्टोबर 2026", "at": "23 नोव्हेंबर 2026, 14:05 IST", "none": "नाही", "F": "स्त्री"},
	}
	for _, tc := range []struct {
		result    Result
		wantClass string
	}{
		{Result{Status: "FULLY_VACCINATED", Name: "Asha Patil", BirthYear: 1980, Gender: "F", Doses: 2, LastDoseDate: "2026-10-01", Vaccine: "COVISHIELD"}, "status-full"},
		{Result{Status: "PARTIALLY_VACCINATED", Name: "आशा पाटील", BirthYear: 1991, Gender: "F", Doses: 1, LastDoseDate: "2026-10-01", Vaccine: "COVAXIN"}, "status-partial"},
		{Result{Status: "NOT_VACCINATED", Name: "Asha <b>Patil</b>", BirthYear: 2004, Gender: "F"}, "status-none"},
	} {
		for _, lang := range allLangs {
			t.Run(tc.result.Status+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.fake.result = tc.result
				r.setLang(lang)
				r.signIn()
				r.requestOTP()
				resp := r.Post("/verify/confirm", r.confirmForm(" 123 456 "))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
				}
				w := words[lang]
				lastDose := w["none"]
				if tc.result.LastDoseDate != "" {
					lastDose = w["date"]
				}
				for _, want := range []string{
					`<html lang="` + lang + `">`,
					`<p class="status ` + tc.wantClass + `" id="status">` + w[tc.result.Status] + `</p>`,
					`<dd id="result-name">` + strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(tc.result.Name) + `</dd>`,
					`<dd>` + strconv.Itoa(tc.result.BirthYear) + `</dd>`,
					`<dd>` + strconv.Itoa(tc.result.Doses) + `</dd>`,
					`<dd>` + lastDose + `</dd>`,
					`<dd>` + w["F"] + `</dd>`,
					`<dd id="verified-at">` + w["at"] + `</dd>`,
					`href="/verify"`,
				} {
					if !strings.Contains(resp.Body, want) {
						t.Errorf("no %s in\n%s", want, resp.Body)
					}
				}
				if tc.result.Vaccine != "" && !strings.Contains(resp.Body, "<dd>"+tc.result.Vaccine+"</dd>") {
					t.Errorf("no vaccine")
				}
				if strings.Contains(resp.Body, "txn-7d1e") || strings.Contains(resp.Body, testOTP) {
					t.Errorf("the result page keeps the txn or the OTP")
				}
				if r.fake.gotTxn != "txn-7d1e" {
					t.Errorf("Confirm got txn %q", r.fake.gotTxn)
				}
			})
		}
	}
}

func TestHappyPath(t *testing.T) {
	r := newRig(t, allLangs, true)
	r.signIn()
	otp := r.requestOTP()
	if r.fake.gotName != "Asha Patil" || r.fake.gotMobile != "9876543210" {
		t.Errorf("RequestOTP got %q, %q", r.fake.gotName, r.fake.gotMobile)
	}
	if otp.Header.Get("Cache-Control") != "no-store" || strings.Contains(otp.Body, `class="langs"`) {
		t.Errorf("the OTP form is stored or offers a language link that would lose the txn")
	}
	resp := r.Post("/verify/confirm", r.confirmForm("१२३४५६")) // Devanagari digits
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, ">Fully vaccinated<") {
		t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
	}
}

func TestLanguage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		languages []string
		visits    []string // paths visited in turn
		wantLang  string
		wantLinks []string
	}{
		{"default is the first", []string{"en", "hi", "mr"}, []string{"/verify"}, "en", []string{"en", "hi", "mr"}},
		{"default Marathi", []string{"mr", "en"}, []string{"/verify"}, "mr", []string{"mr", "en"}},
		{"switch to Hindi", []string{"en", "hi", "mr"}, []string{"/verify?lang=hi"}, "hi", []string{"en", "hi", "mr"}},
		{"remembered", []string{"en", "hi", "mr"}, []string{"/verify?lang=mr", "/verify"}, "mr", []string{"en", "hi", "mr"}},
		{"switched back", []string{"en", "hi", "mr"}, []string{"/verify?lang=mr", "/verify?lang=en", "/verify"}, "en", []string{"en", "hi", "mr"}},
		{"unknown language ignored", []string{"en", "hi"}, []string{"/verify?lang=xx"}, "en", []string{"en", "hi"}},
		{"unconfigured language ignored", []string{"en", "hi"}, []string{"/verify?lang=mr"}, "en", []string{"en", "hi"}},
		{"languages without strings left out", []string{"xx", "hi", "hi"}, []string{"/verify"}, "hi", []string{"hi"}},
		{"no language at all", nil, []string{"/verify"}, "en", []string{"en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := newRig(t, tc.languages, false).Visit(tc.visits...)
			webpagetest.CheckLanguage(t, resp.Body, tc.wantLang, "/verify", tc.wantLinks)
		})
	}
}

func TestRoutes(t *testing.T) {
	r := newRig(t, allLangs, false)
	webpagetest.CheckRoutes(t, r.Client, "/verify",
		webpagetest.Route{Path: "/verify", Status: 200, Type: webpagetest.HTML},
		webpagetest.Route{Path: "/verify/", Status: 200, Type: webpagetest.HTML},
		webpagetest.Route{Path: "/verify/static/verify.css", Status: 200, Type: webpagetest.CSS},
		webpagetest.Route{Path: "/verify/signin", Status: 303},
		webpagetest.Route{Path: "/verify/otp", Status: 303},
		webpagetest.Route{Path: "/verify/confirm", Status: 303},
		webpagetest.Route{Path: "/verify/signout", Status: 303},
	)
	css := r.Get("/verify/static/verify.css")
	if !strings.Contains(css.Body, "@media") || !strings.Contains(r.Get("/verify").Body, `href="/verify/static/verify.css?v=`) {
		t.Errorf("the page does not link its responsive stylesheet")
	}
	// Signing out when not signed in just goes home.
	if resp := r.Post("/verify/signout", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out without session: %d", resp.StatusCode)
	}
}

func TestSignOutUnavailable(t *testing.T) {
	r := newRig(t, allLangs, false)
	r.signIn()
	r.fake.signOutErr = errors.New("redis down")
	resp := r.Post("/verify/signout", url.Values{"csrf": {r.sessionCSRF()}})
	if resp.StatusCode != http.StatusServiceUnavailable || webpagetest.ErrorText(resp.Body) != r.page.langs.Words["en"].Text("err_unavailable") {
		t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
	}
	r.fake.signOutErr = nil
	if resp := r.Post("/verify/signout", url.Values{"csrf": {r.sessionCSRF()}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("retry of sign-out: %d", resp.StatusCode)
	}
}

func TestSixDigits(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{" 123 456 ", "123456", true},
		{"123-456", "123456", true},
		{"१२३४५६", "123456", true},
		{"௧௨௩ ௪௫௬", "123456", true}, // Tamil
		{"১২৩-৪৫৬", "123456", true}, // Bengali and Assamese
		{"൧൨൩൪൫൬", "123456", true},  // Malayalam
		{"੧੨੩੪੫੬", "123456", true},  // Gurmukhi
		{"１２３４５６", "123456", true},  // full-width
		{"12345", "12345", false},
		{"1234567", "1234567", false},
		{"12a456", "", false},
		{"١٢٣٤٥٦", "", false}, // Arabic-Indic digits are not what the SMS shows
		{"", "", false},
	} {
		got, ok := sixDigits(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("sixDigits(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNewNeedsBackend(t *testing.T) {
	if _, err := New(nil, allLangs, false); err == nil {
		t.Error("New(nil) gave no error")
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: ErrOTPMismatch, AttemptsLeft: 2}, "verify: otp_mismatch (2 attempts left)"},
		{&Error{Kind: ErrRateLimited}, "verify: rate_limited"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
