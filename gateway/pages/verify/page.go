// Package verify is the no-code page of Know Your Vaccination Status: a
// verifier signs in with their API key in a browser, enters a person's name
// and mobile, then the OTP the person got by SMS, and sees the status.
//
// The page is server-rendered HTML with no script at all, in the configured
// languages of its strings (assets/i18n/<lang>.txt), chosen with a
// "?lang=" link and remembered in a cookie. The steps:
//
//	GET  /verify                  sign-in form, or the name-and-mobile form when signed in
//	POST /verify/signin           api_key → session cookie, 303 to /verify
//	POST /verify/otp              name, mobile → the OTP form (the txn in a hidden field)
//	POST /verify/confirm          txn, otp → the result page
//	POST /verify/signout          ends the session, 303 to /verify
//	GET  /verify/static/verify.css
//
// The API key only travels in the sign-in form's body: it is exchanged for
// an opaque session id in an HttpOnly, SameSite=Strict cookie (Secure when
// the public URL is https) and is never written to a cookie, URL, log or
// page. Every form carries a CSRF token: the session's, or before sign-in a
// random token also kept in a cookie (double submit). Every response has a
// strict Content-Security-Policy and the other security headers, and every
// page is Cache-Control: no-store.
//
// Errors are shown on the page in the verifier's language, with a status
// that says what happened: 401 sign-in refused or session ended, 403 CSRF
// refused, 410 OTP expired, 422 input or OTP wrong, 429 rate limited, 503
// unavailable. Handlers never return an error to the app, so the gateway's
// JSON error handler never answers for the page.
package verify

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage"
	"sandesh/langs"
)

//go:embed assets
var assets embed.FS

const (
	base          = "/verify"
	sessionCookie = "verify_session"
	csrfCookie    = "verify_csrf" // the CSRF token of the sign-in form, before there is a session
	langCookie    = "verify_lang"

	maxName   = 100 // runes of a name
	maxMobile = 20
	maxTxn    = 64
)

// Page is the verifier page over a Backend.
type Page struct {
	b        Backend
	langs    webpage.Languages
	sessions webpage.Sessions
	tmpl     *template.Template
	css      webpage.Asset
	now      func() time.Time
}

// New builds the page; languages are the configured ones (first is
// default), secureCookies sets the Secure flag (public_url is https).
// Languages the page has no strings for are left out; with none left the
// page is in English.
func New(b Backend, languages []string, secureCookies bool) (*Page, error) {
	if b == nil {
		return nil, errors.New("verify: no backend")
	}
	langs, w, err := webpage.LoadLanguages(assets, stringsDir, languages)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	cookies := webpage.Cookies{Path: base, Secure: secureCookies}
	p := &Page{b: b, now: time.Now,
		langs:    webpage.Languages{Codes: langs, Words: w, Cookie: langCookie, Cookies: cookies},
		sessions: webpage.Sessions{Cookies: cookies, Session: sessionCookie, CSRF: csrfCookie}}
	if p.tmpl, err = webpage.ParseTemplate(assets, "assets/verify.html"); err != nil {
		return nil, fmt.Errorf("verify: template: %w", err)
	}
	if p.css, err = webpage.Stylesheet(assets, "assets/verify.css", base+"/static/verify.css", "record.css"); err != nil {
		return nil, fmt.Errorf("verify: stylesheet: %w", err)
	}
	return p, nil
}

// Mount adds the page's routes under /verify to r.
func (p *Page) Mount(r fiber.Router) {
	r.Get(base, p.guard(p.home))
	r.Post(base+"/signin", p.guard(p.signIn))
	r.Post(base+"/otp", p.guard(p.requestOTP))
	r.Post(base+"/confirm", p.guard(p.confirm))
	r.Post(base+"/signout", p.guard(p.signOut))
	for _, step := range []string{"/signin", "/otp", "/confirm", "/signout"} {
		// A refresh or bookmark of a step starts over.
		r.Get(base+step, p.guard(webpage.SeeOther(base)))
	}
	r.Get(base+"/static/verify.css", p.guard(p.css.Serve))
}

// guard is webpage.Guard with the page's policy: no script at all.
func (p *Page) guard(h fiber.Handler) fiber.Handler { return webpage.Guard(webpage.NoScriptCSP, h) }

// home is the sign-in form, or the name-and-mobile form when signed in.
func (p *Page) home(c *fiber.Ctx) error {
	v := p.view(c, "check")
	id := p.sessions.ID(c)
	if id == "" {
		return p.signInForm(c, v, "", http.StatusOK)
	}
	s, err := p.b.Session(c.UserContext(), id)
	if err != nil {
		if kindOf(err).Kind == ErrUnauthorized {
			p.sessions.End(c)
			return p.signInForm(c, v, v.T("err_session_ended"), http.StatusOK)
		}
		return p.problem(c, v, v.T("err_unavailable"), http.StatusServiceUnavailable)
	}
	v.signedIn(s)
	return p.render(c, http.StatusOK, v)
}

// signIn exchanges the API key for a session cookie.
func (p *Page) signIn(c *fiber.Ctx) error {
	v := p.view(c, "signin")
	if !p.sessions.SignInAllowed(c) {
		return p.problem(c, v, v.T("err_csrf"), http.StatusForbidden)
	}
	key, ok := webpage.APIKey(c)
	if !ok {
		return p.signInForm(c, v, v.T("err_signin"), http.StatusUnauthorized)
	}
	s, err := p.b.SignIn(c.UserContext(), key)
	if err == nil {
		err = webpage.UsableSession(s.ID, s.CSRF)
	}
	if err != nil {
		e := kindOf(err)
		msg := p.message(v, e)
		if e.Kind == ErrUnauthorized {
			msg = v.T("err_signin")
		}
		return p.signInForm(c, v, msg, statusOf(e.Kind))
	}
	p.sessions.Start(c, s.ID)
	return c.Redirect(base, http.StatusSeeOther)
}

// requestOTP starts a check of the person named in the form.
func (p *Page) requestOTP(c *fiber.Ctx) error {
	v := p.view(c, "check")
	s, ok, err := p.session(c, &v)
	if !ok {
		return err
	}
	v.Name, v.Mobile = formValue(c, "name"), formValue(c, "mobile")
	if v.Name == "" || utf8.RuneCountInString(v.Name) > maxName {
		return p.fail(c, v, &Error{Kind: ErrInvalidInput})
	}
	if v.Mobile == "" || len(v.Mobile) > maxMobile {
		return p.fail(c, v, &Error{Kind: ErrInvalidMobile})
	}
	txn, err := p.b.RequestOTP(c.UserContext(), s, v.Name, v.Mobile)
	if err == nil && (txn == "" || len(txn) > maxTxn) {
		err = errors.New("verify: backend gave an unusable txn id")
	}
	if err != nil {
		return p.fail(c, v, kindOf(err))
	}
	v.Step, v.Langs, v.Txn = "otp", nil, txn
	return p.render(c, http.StatusOK, v)
}

// confirm finishes the check with the OTP and shows the result.
func (p *Page) confirm(c *fiber.Ctx) error {
	v := p.view(c, "otp")
	s, ok, err := p.session(c, &v)
	if !ok {
		return err
	}
	v.Langs = nil
	v.Txn, v.Name, v.Mobile = formValue(c, "txn"), formValue(c, "name"), formValue(c, "mobile")
	if v.Txn == "" || len(v.Txn) > maxTxn {
		return p.fail(c, v, &Error{Kind: ErrOTPExpired})
	}
	otp, ok := sixDigits(c.FormValue("otp"))
	if !ok {
		v.Error, v.ErrorField = v.T("err_otp_format"), "otp"
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	res, err := p.b.Confirm(c.UserContext(), s, v.Txn, otp)
	if err != nil {
		return p.fail(c, v, kindOf(err))
	}
	r, ok := p.result(v.words, res)
	if !ok {
		return p.fail(c, v, &Error{Kind: ErrUnavailable})
	}
	v.Step, v.Result, v.Txn, v.Name, v.Mobile = "result", &r, "", "", ""
	return p.render(c, http.StatusOK, v)
}

// signOut ends the session and forgets its cookie.
func (p *Page) signOut(c *fiber.Ctx) error {
	v := p.view(c, "signin")
	id := p.sessions.ID(c)
	if id == "" {
		return c.Redirect(base, http.StatusSeeOther)
	}
	s, err := p.b.Session(c.UserContext(), id)
	if err != nil {
		if kindOf(err).Kind != ErrUnauthorized {
			return p.problem(c, v, v.T("err_unavailable"), http.StatusServiceUnavailable)
		}
		p.sessions.End(c)
		return c.Redirect(base, http.StatusSeeOther)
	}
	if !webpage.ValidCSRF(c, s.CSRF) {
		return p.problem(c, v, v.T("err_csrf"), http.StatusForbidden)
	}
	if err := p.b.SignOut(c.UserContext(), s.ID); err != nil && kindOf(err).Kind != ErrUnauthorized {
		// Keep the cookie: the verifier can try again.
		v.signedIn(s)
		return p.problem(c, v, v.T("err_unavailable"), http.StatusServiceUnavailable)
	}
	p.sessions.End(c)
	return c.Redirect(base, http.StatusSeeOther)
}

// session is the signed-in verifier of a POST whose CSRF token is the
// session's. When not ok the answer (sign-in form, 403 or 503) is rendered
// and err is render's.
func (p *Page) session(c *fiber.Ctx, v *view) (s Session, ok bool, err error) {
	id := p.sessions.ID(c)
	if id == "" {
		return Session{}, false, p.signInForm(c, *v, v.T("err_session_ended"), http.StatusUnauthorized)
	}
	s, err = p.b.Session(c.UserContext(), id)
	if err != nil {
		if e := kindOf(err); e.Kind == ErrUnauthorized {
			return Session{}, false, p.fail(c, *v, e)
		}
		return Session{}, false, p.problem(c, *v, v.T("err_unavailable"), http.StatusServiceUnavailable)
	}
	if !webpage.ValidCSRF(c, s.CSRF) {
		return Session{}, false, p.problem(c, *v, v.T("err_csrf"), http.StatusForbidden)
	}
	v.signedIn(s)
	return s, true, nil
}

// fail shows e on the form where the verifier can act on it, with e's
// status: the sign-in form when the session has ended, the name-and-mobile
// form for its own errors and for an OTP that can no longer succeed, else
// the form v is on.
func (p *Page) fail(c *fiber.Ctx, v view, e *Error) error {
	status := statusOf(e.Kind)
	v.Error = p.message(v, e)
	switch e.Kind {
	case ErrUnauthorized:
		p.sessions.End(c)
		return p.signInForm(c, v, v.Error, status)
	case ErrInvalidInput:
		v.ErrorField = "name"
		if v.Step == "otp" { // the backend's verdict on the OTP's form
			v.Error, v.ErrorField = v.T("err_otp_format"), "otp"
		}
	case ErrInvalidMobile:
		v.ErrorField = "mobile"
	case ErrOTPMismatch:
		v.ErrorField = "otp"
		if e.AttemptsLeft <= 0 {
			v.Step, v.ErrorField = "check", ""
		}
	case ErrOTPExpired:
		v.Step = "check"
	}
	if v.Step == "check" {
		v.Langs, v.Txn = p.links(v.Lang), ""
	}
	return p.render(c, status, v)
}

// statusOf is the HTTP status of a page showing an error of kind k.
func statusOf(k ErrorKind) int {
	switch k {
	case ErrUnauthorized:
		return http.StatusUnauthorized
	case ErrInvalidInput, ErrInvalidMobile, ErrOTPMismatch:
		return http.StatusUnprocessableEntity
	case ErrRateLimited:
		return http.StatusTooManyRequests
	case ErrOTPExpired:
		return http.StatusGone
	default:
		return http.StatusServiceUnavailable
	}
}

// message is e in the verifier's words.
func (p *Page) message(v view, e *Error) string {
	switch e.Kind {
	case ErrUnauthorized:
		return v.T("err_session_ended")
	case ErrInvalidInput, ErrInvalidMobile, ErrRateLimited, ErrOTPExpired:
		return v.T("err_" + string(e.Kind))
	case ErrOTPMismatch:
		if e.AttemptsLeft <= 0 {
			return v.T("err_otp_no_attempts")
		}
		return v.Tr("err_otp_mismatch", "n", strconv.Itoa(e.AttemptsLeft))
	default:
		return v.T("err_unavailable")
	}
}

func (p *Page) signInForm(c *fiber.Ctx, v view, msg string, status int) error {
	v.Step, v.Langs, v.Verifier, v.CSRF = "signin", p.links(v.Lang), "", p.sessions.SignInToken(c)
	v.Error, v.ErrorField, v.Txn, v.Name, v.Mobile = msg, "", "", "", ""
	return p.render(c, status, v)
}

func (p *Page) problem(c *fiber.Ctx, v view, msg string, status int) error {
	v.Step, v.Langs, v.Error = "problem", p.links(v.Lang), msg
	v.Txn, v.Name, v.Mobile = "", "", ""
	return p.render(c, status, v)
}

func (p *Page) render(c *fiber.Ctx, status int, v view) error {
	if err := webpage.Render(c, p.tmpl, "page", status, v); err != nil {
		return fmt.Errorf("verify: %s: %w", v.Step, err)
	}
	return nil
}

// view is what the template shows.
type view struct {
	Lang, Step, CSS   string
	Langs             []webpage.LangLink // the language switch; none mid-check, where a link would lose the txn
	Verifier, CSRF    string             // of the session; CSRF is the pre-session token on the sign-in form
	Error, ErrorField string
	Name, Mobile, Txn string
	Result            *resultView
	words             words
}

type resultView struct {
	Status, Class                   string
	Name, Gender, Vaccine, LastDose string
	BirthYear, Doses                int
	VerifiedAt                      string
	CardURL                         string
}

// T is the page string of key.
func (v view) T(key string) string { return v.words.Text(key) }

// Tr is the page string of key with {name}s filled from pairs.
func (v view) Tr(key string, pairs ...string) string { return v.words.Text(key, pairs...) }

func (v *view) signedIn(s Session) { v.Verifier, v.CSRF = s.Verifier, s.CSRF }

// view starts the view of a request in its language.
func (p *Page) view(c *fiber.Ctx, step string) view {
	lang := p.langs.Choose(c)
	v := view{Lang: lang, Step: step, CSS: p.css.Href, words: p.langs.Words[lang]}
	if step == "check" {
		v.Langs = p.links(lang)
	}
	return v
}

// links is the language switch: of the home page, since every step but
// the first is a POST that a link cannot repeat.
func (p *Page) links(current string) []webpage.LangLink { return p.langs.Links(current, base, nil) }

var statusClass = map[string]string{
	"FULLY_VACCINATED":     "status-full",
	"PARTIALLY_VACCINATED": "status-partial",
	"NOT_VACCINATED":       "status-none",
}

// result is r for the page, verified now; not ok for a status it does not know.
func (p *Page) result(w words, r Result) (resultView, bool) {
	class, ok := statusClass[r.Status]
	if !ok {
		return resultView{}, false
	}
	v := resultView{
		Status: w.Text("status_" + r.Status), Class: class,
		Name: r.Name, Vaccine: r.Vaccine, BirthYear: r.BirthYear, Doses: r.Doses,
		Gender: r.Gender, LastDose: w.Text("no_dose"), CardURL: r.CardURL,
	}
	if g, ok := w["gender_"+r.Gender]; ok {
		v.Gender = g
	}
	if r.LastDoseDate != "" {
		v.LastDose = r.LastDoseDate
		if d, err := time.Parse(time.DateOnly, r.LastDoseDate); err == nil {
			v.LastDose = w.Date(d)
		}
	}
	now := p.now()
	v.VerifiedAt = w.Date(now) + ", " + now.Format("15:04 MST")
	return v, true
}

// sixDigits is the OTP as typed, with spaces and dashes dropped and the
// digits of every script citizens type in read as digits; ok when that is
// six digits.
func sixDigits(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		if d, ok := langs.Digit(r); ok {
			b.WriteByte(byte('0' + d))
			continue
		}
		if r != ' ' && r != '-' && r != '\t' {
			return "", false
		}
	}
	return b.String(), b.Len() == 6
}

func formValue(c *fiber.Ctx, key string) string { return webpage.FormValue(c, key) }
