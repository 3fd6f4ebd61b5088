// Package support is the helpline console: staff sign in with a support or
// administrator API key, find a citizen by mobile, see every message both
// ways with its delivery, and resend a code, a slip or a dose confirmation
// in one click and one confirmation.
//
// The console is server-rendered HTML with no script at all, in the
// configured languages of its strings (assets/i18n/<lang>.txt), chosen
// with a "?lang=" link and remembered in a cookie. The routes:
//
//	GET  /support                  sign-in form, or the search form when signed in
//	POST /support/signin           api_key → session cookie, 303 to /support
//	POST /support/signout          ends the session, 303 to /support
//	GET  /support/search?mobile=   the people and history of a mobile (&sent= after an action)
//	POST /support/confirm          what + target → the confirmation step, asking for a reason
//	POST /support/act              the same + reason → Backend.Act, 303 to the search
//	GET  /support/audit            the audit trail (administrators only)
//	GET  /support/dead-letters     the SMS given up on (administrators only; &retried= after a retry)
//	POST /support/dead-letters/retry  id → Backend.RetryDeadLetter, 303 to the list
//	GET  /support/static/support.css
//
// The API key only travels in the sign-in form's body: it is exchanged for
// an opaque session id in an HttpOnly, SameSite=Strict cookie (Secure when
// the public URL is https) and is never written to a cookie, URL, log or
// page. Every form that changes something is a POST carrying a CSRF token:
// the session's, or before sign-in a random token also kept in a cookie
// (double submit). Searches and the audit page are GETs that only read, so
// that a search is a link staff can reload or go back to. Every response
// has a strict Content-Security-Policy and the other security headers, and
// every page is Cache-Control: no-store.
//
// Errors are shown in the staff's language on the page where they can act
// on them, with a status that says what happened. Handlers never return an
// error to the app, so the gateway's JSON error handler never answers for
// the console.
package support

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage"
)

//go:embed assets
var assets embed.FS

const (
	base          = "/support"
	sessionCookie = SessionCookie
	csrfCookie    = "support_csrf" // the CSRF token of the sign-in form, before there is a session
	langCookie    = "support_lang"

	maxTyped     = 128 // bytes of a mobile as typed, Devanagari digits and all
	maxMobile    = 32  // bytes of a mobile once its digits are ASCII
	maxID        = 64  // bytes of an appointment, beneficiary, key or message id
	maxReason    = 500 // runes of an action's reason
	defaultLimit = 200 // audit entries shown
	maxLimit     = 500
)

// SessionCookie holds a signed-in console session's id (Path /support):
// another page under /support may read it to let the same staff in.
const SessionCookie = "support_session"

// The pages a view renders.
const (
	pageSignIn  = "signin"
	pageSearch  = "search"
	pageConfirm = "confirm"
	pageAudit   = "audit"
	pageDead    = "dead"
	pageProblem = "problem"
)

// Page is the helpline console over a Backend.
type Page struct {
	b        Backend
	langs    webpage.Languages
	sessions webpage.Sessions
	tmpl     *template.Template
	css      webpage.Asset
	now      func() time.Time // when a search is shown as of
	loc      *time.Location   // the programme's time zone, in which every time is shown
}

// Options configure the console.
type Options struct {
	// Languages are the configured ones, first the default. Languages the
	// console has no strings for are left out; with none left it is in
	// English.
	Languages     []string
	SecureCookies bool           // the public URL is https
	Location      *time.Location // the programme's time zone; nil for Asia/Kolkata
}

// New builds the console over b.
func New(b Backend, o Options) (*Page, error) {
	if b == nil {
		return nil, errors.New("support: no backend")
	}
	langs, w, err := webpage.LoadLanguages(assets, stringsDir, o.Languages)
	if err != nil {
		return nil, fmt.Errorf("support: %w", err)
	}
	loc := o.Location
	if loc == nil {
		loc = programmeZone()
	}
	cookies := webpage.Cookies{Path: base, Secure: o.SecureCookies}
	p := &Page{b: b, now: time.Now, loc: loc,
		langs:    webpage.Languages{Codes: langs, Words: w, Cookie: langCookie, Cookies: cookies},
		sessions: webpage.Sessions{Cookies: cookies, Session: sessionCookie, CSRF: csrfCookie}}
	if p.tmpl, err = webpage.ParseTemplate(assets, "assets/support.html"); err != nil {
		return nil, fmt.Errorf("support: template: %w", err)
	}
	if p.css, err = webpage.Stylesheet(assets, "assets/support.css", base+"/static/support.css"); err != nil {
		return nil, fmt.Errorf("support: stylesheet: %w", err)
	}
	return p, nil
}

// programmeZone is India's time zone. Without the system's zone database
// the fixed offset is the same: India has no daylight saving time.
func programmeZone() *time.Location {
	if loc, err := time.LoadLocation("Asia/Kolkata"); err == nil {
		return loc
	}
	return time.FixedZone("IST", 5*3600+30*60)
}

// Mount adds the console's routes under /support to r.
func (p *Page) Mount(r fiber.Router) {
	r.Get(base, p.guard(p.home))
	r.Post(base+"/signin", p.guard(p.signIn))
	r.Post(base+"/signout", p.guard(p.signOut))
	r.Get(base+"/search", p.guard(p.search))
	r.Post(base+"/confirm", p.guard(p.confirm))
	r.Post(base+"/act", p.guard(p.act))
	r.Get(base+"/audit", p.guard(p.audit))
	r.Get(base+deadPath, p.guard(p.deadLetters))
	r.Post(base+deadPath+"/retry", p.guard(p.retryDeadLetter))
	for _, step := range []string{"/signin", "/signout", "/confirm", "/act", deadPath + "/retry"} {
		// A refresh or bookmark of a step starts over.
		r.Get(base+step, p.guard(webpage.SeeOther(base)))
	}
	r.Get(base+"/static/support.css", p.guard(p.css.Serve))
}

// guard is webpage.Guard with the console's policy: no script at all.
func (p *Page) guard(h fiber.Handler) fiber.Handler { return webpage.Guard(webpage.NoScriptCSP, h) }

// home is the sign-in form, or the empty search form when signed in.
func (p *Page) home(c *fiber.Ctx) error {
	v := p.view(c, pageSearch)
	if _, ok, err := p.signedIn(c, &v, http.StatusOK); !ok {
		return err
	}
	return p.render(c, http.StatusOK, v)
}

// signIn exchanges the API key for a session cookie.
func (p *Page) signIn(c *fiber.Ctx) error {
	v := p.view(c, pageSignIn)
	if !p.sessions.SignInAllowed(c) {
		return p.problem(c, v, v.T("err_csrf"), http.StatusForbidden)
	}
	key, ok := webpage.APIKey(c)
	if !ok {
		return p.signInForm(c, v, v.T("err_signin"), http.StatusUnauthorized)
	}
	s, err := p.b.SignIn(c.UserContext(), key)
	if err == nil {
		err = webpage.UsableSession(s.SessionID, s.CSRF)
	}
	if err != nil {
		e := errorOf(err)
		if e.Kind == ErrUnauthorized || e.Kind == ErrForbidden {
			return p.signInForm(c, v, v.T("err_signin"), http.StatusUnauthorized)
		}
		return p.signInForm(c, v, p.message(v, e), statusOf(e.Kind))
	}
	p.sessions.Start(c, s.SessionID)
	return c.Redirect(base, http.StatusSeeOther)
}

// signOut ends the session and forgets its cookie.
func (p *Page) signOut(c *fiber.Ctx) error {
	v := p.view(c, pageSignIn)
	id := p.sessions.ID(c)
	if id == "" {
		return c.Redirect(base, http.StatusSeeOther)
	}
	s, err := p.b.Session(c.UserContext(), id)
	if err != nil {
		if e := errorOf(err); e.Kind != ErrUnauthorized {
			return p.problem(c, v, p.message(v, e), statusOf(e.Kind))
		}
		p.sessions.End(c)
		return c.Redirect(base, http.StatusSeeOther)
	}
	v.signedIn(s)
	if !webpage.ValidCSRF(c, s.CSRF) {
		return p.problem(c, v, v.T("err_csrf"), http.StatusForbidden)
	}
	if err := p.b.SignOut(c.UserContext(), s.SessionID); err != nil && errorOf(err).Kind != ErrUnauthorized {
		// Keep the cookie: staff can try again from the page's header.
		return p.problem(c, v, v.T("err_unavailable"), http.StatusServiceUnavailable)
	}
	p.sessions.End(c)
	return c.Redirect(base, http.StatusSeeOther)
}

// search shows the people and history of the mobile typed.
func (p *Page) search(c *fiber.Ctx) error {
	v := p.view(c, pageSearch)
	s, ok, err := p.signedIn(c, &v, http.StatusUnauthorized)
	if !ok {
		return err
	}
	typed := queryValue(c, "mobile")
	v.Typed = clip(typed, maxTyped)
	v.Langs = p.langs.Links(v.Lang, base+"/search", url.Values{"mobile": {v.Typed}})
	mobile, ok := readMobile(typed)
	if !ok {
		v.Error, v.ErrorField = v.T("err_invalid_mobile"), "mobile"
		if typed == "" {
			v.Error = v.T("err_mobile_empty")
		}
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	lk, err := p.b.Search(c.UserContext(), s, mobile)
	if err != nil {
		return p.fail(c, v, errorOf(err))
	}
	v.Lookup = p.results(v.words, lk, mobile, s.CSRF)
	if id := queryValue(c, "sent"); validID(id) {
		v.Flash = v.Tr("flash_sent", "id", id)
	}
	return p.render(c, http.StatusOK, v)
}

// confirm is the step between a button of the search page and the action:
// it says what will be sent to whom and asks for the reason.
func (p *Page) confirm(c *fiber.Ctx) error {
	v := p.view(c, pageConfirm)
	if _, _, ok, err := p.step(c, &v); !ok {
		return err
	}
	return p.render(c, http.StatusOK, v)
}

// act performs the action confirmed with a reason, then shows the search
// again with the message's id (post/redirect/get: a reload sends nothing).
func (p *Page) act(c *fiber.Ctx) error {
	v := p.view(c, pageConfirm)
	// The target is looked up again so that an action only ever reaches a
	// person on the mobile searched, and so that an error can be shown on
	// the step with everything it described.
	s, t, ok, err := p.step(c, &v)
	if !ok {
		return err
	}
	reason := formValue(c, "reason")
	v.Confirm.Reason = clipRunes(reason, maxReason)
	if key := checkReason(reason); key != "" {
		v.Error, v.ErrorField = v.T(key), "reason"
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	id, err := p.b.Act(c.UserContext(), s, Action{What: t.what, AppointmentID: t.appointmentID,
		BeneficiaryID: t.beneficiaryID, Reason: reason, Mobile: v.Confirm.Mobile})
	if err != nil {
		e := errorOf(err)
		if e.Kind == ErrRateLimited {
			v.Confirm.spent(v.words)
		}
		return p.fail(c, v, e)
	}
	q := url.Values{"mobile": {v.Confirm.Mobile}}
	if validID(id) {
		q.Set("sent", id)
	}
	return c.Redirect(base+"/search?"+q.Encode(), http.StatusSeeOther)
}

// step reads the form of an action, posted by the search page or by the
// confirmation step, finds its target on its mobile and puts the
// confirmation step in v. When not ok the answer (the sign-in form or an
// error page) is rendered and err is render's.
func (p *Page) step(c *fiber.Ctx, v *view) (s Staff, t target, ok bool, err error) {
	if s, ok, err = p.session(c, v); !ok {
		return s, t, false, err
	}
	t, bad := readTarget(c)
	if bad != "" {
		return s, t, false, p.problem(c, *v, v.T(bad), http.StatusUnprocessableEntity)
	}
	v.Back = searchHref(t.mobile)
	lk, err := p.b.Search(c.UserContext(), s, t.mobile)
	if err != nil {
		return s, t, false, p.fail(c, *v, errorOf(err))
	}
	cv, e := p.describe(v.words, lk, t)
	if e != nil {
		return s, t, false, p.problem(c, *v, p.message(*v, e), statusOf(e.Kind))
	}
	cv.Form.CSRF = s.CSRF
	v.Confirm = cv
	// A language link cannot keep a POST's fields: it goes back to the
	// search, where the step is one click away.
	v.Langs = p.langs.Links(v.Lang, base+"/search", url.Values{"mobile": {cv.Mobile}})
	return s, t, true, nil
}

// audit shows the audit trail, filtered, to an administrator.
func (p *Page) audit(c *fiber.Ctx) error {
	v := p.view(c, pageAudit)
	s, ok, err := p.signedIn(c, &v, http.StatusUnauthorized)
	if !ok {
		return err
	}
	if !s.Admin {
		return p.problem(c, v, v.T("err_forbidden"), http.StatusForbidden)
	}
	av, f, field := readAuditFilter(c)
	v.Audit = &av
	v.Langs = p.langs.Links(v.Lang, base+"/audit", av.query())
	keys, err := p.b.StaffKeys(c.UserContext(), s)
	if err != nil {
		return p.fail(c, v, errorOf(err))
	}
	if field == "" && f.StaffKeyID != "" && !slices.ContainsFunc(keys, func(k StaffKey) bool { return k.ID == f.StaffKeyID }) {
		// A revoked key, or the bootstrap admin key, is in no list, yet
		// its trail is what an admin most needs after revoking it.
		keys = append(keys, StaffKey{ID: f.StaffKeyID, Name: f.StaffKeyID, Role: "inactive"})
	}
	av.Keys = keyOptions(v.words, keys, f.StaffKeyID)
	switch field {
	case "staff":
		v.Error, v.ErrorField = v.T("err_audit_staff"), field
		return p.render(c, http.StatusUnprocessableEntity, v)
	case "audit-mobile":
		v.Error, v.ErrorField = v.T("err_invalid_mobile"), field
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	entries, err := p.b.Audit(c.UserContext(), s, f)
	if err != nil {
		return p.fail(c, v, errorOf(err))
	}
	av.Entries, av.Ran = p.auditRows(v.words, entries), true
	return p.render(c, http.StatusOK, v)
}

const deadPath = "/dead-letters"

// deadLetters lists the SMS given up on, with a retry button each, to an
// administrator.
func (p *Page) deadLetters(c *fiber.Ctx) error {
	v := p.view(c, pageDead)
	s, ok, err := p.signedIn(c, &v, http.StatusUnauthorized)
	if !ok {
		return err
	}
	if !s.Admin {
		return p.problem(c, v, v.T("err_forbidden"), http.StatusForbidden)
	}
	switch retried := queryValue(c, "retried"); {
	case retried == "owed":
		v.Flash = v.T("dead_retried_debt")
	case validID(retried):
		v.Flash = v.Tr("dead_retried_message", "id", retried)
	}
	v.Langs = p.langs.Links(v.Lang, base+deadPath, nil)
	return p.showDead(c, v, s, http.StatusOK)
}

// showDead reads the list into v and renders it with status.
func (p *Page) showDead(c *fiber.Ctx, v view, s Staff, status int) error {
	list, err := p.b.DeadLetters(c.UserContext(), s)
	if err != nil {
		return p.fail(c, v, errorOf(err))
	}
	v.Dead = p.deadView(v.words, list, s.CSRF)
	return p.render(c, status, v)
}

// retryDeadLetter retries one dead letter, then shows the list again with
// what became of it (post/redirect/get: a reload retries nothing).
func (p *Page) retryDeadLetter(c *fiber.Ctx) error {
	v := p.view(c, pageDead)
	s, ok, err := p.session(c, &v)
	if !ok {
		return err
	}
	if !s.Admin {
		return p.problem(c, v, v.T("err_forbidden"), http.StatusForbidden)
	}
	v.Langs = p.langs.Links(v.Lang, base+deadPath, nil)
	id := formValue(c, "id")
	if len(id) > maxDeadID || !printableASCII(id) || id == "" {
		v.Error = v.T("err_invalid_input")
		return p.showDead(c, v, s, http.StatusUnprocessableEntity)
	}
	msgID, err := p.b.RetryDeadLetter(c.UserContext(), s, id)
	if err != nil {
		e := errorOf(err)
		if e.Kind == ErrUnauthorized || e.Kind == ErrForbidden {
			return p.fail(c, v, e)
		}
		v.Error = p.message(v, e)
		return p.showDead(c, v, s, statusOf(e.Kind))
	}
	retried := "owed"
	if msgID != "" {
		retried = msgID
	}
	return c.Redirect(base+deadPath+"?"+url.Values{"retried": {retried}}.Encode(), http.StatusSeeOther)
}

// maxDeadID bounds a dead letter's id: "debt:" and a notification, whose
// longest (a dose's) holds three ids.
const maxDeadID = 160

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// signedIn is the staff of the session cookie, for any request; it puts
// them in v's header. When not ok the answer is rendered and err is
// render's: the sign-in form with status anon (home is a sign-in page like
// any other, every other page asks to sign in with 401), or an error page.
func (p *Page) signedIn(c *fiber.Ctx, v *view, anon int) (s Staff, ok bool, err error) {
	id := p.sessions.ID(c)
	if id == "" {
		msg := ""
		if anon != http.StatusOK {
			msg = v.T("err_signin_first")
		}
		return Staff{}, false, p.signInForm(c, *v, msg, anon)
	}
	s, err = p.b.Session(c.UserContext(), id)
	if err != nil {
		e := errorOf(err)
		if e.Kind == ErrUnauthorized {
			p.sessions.End(c)
			return Staff{}, false, p.signInForm(c, *v, v.T("err_session_ended"), anon)
		}
		return Staff{}, false, p.problem(c, *v, p.message(*v, e), statusOf(e.Kind))
	}
	v.signedIn(s)
	return s, true, nil
}

// session is the signed-in staff of a POST whose CSRF token is the
// session's; when not ok the answer (sign-in form, 403 or 503) is rendered.
func (p *Page) session(c *fiber.Ctx, v *view) (s Staff, ok bool, err error) {
	if s, ok, err = p.signedIn(c, v, http.StatusUnauthorized); !ok {
		return s, ok, err
	}
	if !webpage.ValidCSRF(c, s.CSRF) {
		return Staff{}, false, p.problem(c, *v, v.T("err_csrf"), http.StatusForbidden)
	}
	return s, true, nil
}

// fail shows e with its status where staff can act on it: the sign-in form
// when the session has ended, else the page v is on when it can show e,
// else an error page.
func (p *Page) fail(c *fiber.Ctx, v view, e *Error) error {
	if e.Kind == ErrUnauthorized {
		p.sessions.End(c)
		return p.signInForm(c, v, v.T("err_session_ended"), http.StatusUnauthorized)
	}
	msg, status := p.message(v, e), statusOf(e.Kind)
	if !v.canShow(e) {
		return p.problem(c, v, msg, status)
	}
	v.Error, v.ErrorField = msg, fieldOf(v.Page, e)
	return p.render(c, status, v)
}

// canShow says whether the page v is on can show e: the confirmation step
// only with the target it describes, and nothing of the audit page to a
// key that may not read it.
func (v view) canShow(e *Error) bool {
	switch v.Page {
	case pageSearch:
		return true
	case pageConfirm:
		return v.Confirm != nil
	case pageAudit, pageDead:
		return e.Kind != ErrForbidden
	}
	return false
}

// fieldOf is the id of the field of page that e is about, "" for none.
func fieldOf(page string, e *Error) string {
	switch {
	case page == pageSearch && (e.Kind == ErrInvalidMobile || e.Kind == ErrInvalidInput):
		return "mobile"
	case page == pageAudit && (e.Kind == ErrInvalidMobile || e.Kind == ErrInvalidInput && e.Field == "mobile"):
		return "audit-mobile"
	case page == pageAudit && e.Kind == ErrInvalidInput && e.Field == "staff":
		return "staff"
	case page == pageConfirm && e.Kind == ErrInvalidInput && e.Field == "reason":
		return "reason"
	}
	return ""
}

// statusOf is the HTTP status of a page showing an error of kind k.
func statusOf(k ErrorKind) int {
	switch k {
	case ErrUnauthorized:
		return http.StatusUnauthorized
	case ErrForbidden:
		return http.StatusForbidden
	case ErrInvalidInput, ErrInvalidMobile:
		return http.StatusUnprocessableEntity
	case ErrRateLimited:
		return http.StatusTooManyRequests
	case ErrNotActive, ErrNoDose, ErrExpired:
		return http.StatusConflict
	case ErrNotFound:
		return http.StatusNotFound
	default:
		return http.StatusServiceUnavailable
	}
}

// message is e in the staff's words.
func (p *Page) message(v view, e *Error) string {
	switch e.Kind {
	case ErrUnauthorized:
		return v.T("err_session_ended")
	case ErrRateLimited:
		return rateLimited(v, e.RetryAfter)
	case ErrInvalidInput:
		switch e.Field {
		case "reason":
			return v.T("err_reason_refused")
		case "staff":
			return v.T("err_audit_staff")
		case "mobile":
			return v.T("err_invalid_mobile")
		}
		return v.T("err_invalid_input")
	case ErrNotFound, ErrExpired:
		if v.Page == pageDead {
			return v.T("err_dead_" + string(e.Kind))
		}
		return v.T("err_" + string(e.Kind))
	case ErrForbidden, ErrInvalidMobile, ErrNotActive, ErrNoDose:
		return v.T("err_" + string(e.Kind))
	default:
		return v.T("err_unavailable")
	}
}

// rateLimited says that the resends are spent and, on the confirmation
// step, when the next is possible, in whole minutes rounded up so that
// staff never tell a citizen too early a time.
func rateLimited(v view, retry time.Duration) string {
	if v.Confirm == nil {
		return v.T("err_rate_limited")
	}
	msg := v.T("err_rate_limited_appointment")
	if v.Confirm.What == ActConfirmation {
		msg = v.T("err_rate_limited_confirmation")
	}
	switch n := minutesUp(retry); {
	case n <= 0:
		return msg
	case n == 1:
		return msg + " " + v.T("next_in_one_minute")
	default:
		return msg + " " + v.Tr("next_in_minutes", "n", strconv.Itoa(n))
	}
}

// minutesUp is d in whole minutes, rounded up.
func minutesUp(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Minute - 1) / time.Minute)
}

// errorOf is the *Error in err as the console knows it: a kind it does not
// explain is unavailable. It is a copy, so the backend's error stays as it
// was.
func errorOf(err error) *Error {
	e := *kindOf(err)
	switch e.Kind {
	case ErrUnauthorized, ErrForbidden, ErrInvalidInput, ErrInvalidMobile, ErrRateLimited,
		ErrNotActive, ErrNoDose, ErrNotFound, ErrExpired, ErrUnavailable:
		return &e
	}
	return &Error{Kind: ErrUnavailable}
}

func (p *Page) signInForm(c *fiber.Ctx, v view, msg string, status int) error {
	return p.render(c, status, view{Lang: v.Lang, Page: pageSignIn, CSS: v.CSS, Langs: p.langs.Links(v.Lang, base, nil),
		CSRF: p.sessions.SignInToken(c), Error: msg, Back: base, words: v.words})
}

func (p *Page) problem(c *fiber.Ctx, v view, msg string, status int) error {
	v.Page, v.Error, v.ErrorField = pageProblem, msg, ""
	v.Lookup, v.Confirm, v.Audit, v.Dead, v.Flash = nil, nil, nil, nil, ""
	return p.render(c, status, v)
}

func (p *Page) render(c *fiber.Ctx, status int, v view) error {
	if err := webpage.Render(c, p.tmpl, "page", status, v); err != nil {
		return fmt.Errorf("support: %s: %w", v.Page, err)
	}
	return nil
}

// view starts the view of a request in its language.
func (p *Page) view(c *fiber.Ctx, page string) view {
	lang := p.langs.Choose(c)
	return view{Lang: lang, Page: page, CSS: p.css.Href, Langs: p.langs.Links(lang, base, nil), Back: base, words: p.langs.Words[lang]}
}

// target is what an action of the search page is about, read from the
// hidden fields of its form.
type target struct {
	what, appointmentID, beneficiaryID string
	mobile                             string // the search's, digits made ASCII
}

// readTarget reads the fields of an action's form; bad is the key of the
// message for a form that cannot be one of the search page's.
func readTarget(c *fiber.Ctx) (t target, bad string) {
	t.what = formValue(c, "what")
	switch t.what {
	case ActSecurityCode, ActRegenerate, ActSlip:
		if t.appointmentID = formValue(c, "appointment_id"); !validID(t.appointmentID) {
			return t, "err_invalid_input"
		}
	case ActConfirmation:
		if t.beneficiaryID = formValue(c, "beneficiary_id"); !validID(t.beneficiaryID) {
			return t, "err_invalid_input"
		}
	default:
		return t, "err_bad_action"
	}
	m, ok := readMobile(formValue(c, "mobile"))
	if !ok {
		return t, "err_invalid_mobile"
	}
	t.mobile = m
	return t, ""
}

// checkReason is the key of what is wrong with a reason, "" when nothing.
func checkReason(reason string) string {
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return "err_reason_empty"
	case n > maxReason:
		return "err_reason_long"
	}
	return ""
}

// readAuditFilter reads the audit page's query: the filter as shown, as
// passed to the backend, and the id of a field that cannot be passed.
func readAuditFilter(c *fiber.Ctx) (av auditView, f AuditFilter, field string) {
	av = auditView{Staff: clip(queryValue(c, "staff"), maxID), Mobile: clip(queryValue(c, "mobile"), maxTyped), Limit: defaultLimit}
	f = AuditFilter{StaffKeyID: av.Staff, Limit: defaultLimit}
	if f.StaffKeyID != "" && !validID(f.StaffKeyID) {
		field = "staff"
	}
	if av.Mobile != "" {
		m, ok := readMobile(av.Mobile)
		if !ok && field == "" {
			field = "audit-mobile"
		}
		f.Mobile = m
	}
	// A limit that is not a number is ignored, one too large is the most
	// the backend reads.
	if n, err := strconv.Atoi(queryValue(c, "limit")); err == nil && n > 0 {
		f.Limit = min(n, maxLimit)
		av.Limit, av.LimitSet = f.Limit, f.Limit != defaultLimit
	}
	return av, f, field
}

// readMobile is a mobile as a person types it, with Devanagari digits read
// as ASCII ones, so that the backend gets digits it parses; not ok when it
// has anything but digits, spaces and + - ( ) ., no digit, or is too long
// to be a number.
func readMobile(typed string) (string, bool) {
	if typed == "" || len(typed) > maxTyped {
		return "", false
	}
	var b strings.Builder
	digits := 0
	for _, r := range typed {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r >= '०' && r <= '९':
			b.WriteRune('0' + (r - '०'))
			digits++
		case r == '\u00a0': // pasted from a document
			b.WriteByte(' ')
		case strings.ContainsRune(" +-().", r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	m := b.String()
	return m, digits > 0 && len(m) <= maxMobile
}

// validID says whether s may be an id of the backend's: letters, digits,
// - and _, at most maxID bytes. Anything else never reaches the backend
// nor a page.
func validID(s string) bool {
	if s == "" || len(s) > maxID {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// clip is s cut to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clipRunes is s cut to at most n runes.
func clipRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// searchHref is the search page of mobile.
func searchHref(mobile string) string {
	return base + "/search?" + url.Values{"mobile": {mobile}}.Encode()
}

func formValue(c *fiber.Ctx, key string) string { return webpage.FormValue(c, key) }

func queryValue(c *fiber.Ctx, key string) string { return webpage.QueryValue(c, key) }
