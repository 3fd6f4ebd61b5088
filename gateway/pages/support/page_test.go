package support

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sandesh/gateway/pages/webpage/webpagetest"
)

var allLangs = []string{"en", "hi"}

// plain is body with its character references read, for comparing text.
func plain(body string) string { return html.UnescapeString(body) }

func TestSignIn(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key        string
		backendErr error
		wantStatus int
		wantMsg    string // key of the error shown; "" for none
		wantCalled int    // calls of Backend.SignIn
		wantAdmin  bool
	}{
		{"support key", supportKey, nil, http.StatusSeeOther, "", 1, false},
		{"admin key", adminKey, nil, http.StatusSeeOther, "", 1, true},
		{"key pasted with spaces", "  " + supportKey + "\n", nil, http.StatusSeeOther, "", 1, false},
		{"centre key refused", centreKey, nil, http.StatusUnauthorized, "err_signin", 1, false},
		{"unknown key", "sk_live_wrong", nil, http.StatusUnauthorized, "err_signin", 1, false},
		{"empty key", "", nil, http.StatusUnauthorized, "err_signin", 0, false},
		{"overlong key", strings.Repeat("k", 201), nil, http.StatusUnauthorized, "err_signin", 0, false},
		{"rate limited", supportKey, &Error{Kind: ErrRateLimited}, http.StatusTooManyRequests, "err_rate_limited", 1, false},
		{"backend down", supportKey, errors.New("redis: connection refused"), http.StatusServiceUnavailable, "err_unavailable", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			r.fake.signInErr = tc.backendErr
			resp := r.Post("/support/signin", url.Values{"csrf": {r.CSRF(r.Get("/support"))}, "api_key": {tc.key}})
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			if got := r.fake.called("SignIn"); got != tc.wantCalled {
				t.Errorf("SignIn called %d times, want %d", got, tc.wantCalled)
			}
			if tc.wantMsg != "" {
				if got, want := webpagetest.ErrorText(resp.Body), r.page.langs.Words["en"].Text(tc.wantMsg); got != want {
					t.Errorf("error %q, want %q", got, want)
				}
				if !strings.Contains(resp.Body, `action="/support/signin"`) {
					t.Errorf("no sign-in form after a refusal")
				}
				if c := resp.Cookie(sessionCookie); c != nil {
					t.Errorf("a session cookie after a failed sign-in: %q", c.Raw)
				}
				return
			}
			if loc := resp.Header.Get("Location"); loc != "/support" {
				t.Errorf("Location %q, want /support", loc)
			}
			home := r.Get("/support")
			want := map[bool]string{false: supportName, true: adminName}[tc.wantAdmin]
			if !strings.Contains(home.Body, "Signed in as "+want) || !strings.Contains(home.Body, `<form id="search" class="search" method="get" action="/support/search">`) {
				t.Errorf("after sign-in, no search form:\n%s", home.Body)
			}
			if hasLink := strings.Contains(home.Body, `href="/support/audit"`); hasLink != tc.wantAdmin {
				t.Errorf("audit link shown %v, want %v", hasLink, tc.wantAdmin)
			}
			if strings.Contains(home.Body, `id="results-heading"`) || webpagetest.Hidden(home.Body, "csrf") != r.sessionCSRF() {
				t.Errorf("home is not the empty search form with the session's token")
			}
		})
	}
}

func TestCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		r := newRig(t, allLangs, secure)
		first := r.Get("/support?lang=hi")
		ok := r.Post("/support/signin", url.Values{"csrf": {r.CSRF(first)}, "api_key": {supportKey}})
		out := r.Post("/support/signout", url.Values{"csrf": {r.sessionCSRF()}})

		cookies := webpagetest.CookiesSet(first, ok)
		webpagetest.CheckCookies(t, cookies, "/support", secure, webpagetest.SignInCookies(sessionCookie, csrfCookie, langCookie)...)
		if c := cookies[langCookie]; c != nil && c.MaxAge != 365*24*3600 {
			t.Errorf("language remembered for %d s, want a year", c.MaxAge)
		}
		if v := cookies[sessionCookie].Value; v != "sess0001Q" {
			t.Errorf("the session cookie is %q, not the session id", v)
		}
		if out.StatusCode != http.StatusSeeOther || !out.Clears(sessionCookie, "/support") || r.fake.called("SignOut") != 1 {
			t.Errorf("secure=%v: sign-out: status %d, cookie %v, SignOut calls %d", secure, out.StatusCode, out.Cookie(sessionCookie), r.fake.called("SignOut"))
		}
		if home := r.Get("/support"); !strings.Contains(home.Body, `action="/support/signin"`) {
			t.Errorf("secure=%v: signed in after sign-out", secure)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	for _, tc := range []struct {
		name, path, token string
		signedIn          bool
		methods           []string // Backend methods that must not be called
	}{
		{"sign-in without token", "/support/signin", "", false, []string{"SignIn"}},
		{"sign-in with a wrong token", "/support/signin", "forged", false, []string{"SignIn"}},
		{"sign-out without token", "/support/signout", "", true, []string{"SignOut"}},
		{"sign-out with a wrong token", "/support/signout", "forged", true, []string{"SignOut"}},
		{"confirm without token", "/support/confirm", "", true, []string{"Search", "Act"}},
		{"confirm with a wrong token", "/support/confirm", "forged", true, []string{"Search", "Act"}},
		{"confirm with the sign-in form's token", "/support/confirm", "pre-session", true, []string{"Search", "Act"}},
		{"act without token", "/support/act", "", true, []string{"Search", "Act"}},
		{"act with a wrong token", "/support/act", "forged", true, []string{"Search", "Act"}},
		{"act with the sign-in form's token", "/support/act", "pre-session", true, []string{"Search", "Act"}},
	} {
		for _, lang := range allLangs {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.Get("/support?lang=" + lang)
				pre := r.CSRF(r.Get("/support"))
				if tc.signedIn {
					r.signIn(supportKey)
				}
				signIns := r.fake.called("SignIn")
				form := url.Values{"api_key": {supportKey}, "what": {ActSecurityCode}, "appointment_id": {testApptID},
					"mobile": {testMobile}, "reason": {"Citizen called"}}
				resp := r.Post(tc.path, webpagetest.WithToken(form, tc.token, pre))
				webpagetest.CheckError(t, resp, http.StatusForbidden, r.page.langs.Words[lang].Text("err_csrf"), lang)
				for _, m := range tc.methods {
					n := r.fake.called(m)
					if m == "SignIn" {
						n -= signIns
					}
					if n > 0 {
						t.Errorf("%s called %d times", m, n)
					}
				}
			})
		}
	}
	t.Run("sign-in token without its cookie", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		tok := r.CSRF(r.Get("/support"))
		r.Forget(csrfCookie)
		if resp := r.Post("/support/signin", url.Values{"csrf": {tok}, "api_key": {supportKey}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
		if r.fake.called("SignIn") != 0 {
			t.Errorf("SignIn called")
		}
	})
}

var rowRe = regexp.MustCompile(`<tr data-id="([^"]+)" data-kind="([^"]+)" data-status="([^"]+)">`)

func TestSearch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		shuffle bool // the backend's history out of order
	}{{"history as given", false}, {"history out of order", true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			if tc.shuffle {
				slices.Reverse(r.fake.lookup.History)
			}
			r.signIn(supportKey)
			resp := r.Get("/support/search?mobile=" + url.QueryEscape(" 98765 43210 "))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
			}
			if !slices.Equal(r.fake.searched, []string{"98765 43210"}) {
				t.Errorf("Search got %q", r.fake.searched)
			}
			text := plain(resp.Body)
			for _, want := range []string{
				`<input id="mobile" name="mobile" type="tel" inputmode="tel" autocomplete="off" value="98765 43210"`,
				`<button id="search-button" type="submit">Search</button>`,
				`<p class="hint" id="mobile-hint">Any format: 98765 43210, +91-98765-43210, 098765 43210</p>`,
				`<h2 id="results-heading">Mobile +919876543210</h2>`,
				`As of 23 Nov 2026, 14:05.`,
				// People
				`<section class="person" data-beneficiary="*******2345">`,
				`<h4 class="name">Asha Patil</h4>`,
				`>Partially vaccinated</p>`,
				`<dd>COVISHIELD, 1 Oct 2026</dd>`,
				`<dd class="next-due">opens 24 Dec 2026; reminder sent on 24 Dec 2026</dd>`,
				`<dd>PHC Hadapsar</dd>`, `<dd>24 Nov 2026</dd>`, `<dd>09:00-11:00</dd>`,
				`<p class="resends-left" data-left="2">2 resends left this hour</p>`,
				`<p class="resends-left" data-left="3">3 resends left this hour</p>`,
				`<section class="person" data-beneficiary="*******7890">`,
				`>Fully vaccinated</p>`,
				`<p class="resends-left" data-left="1">1 resend left this hour</p>`,
				// History
				`<table id="history" class="reflow">`,
				`<caption>Everything sent to and from this mobile, newest first.</caption>`,
				`<td class="time" data-label="Time">23 Nov 2026, 14:05</td>`,
				`<td class="what" data-label="What">Security code</td>`,
				`<td data-label="Language">Hindi</td>`,
				`<td class="body" data-label="Message">आपका सुरक्षा कोड **** है</td>`,
				`<td class="status" data-label="Status"><div><span class="state">Delivered</span><ol class="changes"><li>Queued 14:05:00</li><li>Sent 14:05:03</li><li>Delivered 14:05:09</li></ol></div></td>`,
				`<td class="what" data-label="What">Appointment slip</td>`,
				`<span class="state">Undelivered</span>`,
				`<td class="errcode" data-label="Error">handset unreachable (30003)</td>`,
				`<td class="what" data-label="What">SMS from citizen: STATUS</td>`,
				`<td class="what" data-label="What">USSD session *384*12#</td>`,
				`<td class="body" data-label="Message">Answers: 1*2 (2 steps)</td>`,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("no %s", want)
				}
			}
			// A name is text, never markup.
			if !strings.Contains(resp.Body, `<h4 class="name">Ravi &lt;b&gt;Patil&lt;/b&gt;</h4>`) {
				t.Errorf("the name is not escaped")
			}
			var ids []string
			for _, m := range rowRe.FindAllStringSubmatch(resp.Body, -1) {
				ids = append(ids, m[1]+"/"+m[2]+"/"+m[3])
			}
			if want := []string{"msg_a1/sms_out/delivered", "ussd_9/ussd/ended", "in_5/sms_in/received", "msg_a0/sms_out/undelivered"}; !slices.Equal(ids, want) {
				t.Errorf("history rows %v, want %v", ids, want)
			}
			// Three appointment actions for Asha's appointment, a
			// confirmation for each person with a dose; never disabled.
			for what, n := range map[string]int{ActSecurityCode: 1, ActRegenerate: 1, ActSlip: 1, ActConfirmation: 2} {
				if got := strings.Count(resp.Body, `<button type="submit" data-act="`+what+`">`); got != n {
					t.Errorf("%d %s buttons, want %d", got, what, n)
				}
			}
			if strings.Count(resp.Body, `<form class="action" method="post" action="/support/confirm">`) != 5 || strings.Contains(resp.Body, "disabled") {
				t.Errorf("action forms wrong:\n%s", resp.Body)
			}
			if strings.Count(resp.Body, `<input type="hidden" name="csrf" value="`+r.sessionCSRF()+`">`) != 6 ||
				strings.Count(resp.Body, `<input type="hidden" name="mobile" value="&#43;919876543210">`) != 5 ||
				strings.Count(resp.Body, `<input type="hidden" name="appointment_id" value="`+testApptID+`">`) != 3 {
				t.Errorf("action forms lack their hidden fields")
			}
			// Beneficiary ids only ever travel in hidden fields.
			for _, id := range []string{testBenID, otherBenID} {
				if strings.Count(resp.Body, id) != strings.Count(resp.Body, `name="beneficiary_id" value="`+id+`"`) || !strings.Contains(resp.Body, id) {
					t.Errorf("%s shown outside its hidden field", id)
				}
			}
			if flashRe.MatchString(resp.Body) || strings.Contains(resp.Body, `id="no-history"`) || strings.Contains(resp.Body, `id="no-people"`) {
				t.Errorf("a flash or an empty note on a full search")
			}
		})
	}
}

func TestSearchLockedAndSpent(t *testing.T) {
	r := newRig(t, allLangs, false)
	a := r.fake.lookup.People[0].Appointment
	a.Locked, a.ResendsLeft = true, 0
	r.signIn(supportKey)
	resp := r.Get("/support/search?mobile=9876543210")
	for _, want := range []string{
		`<p class="warning locked">Locked after 5 wrong codes. Only a new security code unlocks it.</p>`,
		`<p class="resends-left" data-left="0">No resends left this hour</p>`,
		`<button type="submit" data-act="security_code">Resend security code</button>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("no %s", want)
		}
	}
	if strings.Contains(resp.Body, "disabled") {
		t.Errorf("a button is disabled: the server explains instead")
	}
}

func TestSearchEmpty(t *testing.T) {
	r := newRig(t, allLangs, false)
	r.signIn(supportKey)
	resp := r.Get("/support/search?mobile=091234-56789")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<h2 id="results-heading">Mobile &#43;919123456789</h2>`,
		`<p class="note" id="no-people">No beneficiary is registered on this mobile.</p>`,
		`<p class="note" id="no-history">No messages for this mobile yet.</p>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("no %s in\n%s", want, resp.Body)
		}
	}
	if strings.Contains(resp.Body, `class="person"`) || strings.Contains(resp.Body, `id="history"`) {
		t.Errorf("people or a table for an unknown mobile")
	}
}

func TestSearchFlash(t *testing.T) {
	for _, tc := range []struct {
		sent string
		want bool
	}{
		{testMsgID, true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"<b>x</b>", false},
		{"msg 1", false},
		{"", false},
	} {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		resp := r.Get("/support/search?mobile=9876543210&sent=" + url.QueryEscape(tc.sent))
		m := flashRe.FindStringSubmatch(resp.Body)
		if (m != nil) != tc.want {
			t.Errorf("sent=%q: flash %v, want %v", tc.sent, m, tc.want)
			continue
		}
		if tc.want && m[1] != r.page.langs.Words["en"].Text("flash_sent", "id", tc.sent) {
			t.Errorf("flash %q", m[1])
		}
		if !tc.want && tc.sent != "" && strings.Contains(resp.Body, tc.sent) {
			t.Errorf("a refused id %q is on the page", tc.sent)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mobile     string
		signedIn   bool
		backendErr error
		wantStatus int
		wantMsg    string
		wantField  string // id of the field marked invalid
		wantSearch int    // calls of Backend.Search
		wantSignIn bool   // the sign-in form
	}{
		{"not signed in", "9876543210", false, nil, 401, "err_signin_first", "", 0, true},
		{"empty", "", true, nil, 422, "err_mobile_empty", "mobile", 0, false},
		{"letters", "98765 abcde", true, nil, 422, "err_invalid_mobile", "mobile", 0, false},
		{"markup", "<script>", true, nil, 422, "err_invalid_mobile", "mobile", 0, false},
		{"too long", strings.Repeat("9", 33), true, nil, 422, "err_invalid_mobile", "mobile", 0, false},
		{"no digit", "+-- ()", true, nil, 422, "err_invalid_mobile", "mobile", 0, false},
		{"backend says not a mobile", "12345", true, nil, 422, "err_invalid_mobile", "mobile", 1, false},
		{"backend refuses input", "9876543210", true, &Error{Kind: ErrInvalidInput}, 422, "err_invalid_input", "mobile", 1, false},
		{"rate limited", "9876543210", true, &Error{Kind: ErrRateLimited, RetryAfter: time.Minute}, 429, "err_rate_limited", "", 1, false},
		{"unavailable", "9876543210", true, &Error{Kind: ErrUnavailable}, 503, "err_unavailable", "", 1, false},
		{"plain error", "9876543210", true, errors.New("redis down"), 503, "err_unavailable", "", 1, false},
		{"unknown kind", "9876543210", true, &Error{Kind: "otp_mismatch"}, 503, "err_unavailable", "", 1, false},
		{"forbidden", "9876543210", true, &Error{Kind: ErrForbidden}, 403, "err_forbidden", "", 1, false},
		{"key revoked", "9876543210", true, &Error{Kind: ErrUnauthorized}, 401, "err_session_ended", "", 1, true},
	} {
		for _, lang := range allLangs {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.Get("/support?lang=" + lang)
				if tc.signedIn {
					r.signIn(supportKey)
				}
				r.fake.searchErr = tc.backendErr
				resp := r.Get("/support/search?mobile=" + url.QueryEscape(tc.mobile))
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
				}
				want := r.page.langs.Words[lang].Text(tc.wantMsg)
				if got := webpagetest.ErrorText(resp.Body); got != want {
					t.Errorf("error %q, want %q", got, want)
				}
				if lang != "en" && want == r.page.langs.Words["en"].Text(tc.wantMsg) {
					t.Errorf("%s is not translated", tc.wantMsg)
				}
				if got := r.fake.called("Search"); got != tc.wantSearch {
					t.Errorf("Search called %d times, want %d", got, tc.wantSearch)
				}
				if got := webpagetest.InvalidFields(resp.Body); tc.wantField != "" && !slices.Equal(got, []string{tc.wantField}) {
					t.Errorf("invalid fields %v, want %s", got, tc.wantField)
				}
				if signIn := strings.Contains(resp.Body, `action="/support/signin"`); signIn != tc.wantSignIn {
					t.Errorf("sign-in form %v, want %v", signIn, tc.wantSignIn)
				}
				if tc.wantField != "" && tc.mobile != "" && !strings.Contains(resp.Body, `value="`+html.EscapeString(tc.mobile)+`"`) &&
					!strings.Contains(plain(resp.Body), `value="`+tc.mobile+`"`) {
					t.Errorf("the search form lost what was typed")
				}
				if tc.name == "key revoked" {
					if c := resp.Cookie(sessionCookie); c == nil || c.MaxAge >= 0 {
						t.Errorf("session cookie not cleared: %v", c)
					}
				}
			})
		}
	}
}

func TestSessionEnded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		do         func(r *rig) webpagetest.Response
		wantStatus int
	}{
		{"home", func(r *rig) webpagetest.Response { return r.Get("/support") }, 200},
		{"search", func(r *rig) webpagetest.Response { return r.Get("/support/search?mobile=9876543210") }, 401},
		{"audit", func(r *rig) webpagetest.Response { return r.Get("/support/audit") }, 401},
		{"confirm", func(r *rig) webpagetest.Response {
			return r.Post("/support/confirm", url.Values{"csrf": {"csrf0001Z"}, "what": {ActSlip}, "appointment_id": {testApptID}, "mobile": {testMobile}})
		}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			r.signIn(adminKey)
			r.fake.mu.Lock()
			clear(r.fake.sessions) // expired on the backend
			r.fake.mu.Unlock()
			resp := tc.do(r)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(resp.Body, `action="/support/signin"`) {
				t.Fatalf("status %d, want the sign-in form with %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			if got := webpagetest.ErrorText(resp.Body); got != "Your session has ended; sign in again." {
				t.Errorf("error %q", got)
			}
			if c := resp.Cookie(sessionCookie); c == nil || c.MaxAge >= 0 || c.Path != "/support" {
				t.Errorf("session cookie not cleared: %v", c)
			}
			if strings.Contains(resp.Body, "Signed in as") || r.fake.called("Search")+r.fake.called("Audit") > 0 {
				t.Errorf("an ended session still reads")
			}
		})
	}
	t.Run("session lookup down", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		r.fake.sessionErr = errors.New("timeout")
		resp := r.Get("/support/search?mobile=9876543210")
		if resp.StatusCode != http.StatusServiceUnavailable || webpagetest.ErrorText(resp.Body) != r.page.langs.Words["en"].Text("err_unavailable") {
			t.Errorf("status %d\n%s", resp.StatusCode, resp.Body)
		}
		if resp.Cookie(sessionCookie) != nil {
			t.Errorf("a session the backend could not read was forgotten")
		}
	})
}

func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		name        string
		what, id    string // id: appointment's, or beneficiary's for confirmation
		wantTitle   string
		wantLeft    string
		wantWarning bool
		wantMore    []string
	}{
		{"security code", ActSecurityCode, testApptID, "Resend security code", "2", false,
			[]string{"The current security code of this appointment is sent again by SMS to +919876543210. The code stays the same.", "<dd>PHC Hadapsar</dd>", "<dd>24 Nov 2026</dd>", "<dd>09:00-11:00</dd>"}},
		{"new code", ActRegenerate, testApptID, "New security code", "2", true,
			[]string{"A new security code is made", "The old code stops working at once. If the appointment is locked after wrong codes, it is unlocked."}},
		{"slip", ActSlip, testApptID, "Resend slip", "2", false, []string{"The appointment slip, with its security code"}},
		{"confirmation", ActConfirmation, testBenID, "Resend dose confirmation", "3", false,
			[]string{"The confirmation of the last dose", "<dd>COVISHIELD, 1 Oct 2026</dd>"}},
		{"confirmation of the other person", ActConfirmation, otherBenID, "Resend dose confirmation", "1", false,
			[]string{"Ravi <b>Patil</b> (ID *******7890)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			r.signIn(supportKey)
			form := url.Values{"csrf": {r.sessionCSRF()}, "what": {tc.what}, "mobile": {testMobile}}
			idField := "appointment_id"
			if tc.what == ActConfirmation {
				idField = "beneficiary_id"
			}
			form.Set(idField, tc.id)
			resp := r.Post("/support/confirm", form)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
			}
			text := plain(resp.Body)
			for _, want := range append([]string{
				"<h1>Confirm: " + tc.wantTitle + "</h1>",
				`<form id="act" class="steps" method="post" action="/support/act">`,
				`<label for="reason">Reason (kept in the audit trail)</label>`,
				`<textarea id="reason" name="reason" rows="3" required maxlength="500"`,
				`<button id="confirm-button" class="primary" type="submit">`,
				`<a class="secondary" id="cancel" href="/support/search?mobile=%2B919876543210">Cancel</a>`,
				`<p class="resends-left" data-left="` + tc.wantLeft + `">`,
				`<dd>+919876543210</dd>`,
			}, tc.wantMore...) {
				if !strings.Contains(text, want) {
					t.Errorf("no %s in\n%s", want, resp.Body)
				}
			}
			if tc.id == testBenID || tc.what != ActConfirmation {
				if !strings.Contains(text, "Asha Patil (ID *******2345)") {
					t.Errorf("the person is not named")
				}
			}
			for name, want := range map[string]string{"csrf": r.sessionCSRF(), "what": tc.what, idField: tc.id, "mobile": testMobile} {
				if got := webpagetest.Hidden(resp.Body, name); got != want {
					t.Errorf("hidden %s = %q, want %q", name, got, want)
				}
			}
			if hasWarning := strings.Contains(resp.Body, `id="warning"`); hasWarning != tc.wantWarning {
				t.Errorf("warning %v, want %v", hasWarning, tc.wantWarning)
			}
			if !slices.Equal(r.fake.searched, []string{testMobile}) || r.fake.called("Act") != 0 {
				t.Errorf("Search got %q, Act called %d times", r.fake.searched, r.fake.called("Act"))
			}
			// A language link keeps the search, which a POST step cannot.
			if !strings.Contains(resp.Body, `href="/support/search?lang=hi&amp;mobile=%2B919876543210"`) {
				t.Errorf("no language link back to the search")
			}
		})
	}
}

// TestTargetErrors sends forms no button of the search page makes, and
// targets not on the mobile, to both steps: none reaches Act.
func TestTargetErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		form       url.Values // over a security_code form for the appointment
		setup      func(f *fakeBackend)
		wantStatus int
		wantMsg    string
		wantSearch int
	}{
		{"unknown action", url.Values{"what": {"delete"}}, nil, 422, "err_bad_action", 0},
		{"no action", url.Values{"what": {""}}, nil, 422, "err_bad_action", 0},
		{"action in capitals", url.Values{"what": {"SLIP"}}, nil, 422, "err_bad_action", 0},
		{"no appointment", url.Values{"appointment_id": {""}}, nil, 422, "err_invalid_input", 0},
		{"appointment id with a path", url.Values{"appointment_id": {"../APT7781"}}, nil, 422, "err_invalid_input", 0},
		{"appointment id too long", url.Values{"appointment_id": {strings.Repeat("A", 65)}}, nil, 422, "err_invalid_input", 0},
		{"confirmation without beneficiary", url.Values{"what": {ActConfirmation}}, nil, 422, "err_invalid_input", 0},
		{"beneficiary id with markup", url.Values{"what": {ActConfirmation}, "beneficiary_id": {"<b>"}}, nil, 422, "err_invalid_input", 0},
		{"no mobile", url.Values{"mobile": {""}}, nil, 422, "err_invalid_mobile", 0},
		{"mobile with letters", url.Values{"mobile": {"call me"}}, nil, 422, "err_invalid_mobile", 0},
		{"appointment not on the mobile", url.Values{"appointment_id": {"APT0000"}}, nil, 404, "err_not_found", 1},
		{"beneficiary not on the mobile", url.Values{"what": {ActConfirmation}, "beneficiary_id": {"BEN99999999"}}, nil, 404, "err_not_found", 1},
		{"appointment of another mobile", url.Values{"mobile": {"+919123456789"}}, nil, 404, "err_not_found", 1},
		{"no dose to confirm", url.Values{"what": {ActConfirmation}, "beneficiary_id": {testBenID}},
			func(f *fakeBackend) { f.lookup.People[0].Doses = 0 }, 409, "err_no_dose", 1},
		{"search unavailable", nil, func(f *fakeBackend) { f.searchErr = errors.New("redis down") }, 503, "err_unavailable", 1},
		{"search refuses the mobile", nil, func(f *fakeBackend) { f.searchErr = &Error{Kind: ErrInvalidMobile} }, 422, "err_invalid_mobile", 1},
		{"key revoked", nil, func(f *fakeBackend) { f.searchErr = &Error{Kind: ErrUnauthorized} }, 401, "err_session_ended", 1},
	} {
		for _, path := range []string{"/support/confirm", "/support/act"} {
			t.Run(tc.name+path, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.signIn(supportKey)
				form := r.actForm(ActSecurityCode, "Citizen called")
				for k, v := range tc.form {
					form[k] = v
				}
				if tc.setup != nil {
					tc.setup(r.fake)
				}
				resp := r.Post(path, form)
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
				}
				if got, want := webpagetest.ErrorText(resp.Body), r.page.langs.Words["en"].Text(tc.wantMsg); got != want {
					t.Errorf("error %q, want %q", got, want)
				}
				if got := r.fake.called("Search"); got != tc.wantSearch {
					t.Errorf("Search called %d times, want %d", got, tc.wantSearch)
				}
				if r.fake.called("Act") != 0 || strings.Contains(resp.Body, `id="confirm-button"`) {
					t.Errorf("Act called %d times, or a confirm button for a bad target", r.fake.called("Act"))
				}
				if tc.wantStatus != 401 && !strings.Contains(resp.Body, `id="back"`) {
					t.Errorf("no way back from the error")
				}
			})
		}
	}
}

func TestAct(t *testing.T) {
	for _, tc := range []struct {
		what, id, reason string
		wantReason       string
	}{
		{ActSecurityCode, testApptID, "  Citizen called: no SMS\n", "Citizen called: no SMS"},
		{ActRegenerate, testApptID, "Code lost; citizen at the centre", "Code lost; citizen at the centre"},
		{ActSlip, testApptID, "नागरिक ने फ़ोन किया", "नागरिक ने फ़ोन किया"},
		{ActConfirmation, testBenID, strings.Repeat("क", 500), strings.Repeat("क", 500)},
	} {
		t.Run(tc.what, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			r.signIn(supportKey)
			resp := r.Post("/support/act", r.actForm(tc.what, tc.reason))
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
			}
			if loc, want := resp.Header.Get("Location"), "/support/search?mobile=%2B919876543210&sent="+testMsgID; loc != want {
				t.Errorf("Location %q, want %q", loc, want)
			}
			want := Action{What: tc.what, Reason: tc.wantReason, Mobile: testMobile}
			if tc.what == ActConfirmation {
				want.BeneficiaryID = tc.id
			} else {
				want.AppointmentID = tc.id
			}
			if !slices.Equal(r.fake.actions, []Action{want}) {
				t.Errorf("Act got %+v, want %+v", r.fake.actions, want)
			}
			after := r.Get(resp.Header.Get("Location"))
			if m := flashRe.FindStringSubmatch(after.Body); m == nil || !strings.Contains(m[1], testMsgID) {
				t.Errorf("no flash with the message id after the action:\n%s", after.Body)
			}
		})
	}
	t.Run("message id not shown when unusable", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		r.fake.messageID = "msg/../1"
		resp := r.Post("/support/act", r.actForm(ActSlip, "Citizen called"))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/support/search?mobile=%2B919876543210" {
			t.Errorf("status %d, Location %q", resp.StatusCode, loc)
		}
	})
}

func TestActReason(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		wantMsg      string
	}{
		{"no reason", "", "err_reason_empty"},
		{"only spaces", " \n\t ", "err_reason_empty"},
		{"501 characters", strings.Repeat("क", 501), "err_reason_long"},
	} {
		for _, lang := range allLangs {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.Get("/support?lang=" + lang)
				r.signIn(supportKey)
				form := r.actForm(ActRegenerate, "")
				form.Set("reason", tc.reason)
				resp := r.Post("/support/act", form)
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
				}
				if got, want := webpagetest.ErrorText(resp.Body), r.page.langs.Words[lang].Text(tc.wantMsg); got != want {
					t.Errorf("error %q, want %q", got, want)
				}
				if got := webpagetest.InvalidFields(resp.Body); !slices.Equal(got, []string{"reason"}) {
					t.Errorf("invalid fields %v, want reason", got)
				}
				if r.fake.called("Act") != 0 {
					t.Errorf("Act called with a bad reason")
				}
				if !strings.Contains(resp.Body, `id="confirm-button"`) || webpagetest.Hidden(resp.Body, "appointment_id") != testApptID || !strings.Contains(resp.Body, `id="warning"`) {
					t.Errorf("the confirmation step is not shown again")
				}
				if tc.wantMsg == "err_reason_long" && !strings.Contains(resp.Body, ">"+strings.Repeat("क", 500)+"</textarea>") {
					t.Errorf("the reason is not kept, cut to what may be sent")
				}
			})
		}
	}
}

func TestActErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		what       string
		err        error
		wantStatus int
		wantText   string // the error in English
		wantField  string
	}{
		{"rate limited", ActSecurityCode, &Error{Kind: ErrRateLimited, RetryAfter: 22*time.Minute + 10*time.Second}, 429,
			"No resends left this hour for this appointment. The next is possible in 23 minutes.", ""},
		{"rate limited, whole minutes", ActSlip, &Error{Kind: ErrRateLimited, RetryAfter: 23 * time.Minute}, 429,
			"No resends left this hour for this appointment. The next is possible in 23 minutes.", ""},
		{"rate limited, seconds", ActRegenerate, &Error{Kind: ErrRateLimited, RetryAfter: 30 * time.Second}, 429,
			"No resends left this hour for this appointment. The next is possible in 1 minute.", ""},
		{"rate limited, no time", ActSecurityCode, &Error{Kind: ErrRateLimited}, 429,
			"No resends left this hour for this appointment.", ""},
		{"rate limited confirmation", ActConfirmation, &Error{Kind: ErrRateLimited, RetryAfter: 4*time.Minute + time.Nanosecond}, 429,
			"No resends left this hour for this dose confirmation. The next is possible in 5 minutes.", ""},
		{"wrapped rate limit", ActSlip, errors.Join(errors.New("act"), &Error{Kind: ErrRateLimited, RetryAfter: 2 * time.Minute}), 429,
			"No resends left this hour for this appointment. The next is possible in 2 minutes.", ""},
		{"not active", ActSecurityCode, &Error{Kind: ErrNotActive}, 409, "This appointment was cancelled or already used, so nothing was sent.", ""},
		{"no dose", ActConfirmation, &Error{Kind: ErrNoDose}, 409, "This person has no dose to confirm, so nothing was sent.", ""},
		{"not found", ActSlip, &Error{Kind: ErrNotFound}, 404, "This appointment or person is not on this mobile any more. Search again.", ""},
		{"invalid input", ActSlip, &Error{Kind: ErrInvalidInput}, 422, "Part of the form was missing or not valid. Go back to the search and try again.", ""},
		{"reason refused", ActSlip, &Error{Kind: ErrInvalidInput, Field: "reason"}, 422,
			"The reason was not accepted. Write in plain words why you are sending this, at most 500 characters.", "reason"},
		{"invalid mobile", ActSlip, &Error{Kind: ErrInvalidMobile}, 422, "This is not a mobile number. Type its 10 digits, for example 98765 43210.", ""},
		{"forbidden", ActRegenerate, &Error{Kind: ErrForbidden}, 403, "Only an administrator can open this page. Sign in with an administrator key.", ""},
		{"unavailable", ActSlip, &Error{Kind: ErrUnavailable}, 503, "The service is not available just now. Please try again in a few minutes.", ""},
		{"plain error", ActSlip, errors.New("asynq: redis down"), 503, "The service is not available just now. Please try again in a few minutes.", ""},
	} {
		for _, lang := range allLangs {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				r := newRig(t, allLangs, false)
				r.Get("/support?lang=" + lang)
				r.signIn(supportKey)
				r.fake.actErr = tc.err
				resp := r.Post("/support/act", r.actForm(tc.what, "Citizen called: no SMS"))
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
				}
				got := webpagetest.ErrorText(resp.Body)
				if lang == "en" && got != tc.wantText {
					t.Errorf("error %q, want %q", got, tc.wantText)
				}
				if lang != "en" && (got == tc.wantText || got == "") {
					t.Errorf("error %q is not translated", got)
				}
				if n := r.fake.called("Act"); n != 1 {
					t.Errorf("Act called %d times", n)
				}
				if !strings.Contains(resp.Body, `id="confirm-button"`) || !strings.Contains(resp.Body, ">Citizen called: no SMS</textarea>") {
					t.Errorf("the confirmation step with the reason is not shown again:\n%s", resp.Body)
				}
				if got := webpagetest.InvalidFields(resp.Body); (tc.wantField == "") != (len(got) == 0) {
					t.Errorf("invalid fields %v, want %q", got, tc.wantField)
				}
				if errors.As(tc.err, new(*Error)) && kindOf(tc.err).Kind == ErrRateLimited &&
					!strings.Contains(resp.Body, `<p class="resends-left" data-left="0">`) {
					t.Errorf("the counter still shows resends left")
				}
				if resp.Cookie(sessionCookie) != nil {
					t.Errorf("the session cookie changed")
				}
			})
		}
	}
	t.Run("key revoked", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		r.fake.actErr = &Error{Kind: ErrUnauthorized}
		resp := r.Post("/support/act", r.actForm(ActSlip, "Citizen called"))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Body, `action="/support/signin"`) {
			t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
		}
		if c := resp.Cookie(sessionCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("session cookie not cleared")
		}
		if webpagetest.ErrorText(resp.Body) != "Your session has ended; sign in again." {
			t.Errorf("error %q", webpagetest.ErrorText(resp.Body))
		}
	})
}

func TestAudit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		query      string
		setup      func(f *fakeBackend)
		wantStatus int
		wantFilter *AuditFilter // nil: Audit not called
		wantMsg    string
		wantField  string
		wantRows   int
		wantMore   []string
	}{
		{"everything", "", nil, 200, &AuditFilter{Limit: 200}, "", "", 2, []string{
			`<form id="audit-filter" class="filter" method="get" action="/support/audit">`,
			`<label for="staff">Staff member</label>`,
			`<option value="">Everyone</option>`,
			`<option value="key_support_4">Helpline Desk 4 (support)</option>`,
			`<option value="key_admin_1">Programme Admin (administrator)</option>`,
			`<label for="audit-mobile">Mobile (optional)</label>`,
			`<table id="audit" class="reflow">`,
			`<td class="time" data-label="Time">23 Nov 2026, 14:06</td>`,
			`<td data-label="Staff">Helpline Desk 4</td>`,
			`<td data-label="Action">Resent</td>`,
			`<td data-label="Target">appt:APT7781</td>`,
			`<td data-label="Mobile">+91******3210</td>`,
			`<td data-label="Reason">Citizen called: no SMS</td>`,
			`<td data-label="Detail">security_code</td>`,
			`<td data-label="Action">Searched</td>`,
		}},
		{"filtered", "staff=key_support_4&mobile=" + url.QueryEscape("98765 43210") + "&limit=50", nil, 200,
			&AuditFilter{StaffKeyID: "key_support_4", Mobile: "98765 43210", Limit: 50}, "", "", 2, []string{
				`<option value="key_support_4" selected>`,
				`value="98765 43210"`,
				`<input type="hidden" name="limit" value="50">`,
				`<caption>Newest first, at most 50 entries.</caption>`,
				// The language switch keeps the filter.
				`href="/support/audit?lang=hi&amp;limit=50&amp;mobile=98765&#43;43210&amp;staff=key_support_4"`,
			}},
		{"limit not a number", "limit=all", nil, 200, &AuditFilter{Limit: 200}, "", "", 2, nil},
		{"limit zero", "limit=0", nil, 200, &AuditFilter{Limit: 200}, "", "", 2, nil},
		{"limit negative", "limit=-5", nil, 200, &AuditFilter{Limit: 200}, "", "", 2, nil},
		{"limit too large", "limit=100000", nil, 200, &AuditFilter{Limit: 500}, "", "", 2, nil},
		{"empty trail", "", func(f *fakeBackend) { f.trail = nil }, 200, &AuditFilter{Limit: 200}, "", "", 0,
			[]string{`<p class="note" id="no-audit">No entries match this filter.</p>`}},
		{"staff key revoked since", "staff=key_gone", nil, 200, &AuditFilter{StaffKeyID: "key_gone", Limit: 200}, "", "", 2,
			[]string{`<option value="key_gone" selected>key_gone (no longer active)</option>`}},
		{"staff with markup", "staff=" + url.QueryEscape("<b>"), nil, 422, nil, "err_audit_staff", "staff", 0, nil},
		{"mobile with letters", "mobile=abc", nil, 422, nil, "err_invalid_mobile", "audit-mobile", 0, nil},
		{"backend says not a mobile", "mobile=123", func(f *fakeBackend) { f.auditErr = &Error{Kind: ErrInvalidMobile} }, 422,
			&AuditFilter{Mobile: "123", Limit: 200}, "err_invalid_mobile", "audit-mobile", 0, nil},
		{"audit unavailable", "", func(f *fakeBackend) { f.auditErr = errors.New("db down") }, 503,
			&AuditFilter{Limit: 200}, "err_unavailable", "", 0, nil},
		{"keys unavailable", "", func(f *fakeBackend) { f.keysErr = errors.New("db down") }, 503, nil, "err_unavailable", "", 0, nil},
		{"keys forbidden", "", func(f *fakeBackend) { f.keysErr = &Error{Kind: ErrForbidden} }, 403, nil, "err_forbidden", "", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, allLangs, false)
			r.signIn(adminKey)
			if tc.setup != nil {
				tc.setup(r.fake)
			}
			resp := r.Get("/support/audit?" + tc.query)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			if tc.wantFilter == nil && r.fake.called("Audit") != 0 {
				t.Errorf("Audit called with %+v", r.fake.filters)
			}
			if tc.wantFilter != nil && !slices.Equal(r.fake.filters, []AuditFilter{*tc.wantFilter}) {
				t.Errorf("Audit got %+v, want %+v", r.fake.filters, *tc.wantFilter)
			}
			want := ""
			if tc.wantMsg != "" {
				want = r.page.langs.Words["en"].Text(tc.wantMsg)
			}
			if got := webpagetest.ErrorText(resp.Body); got != want {
				t.Errorf("error %q, want %q", got, want)
			}
			if got := webpagetest.InvalidFields(resp.Body); tc.wantField != "" && !slices.Equal(got, []string{tc.wantField}) {
				t.Errorf("invalid fields %v, want %s", got, tc.wantField)
			}
			if got := strings.Count(resp.Body, `<tr class="audit-entry">`); got != tc.wantRows {
				t.Errorf("%d rows, want %d", got, tc.wantRows)
			}
			for _, w := range tc.wantMore {
				if !strings.Contains(resp.Body, w) && !strings.Contains(plain(resp.Body), w) {
					t.Errorf("no %s in\n%s", w, resp.Body)
				}
			}
		})
	}
	t.Run("support key", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		home := r.Get("/support")
		resp := r.Get("/support/audit?staff=key_admin_1")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
		}
		if got := webpagetest.ErrorText(resp.Body); got != r.page.langs.Words["en"].Text("err_forbidden") {
			t.Errorf("error %q", got)
		}
		if r.fake.called("Audit")+r.fake.called("StaffKeys") != 0 || strings.Contains(resp.Body, `id="audit"`) ||
			strings.Contains(home.Body, `id="audit-link"`) {
			t.Errorf("a support key reached the audit trail")
		}
	})
	t.Run("not signed in", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		resp := r.Get("/support/audit")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Body, `action="/support/signin"`) || r.fake.called("Audit") != 0 {
			t.Errorf("status %d\n%s", resp.StatusCode, resp.Body)
		}
	})
}

func TestLanguage(t *testing.T) {
	t.Run("switch on the search keeps the mobile", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		en := r.Get("/support/search?mobile=" + url.QueryEscape("98765 43210"))
		var hiHref string
		for _, l := range webpagetest.LangLinks(en.Body) {
			if l.Code == "hi" {
				hiHref = l.Href
			}
		}
		u, err := url.Parse(hiHref)
		if err != nil || u.Path != "/support/search" || u.Query().Get("mobile") != "98765 43210" || u.Query().Get("lang") != "hi" {
			t.Fatalf("Hindi link %q does not keep the search", hiHref)
		}
		hi := r.Get(hiHref)
		for _, want := range []string{`<html lang="hi">`, "<h1>मोबाइल नंबर से नागरिक को खोजें</h1>", "इस घंटे 2 बार और भेज सकते हैं",
			"हैंडसेट तक नहीं पहुँच सके (30003)", "23 नवंबर 2026, 14:05", "पहुँचा", "आंशिक टीकाकरण", `value="98765 43210"`,
			supportName + " के रूप में साइन इन"} {
			if !strings.Contains(plain(hi.Body), want) {
				t.Errorf("no %s in\n%s", want, hi.Body)
			}
		}
		if hi.StatusCode != http.StatusOK || !slices.Equal(r.fake.searched, []string{"98765 43210", "98765 43210"}) {
			t.Errorf("status %d, searches %q", hi.StatusCode, r.fake.searched)
		}
		if home := r.Get("/support"); !strings.Contains(home.Body, `<html lang="hi">`) {
			t.Errorf("Hindi is not remembered")
		}
	})
	for _, tc := range []struct {
		name      string
		languages []string
		visits    []string
		wantLang  string
		wantLinks []string
	}{
		{"default is the first", []string{"en", "hi"}, []string{"/support"}, "en", []string{"en", "hi"}},
		{"default Hindi", []string{"hi", "en"}, []string{"/support"}, "hi", []string{"hi", "en"}},
		{"Marathi has no strings", []string{"mr", "hi", "en"}, []string{"/support?lang=mr"}, "hi", []string{"hi", "en"}},
		{"switched back", []string{"en", "hi"}, []string{"/support?lang=hi", "/support?lang=en", "/support"}, "en", []string{"en", "hi"}},
		{"unknown language ignored", []string{"en", "hi"}, []string{"/support?lang=xx"}, "en", []string{"en", "hi"}},
		{"no language at all", nil, []string{"/support"}, "en", []string{"en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := newRig(t, tc.languages, false).Visit(tc.visits...)
			webpagetest.CheckLanguage(t, resp.Body, tc.wantLang, "/support", tc.wantLinks)
		})
	}
}

func TestRoutes(t *testing.T) {
	r := newRig(t, allLangs, false)
	webpagetest.CheckRoutes(t, r.Client, "/support",
		webpagetest.Route{Path: "/support", Status: 200, Type: webpagetest.HTML},
		webpagetest.Route{Path: "/support/", Status: 200, Type: webpagetest.HTML},
		webpagetest.Route{Path: "/support/static/support.css", Status: 200, Type: webpagetest.CSS},
		webpagetest.Route{Path: "/support/signin", Status: 303},
		webpagetest.Route{Path: "/support/signout", Status: 303},
		webpagetest.Route{Path: "/support/confirm", Status: 303},
		webpagetest.Route{Path: "/support/act", Status: 303},
		webpagetest.Route{Path: "/support/search?mobile=9876543210", Status: 401, Type: webpagetest.HTML},
		webpagetest.Route{Path: "/support/audit", Status: 401, Type: webpagetest.HTML},
	)
	css := r.Get("/support/static/support.css")
	if !strings.Contains(css.Body, "@media") || !strings.Contains(css.Body, "attr(data-label)") || css.Header.Get("Cache-Control") != "public, max-age=86400" {
		t.Errorf("the stylesheet is not the responsive one, or not cached")
	}
	if !strings.Contains(r.Get("/support").Body, `href="/support/static/support.css?v=`) {
		t.Errorf("the page does not link its versioned stylesheet")
	}
	// A refreshed step goes home even when signed in, and sends nothing.
	r.signIn(supportKey)
	for _, p := range []string{"/support/confirm", "/support/act"} {
		if resp := r.Get(p + "?what=slip&appointment_id=APT7781&mobile=9876543210"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET %s signed in: %d", p, resp.StatusCode)
		}
	}
	if r.fake.called("Act")+r.fake.called("Search") != 0 {
		t.Errorf("a GET of a step reached the backend")
	}
	if resp := r.Post("/support/signout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without token: %d", resp.StatusCode)
	}
}

func TestSignOut(t *testing.T) {
	t.Run("not signed in", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		if resp := r.Post("/support/signout", url.Values{}); resp.StatusCode != http.StatusSeeOther || r.fake.called("SignOut") != 0 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("unavailable, then again", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		r.fake.signOutErr = errors.New("redis down")
		resp := r.Post("/support/signout", url.Values{"csrf": {r.sessionCSRF()}})
		if resp.StatusCode != http.StatusServiceUnavailable || webpagetest.ErrorText(resp.Body) != r.page.langs.Words["en"].Text("err_unavailable") {
			t.Fatalf("status %d\n%s", resp.StatusCode, resp.Body)
		}
		if resp.Cookie(sessionCookie) != nil || webpagetest.Hidden(resp.Body, "csrf") != r.sessionCSRF() {
			t.Errorf("the cookie was dropped, or no sign-out form to retry with")
		}
		r.fake.signOutErr = nil
		if resp := r.Post("/support/signout", url.Values{"csrf": {r.sessionCSRF()}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("retry of sign-out: %d", resp.StatusCode)
		}
	})
	t.Run("session already gone", func(t *testing.T) {
		r := newRig(t, allLangs, false)
		r.signIn(supportKey)
		r.fake.mu.Lock()
		clear(r.fake.sessions)
		r.fake.mu.Unlock()
		resp := r.Post("/support/signout", url.Values{"csrf": {"csrf0001Z"}})
		if c := resp.Cookie(sessionCookie); resp.StatusCode != http.StatusSeeOther || c == nil || c.MaxAge >= 0 {
			t.Errorf("status %d, cookie %v", resp.StatusCode, c)
		}
	})
}

// TestNoKeyAnywhere walks every page of a session that signed in with the
// admin key: no response has a key (checkResponse), nor any log the app
// writes.
func TestNoKeyAnywhere(t *testing.T) {
	r := newRig(t, allLangs, true)
	r.signIn(adminKey)
	r.Get("/support")
	r.Get("/support/search?mobile=9876543210")
	r.Post("/support/confirm", r.actForm(ActSlip, ""))
	r.Post("/support/act", r.actForm(ActSlip, ""))
	r.Post("/support/act", r.actForm(ActSlip, "Citizen called"))
	r.Get("/support/audit")
	r.Post("/support/signout", url.Values{"csrf": {r.sessionCSRF()}})
	for _, u := range []string{"https://support.test/support", "https://support.test/support/search"} {
		site, _ := url.Parse(u)
		for _, c := range r.Jar.Cookies(site) {
			for _, key := range allKeys {
				if strings.Contains(c.Value, key) {
					t.Errorf("cookie %s holds a key", c.Name)
				}
			}
		}
	}
	if len(r.fake.actions) != 1 {
		t.Errorf("%d actions, want 1", len(r.fake.actions))
	}
}

func TestReadMobile(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"9876543210", "9876543210", true},
		{"98765 43210", "98765 43210", true},
		{"+91-98765-43210", "+91-98765-43210", true},
		{"(0) 98765.43210", "(0) 98765.43210", true},
		{"९८७६५ ४३२१०", "98765 43210", true},
		{"98765\u00a043210", "98765 43210", true},
		{"", "", false},
		{"+-()", "", false},
		{"98765 4321O", "", false}, // a letter O
		{"٩٨٧٦٥٤٣٢١٠", "", false},  // Arabic-Indic digits
		{strings.Repeat("9", 32), strings.Repeat("9", 32), true},
		{strings.Repeat("9", 33), "", false},
		{strings.Repeat("९", 43), "", false}, // over maxTyped bytes
	} {
		got, ok := readMobile(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("readMobile(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestErrorCodeText(t *testing.T) {
	r := newRig(t, allLangs, false)
	for _, tc := range []struct {
		code, en, hi string
	}{
		{"30003", "handset unreachable (30003)", "हैंडसेट तक नहीं पहुँच सके (30003)"},
		{"30001", "provider queue full (30001)", "प्रदाता की कतार भरी हुई (30001)"},
		{"21610", "the citizen replied STOP to the provider (21610)", "नागरिक ने प्रदाता को STOP भेजा है (21610)"},
		{"expired", "expired before it could be sent (expired)", "भेजे जाने से पहले समय-सीमा खत्म (expired)"},
		{"opted_out", "the citizen opted out of such messages (opted_out)", "नागरिक ने ऐसे संदेश बंद करवाए हैं (opted_out)"},
		{"http_503", "provider error (HTTP 503)", "प्रदाता की त्रुटि (HTTP 503)"},
		{"http_5xx", "error code http_5xx", "त्रुटि कोड http_5xx"},
		{"http", "error code http", "त्रुटि कोड http"}, // not a way to name another string
		{"99999", "error code 99999", "त्रुटि कोड 99999"},
		{"<b>", "error code <b>", "त्रुटि कोड <b>"},
		{"", "", ""},
	} {
		if got := errorCodeText(r.page.langs.Words["en"], tc.code); got != tc.en {
			t.Errorf("en %q: %q, want %q", tc.code, got, tc.en)
		}
		if got := errorCodeText(r.page.langs.Words["hi"], tc.code); got != tc.hi {
			t.Errorf("hi %q: %q, want %q", tc.code, got, tc.hi)
		}
	}
	for _, code := range []string{"30001", "30002", "30003", "30004", "30005", "30006", "30007", "30008",
		"21211", "21408", "21610", "21612", "21614", "expired", "opted_out"} {
		for _, lang := range allLangs {
			if _, ok := r.page.langs.Words[lang]["errcode_"+code]; !ok {
				t.Errorf("%s: no words for error code %s", lang, code)
			}
		}
	}
}

func TestEntryWhat(t *testing.T) {
	r := newRig(t, allLangs, false)
	w := r.page.langs.Words["en"]
	for _, tc := range []struct {
		e    Entry
		want string
	}{
		{Entry{Kind: KindOutbound, Template: "appointment_slip"}, "Appointment slip"},
		{Entry{Kind: KindOutbound, Template: "security_code"}, "Security code"},
		{Entry{Kind: KindOutbound, Template: "dose_confirmation"}, "Dose confirmation"},
		{Entry{Kind: KindOutbound, Template: "cancellation"}, "Cancellation"},
		{Entry{Kind: KindOutbound, Template: "kyvs_otp"}, "Verification OTP"},
		{Entry{Kind: KindOutbound, Template: "kyvs_checked"}, "Status checked notice"},
		{Entry{Kind: KindOutbound, Template: "kw_status"}, "Reply to a keyword SMS"},
		{Entry{Kind: KindOutbound, Template: "kw_help"}, "Reply to a keyword SMS"},
		{Entry{Kind: KindOutbound, Template: "reminder_v2"}, "reminder_v2"},
		{Entry{Kind: KindInbound}, "SMS from citizen"},
		{Entry{Kind: KindInbound, Keyword: "CODE"}, "SMS from citizen: CODE"},
		{Entry{Kind: KindCall}, "Missed call: answered with STATUS by SMS"},
		{Entry{Kind: KindUSSD}, "USSD session"},
		{Entry{Kind: KindUSSD, ServiceCode: "*384*12#"}, "USSD session *384*12#"},
	} {
		if got := entryWhat(w, tc.e); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
	for _, tc := range []struct {
		e    Entry
		want string
	}{
		{Entry{Body: "1*2", Steps: 2}, "Answers: 1*2 (2 steps)"},
		{Entry{Body: "3", Steps: 1}, "Answers: 3 (1 step)"},
		{Entry{}, "No answer typed"},
	} {
		if got := ussdAnswers(w, tc.e); got != tc.want {
			t.Errorf("ussd %+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestTimes(t *testing.T) {
	r := newRig(t, allLangs, false)
	w := r.page.langs.Words["en"]
	made := time.Date(2026, 11, 23, 18, 29, 0, 0, time.UTC) // 23:59 IST
	for _, tc := range []struct {
		got, want string
	}{
		{r.page.dateTime(w, made), "23 Nov 2026, 23:59"},
		{r.page.dateTime(w, made.Add(2*time.Minute)), "24 Nov 2026, 00:01"},
		{r.page.dateTime(r.page.langs.Words["hi"], made), "23 नवंबर 2026, 23:59"},
		{r.page.dateTime(w, time.Time{}), ""},
		{r.page.changeTime(w, made, made.Add(30*time.Second)), "23:59:30"},
		{r.page.changeTime(w, made, made.Add(90*time.Second)), "24 Nov 2026, 00:00:30"},
		{dateOnly(w, "2026-11-24"), "24 Nov 2026"},
		{dateOnly(w, "24/11/2026"), "24/11/2026"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
	if _, off := time.Date(2026, 6, 1, 0, 0, 0, 0, programmeZone()).Zone(); off != 5*3600+1800 {
		t.Errorf("programme zone offset %d", off)
	}
}

func TestSmallHelpers(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {-time.Second, 0}, {time.Nanosecond, 1}, {time.Minute, 1}, {time.Minute + 1, 2}, {59*time.Minute + 59*time.Second, 60}} {
		if got := minutesUp(tc.d); got != tc.want {
			t.Errorf("minutesUp(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    string
		ok   bool
		name string
	}{{"APT7781", true, "id"}, {"a-b_c", true, "dashes"}, {"", false, "empty"}, {"a b", false, "space"},
		{"a/b", false, "slash"}, {strings.Repeat("x", 64), true, "64"}, {strings.Repeat("x", 65), false, "65"}, {"é", false, "accent"}} {
		if validID(tc.s) != tc.ok {
			t.Errorf("validID %s: %v", tc.name, !tc.ok)
		}
	}
	if got := clip("नमस्ते", 4); got != "न" {
		t.Errorf("clip cut a rune: %q", got)
	}
	if got := clipRunes("नमस्ते", 2); got != "नम" {
		t.Errorf("clipRunes: %q", got)
	}
	e := &Error{Kind: ErrRateLimited, RetryAfter: time.Minute}
	got := errorOf(e)
	got.Kind = ErrNotFound
	if e.Kind != ErrRateLimited {
		t.Errorf("errorOf changed the backend's error")
	}
}

func TestNewNeedsBackend(t *testing.T) {
	if _, err := New(nil, Options{Languages: allLangs}); err == nil {
		t.Error("New(nil) gave no error")
	}
}
