// Package simulator is the phone simulator page of Sandesh: a feature phone
// in the browser where a person sends keyword SMS, or walks the USSD menu,
// as any mobile and reads the gateway's replies. It is the first page a
// newcomer opens after `go run ./cmd/sandesh`.
//
// The page is plain HTML forms (POST, then a redirect to a GET), needs no
// JavaScript and keeps no state on the server: the USSD session travels in
// the page's forms and in the redirect's query. Everything it shows comes
// from a Backend, which the gateway implements over its real flows.
//
// The page speaks the gateway's configured languages that it has strings
// for (assets/i18n/<lang>.txt, the first configured is the default),
// chosen with a "?lang=" link and remembered in a cookie, as the other
// pages of the gateway (package webpage). What the gateway answers (the SMS
// replies and USSD screens) is in the mobile's language, not the page's.
package simulator

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage"
)

// Phone is a demo mobile and who is registered on it.
type Phone struct {
	Mobile string
	People []string
}

// Message is one SMS in a conversation, oldest first.
type Message struct {
	In     bool   // the citizen sent it
	Body   string // as stored: the reply's real text
	At     time.Time
	Status string // queued, sent, delivered, failed…
}

// Backend is what the page needs; the gateway implements it over its flows.
//
// The page never shows an error's text, which may hold internal details:
// it says "the gateway could not answer" and, for an error whose chain has
// a value with a PublicMessage() string method (a validation error meant
// for a person, such as a mobile the gateway does not accept), that
// message, as the gateway wrote it.
type Backend interface {
	// Languages are the gateway's configured languages, the default
	// first: the languages the page offers, of those it has strings for.
	// New asks once.
	Languages() []string
	Phones(ctx context.Context) ([]Phone, error)
	// SendSMS delivers body as an inbound SMS from mobile (as a provider
	// webhook would) and returns once the reply is queued.
	SendSMS(ctx context.Context, mobile, body string) error
	// Conversation is the SMS exchanged with mobile, oldest first, replies
	// with their real text.
	Conversation(ctx context.Context, mobile string) ([]Message, error)
	// USSD answers one USSD request; text is the *-joined answers so far.
	USSD(ctx context.Context, mobile, sessionID, text string) (string, error)
}

// Limits on what the page accepts.
const (
	maxBodyRunes   = 1600 // the longest SMS a provider delivers
	maxAnswerRunes = 160
	maxTextBytes   = 1000 // the gateway refuses USSD text over 1024 bytes
	shownMessages  = 50   // latest messages on the screen
	backendTimeout = 15 * time.Second
)

// keywords are the quick-send buttons of SMS mode (API.md, Keywords); the
// LANG buttons go after HELP (see quickKeywords).
var keywords = []string{"STATUS", "SLIP", "CODE", "CERT", "HELP", "STOP", "START"}

const (
	stringsDir = "assets/i18n" // one "<lang>.txt" a language
	langCookie = "simulator_lang"
)

// Security headers of every response under /simulator.
var securityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Cache-Control", "no-store"},
	{"Referrer-Policy", "no-referrer"},
}

//go:embed assets
var assets embed.FS

// Page is the simulator page over one Backend.
type Page struct {
	b      Backend
	langs  webpage.Languages // Cookies are set per request: see languages
	tmpl   *template.Template
	static fs.FS
	key    []byte // signs the USSD screen carried in a redirect
	log    *slog.Logger
}

// New returns the page over b, in b's languages that the page has strings
// for; with none of them, in English.
func New(b Backend) (*Page, error) {
	if b == nil {
		return nil, errors.New("simulator: nil backend")
	}
	codes, words, err := webpage.LoadLanguages(assets, stringsDir, b.Languages())
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	// The page keeps its own frame (the phone); of webpage's layout it
	// uses only "langs", the language switch every page shares.
	tmpl, err := webpage.ParseTemplate(assets, "assets/page.html")
	if err != nil {
		return nil, fmt.Errorf("simulator: template: %w", err)
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, fmt.Errorf("simulator: assets: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("simulator: key: %w", err)
	}
	return &Page{b: b, tmpl: tmpl, static: static, key: key, log: slog.Default(),
		langs: webpage.Languages{Codes: codes, Words: words, Cookie: langCookie}}, nil
}

// Mount adds the routes under /simulator to r:
//
//	GET  /simulator?mobile=…&mode=sms|ussd  the phone (&lang= to change the page's language)
//	POST /simulator/sms                     send an SMS (mobile, body)
//	POST /simulator/ussd                    dial or answer (mobile, action, sessionId, text, answer)
//	GET  /simulator/static/…                stylesheet and icon
//
// Every response under /simulator carries the security headers.
func (p *Page) Mount(r fiber.Router) {
	r.Use("/simulator", p.headers)
	r.Get("/simulator", p.show)
	r.Post("/simulator/sms", p.posted, p.sendSMS)
	r.Post("/simulator/ussd", p.posted, p.ussd)
	r.Get("/simulator/static/*", p.asset)
}

// headers sets the security headers on /simulator and below (a fiber prefix
// also matches /simulatorx, which is left alone).
func (p *Page) headers(c *fiber.Ctx) error {
	prefix := strings.ToLower(strings.TrimSuffix(c.Route().Path, "/"))
	at := strings.ToLower(c.Path())
	if at == prefix || strings.HasPrefix(at, prefix+"/") {
		for _, h := range securityHeaders {
			c.Set(h[0], h[1])
		}
	}
	return c.Next()
}

// base is where the page is mounted, from the route that matched: the
// router given to Mount may be a group with a prefix.
func base(c *fiber.Ctx, suffix string) string {
	return strings.TrimSuffix(strings.TrimSuffix(c.Route().Path, suffix), "/")
}

// languages are the page's languages for a request to the page at base:
// the cookie that remembers the choice is set under base, Secure when the
// request came over https (it holds only a language code).
func (p *Page) languages(c *fiber.Ctx, base string) webpage.Languages {
	l := p.langs
	l.Cookies = webpage.Cookies{Path: base, Secure: c.Secure()}
	return l
}

// view is what the template shows.
type view struct {
	Lang     string
	Base     string
	Phones   []Phone
	Mobile   string
	Mode     string // sms | ussd
	Error    string
	Notice   string
	Keywords []string // the quick-send buttons
	Codes    string   // the language codes LANG takes, for the help: "EN, HI, MR"

	Messages []Message
	Earlier  int // messages not shown, older than Messages

	USSD ussdView

	// Filled in by render.
	Ready    bool     // Mobile is a phone number: show the phone's forms
	People   []string // registered on Mobile, when it is a demo mobile
	Typed    string   // Mobile when it is not a demo mobile
	SMSLink  string
	USSDLink string
	Langs    []webpage.LangLink // the language switch, keeping the mobile, mode and USSD screen

	langs webpage.Languages
	words webpage.Words
}

// T is the page string of key.
func (v *view) T(key string) string { return v.words.Text(key) }

// Tr is the page string of key with {name}s filled from pairs.
func (v *view) Tr(key string, pairs ...string) string { return v.words.Text(key, pairs...) }

// When is the time of a message in the page's words ("24 Nov 2026, 10:30"),
// in the time's own zone.
func (v *view) When(t time.Time) string { return v.words.DateTime(t, t.Location()) }

// Status is a message's status in the page's words; one the strings do
// not know is shown as it is.
func (v *view) Status(s string) string { return v.words.Or("status_"+s, s) }

// ussdView is the USSD screen and the session the next answer belongs to.
type ussdView struct {
	Session string
	Text    string
	Raw     string // as the gateway answered, for the next form
	Screen  string // without its CON/END prefix
	Open    bool   // CON: an answer is expected
	Shown   bool   // a screen is shown (else: dial to start)
	Sig     string
	Keys    []string
}

// newView starts the view of a request, in its language.
func (p *Page) newView(c *fiber.Ctx, base, mobile, mode string) *view {
	if mode != "ussd" {
		mode = "sms"
	}
	langs := p.languages(c, base)
	lang := langs.Choose(c)
	v := &view{Lang: lang, Base: base, Mobile: mobile, Mode: mode, langs: langs, words: langs.Words[lang],
		Keywords: quickKeywords(lang, langs.Codes), Codes: strings.ToUpper(strings.Join(langs.Codes, ", "))}
	v.USSD.Keys = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "0"}
	phones, err := p.b.Phones(c.UserContext())
	if err != nil {
		v.Error = p.backendError(v.words, "phones", err)
	}
	v.Phones = phones
	return v
}

// quickKeywords are the keyword buttons of a page in lang: LANG of lang
// and of English, so that a newcomer can switch the replies to the page's
// language and back. On an English page, or when English is not offered,
// the second is the next language offered. Only offered languages get a
// button: LANG of a language the gateway is not configured for is refused.
func quickKeywords(lang string, offered []string) []string {
	other := "en"
	if lang == "en" || !slices.Contains(offered, "en") {
		other = ""
		if i := slices.IndexFunc(offered, func(l string) bool { return l != lang }); i >= 0 {
			other = offered[i]
		}
	}
	out := slices.Clone(keywords[:5])
	out = append(out, "LANG "+strings.ToUpper(lang))
	if other != "" {
		out = append(out, "LANG "+strings.ToUpper(other))
	}
	return append(out, keywords[5:]...)
}

// show renders the phone for the mobile and mode in the query.
func (p *Page) show(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), backendTimeout)
	defer cancel()
	c.SetUserContext(ctx)

	raw := strings.TrimSpace(value(c, "mobile"))
	if raw == "" {
		raw = strings.TrimSpace(value(c, "phone")) // the list of demo mobiles
	}
	v := p.newView(c, base(c, ""), raw, value(c, "mode"))
	if raw == "" {
		return p.render(c, http.StatusOK, v)
	}
	mobile, ok := checkMobile(raw)
	if !ok {
		v.Error = v.T("err_mobile")
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	v.Mobile = mobile
	status := http.StatusOK
	switch v.Mode {
	case "sms":
		msgs, err := p.b.Conversation(ctx, mobile)
		if err != nil {
			v.Error = p.backendError(v.words, "conversation", err)
			status = errorStatus(err)
			break
		}
		v.Messages = tail(msgs, &v.Earlier)
	case "ussd":
		u := ussdView{Session: value(c, "session"), Text: value(c, "text"), Keys: v.USSD.Keys}
		screen, sig := value(c, "screen"), value(c, "sig")
		if screen != "" || sig != "" {
			if !p.validSig(sig, mobile, u.Session, u.Text, screen) {
				v.Notice = v.T("err_screen_expired")
			} else {
				u.Screen, u.Open = parseScreen(screen)
				u.Raw, u.Shown, u.Sig = screen, true, sig
			}
		}
		if !u.Shown {
			u.Session, u.Text = "", ""
		}
		v.USSD = u
	}
	return p.render(c, status, v)
}

// posted guards the forms that make the gateway act: only from the page
// itself (another site could make it send SMS), and bounded in time.
func (p *Page) posted(c *fiber.Ctx) error {
	if !sameOrigin(c) {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		// A form's route is the page's base and its step.
		langs := p.languages(c, path.Dir(c.Route().Path))
		return c.Status(http.StatusForbidden).SendString(langs.Words[langs.Choose(c)].Text("err_cross_site"))
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), backendTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// sendSMS delivers the body as an SMS from the mobile, then shows the
// conversation.
func (p *Page) sendSMS(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b := base(c, "/sms")
	raw := strings.TrimSpace(value(c, "mobile"))
	body := strings.TrimSpace(value(c, "body"))
	v := p.newView(c, b, raw, "sms")
	mobile, ok := checkMobile(raw)
	var msg string
	switch {
	case !ok:
		msg = v.T("err_mobile")
	case body == "":
		msg = v.T("err_body_empty")
	case !utf8.ValidString(body):
		msg = v.T("err_body_text")
	case utf8.RuneCountInString(body) > maxBodyRunes:
		msg = v.Tr("err_body_long", "n", strconv.Itoa(maxBodyRunes))
	}
	if msg != "" {
		v.Error = msg
		if ok {
			v.Mobile = mobile
			if msgs, err := p.b.Conversation(ctx, mobile); err == nil {
				v.Messages = tail(msgs, &v.Earlier)
			}
		}
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	v.Mobile = mobile
	if err := p.b.SendSMS(ctx, mobile, body); err != nil {
		v.Error = p.backendError(v.words, "send sms", err)
		if msgs, err := p.b.Conversation(ctx, mobile); err == nil {
			v.Messages = tail(msgs, &v.Earlier)
		}
		return p.render(c, errorStatus(err), v)
	}
	q := url.Values{"mobile": {mobile}, "mode": {"sms"}}
	return c.Redirect(b+"?"+q.Encode(), http.StatusSeeOther)
}

// ussd dials (a new session) or sends the next answer of the session in
// the form, then shows the screen the gateway answered.
func (p *Page) ussd(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b := base(c, "/ussd")
	raw := strings.TrimSpace(value(c, "mobile"))
	v := p.newView(c, b, raw, "ussd")
	mobile, ok := checkMobile(raw)
	if !ok {
		v.Error = v.T("err_mobile")
		return p.render(c, http.StatusUnprocessableEntity, v)
	}
	v.Mobile = mobile

	session, text := value(c, "sessionId"), value(c, "text")
	if value(c, "action") == "dial" || session == "" {
		session, text = newSessionID(), ""
	} else {
		// Keep the screen the answer was typed on, should it be refused.
		prev := ussdView{Session: session, Text: text, Keys: v.USSD.Keys}
		screen, sig := value(c, "screen"), value(c, "sig")
		if p.validSig(sig, mobile, session, text, screen) {
			prev.Screen, prev.Open = parseScreen(screen)
			prev.Raw, prev.Shown, prev.Sig = screen, true, sig
		}
		answer := strings.TrimSpace(value(c, "answer"))
		var msg string
		switch {
		case !validSession(session):
			msg = v.T("err_session_invalid")
			prev = ussdView{Keys: v.USSD.Keys}
		case answer == "":
			msg = v.T("err_answer_empty")
		case !utf8.ValidString(answer) || utf8.RuneCountInString(answer) > maxAnswerRunes:
			msg = v.Tr("err_answer_long", "n", strconv.Itoa(maxAnswerRunes))
		case text == "":
			text = answer
		default:
			text += "*" + answer
		}
		if msg == "" && len(text) > maxTextBytes {
			msg = v.T("err_session_long")
		}
		if msg != "" {
			v.Error, v.USSD = msg, prev
			return p.render(c, http.StatusUnprocessableEntity, v)
		}
	}
	screen, err := p.b.USSD(ctx, mobile, session, text)
	if err != nil {
		v.Error = p.backendError(v.words, "ussd", err)
		return p.render(c, errorStatus(err), v)
	}
	q := url.Values{
		"mobile": {mobile}, "mode": {"ussd"}, "session": {session}, "text": {text},
		"screen": {screen}, "sig": {p.sign(mobile, session, text, screen)},
	}
	return c.Redirect(b+"?"+q.Encode(), http.StatusSeeOther)
}

// asset serves the embedded stylesheet and icon.
func (p *Page) asset(c *fiber.Ctx) error {
	name := c.Params("*")
	if !fs.ValidPath(name) || name == "." {
		return c.Status(http.StatusNotFound).SendString("not found")
	}
	data, err := fs.ReadFile(p.static, name)
	if err != nil {
		return c.Status(http.StatusNotFound).SendString("not found")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	c.Set(fiber.HeaderContentType, ctype)
	return c.Send(data)
}

func (p *Page) render(c *fiber.Ctx, status int, v *view) error {
	keep := url.Values{}
	if _, ok := checkMobile(v.Mobile); ok {
		v.Ready = true
		v.SMSLink = v.Base + "?" + url.Values{"mobile": {v.Mobile}, "mode": {"sms"}}.Encode()
		v.USSDLink = v.Base + "?" + url.Values{"mobile": {v.Mobile}, "mode": {"ussd"}}.Encode()
	}
	if v.Mobile != "" {
		keep.Set("mobile", v.Mobile)
		keep.Set("mode", v.Mode)
	}
	if u := v.USSD; v.Mode == "ussd" && u.Shown {
		// The screen on show, signed for its mobile, session and text,
		// comes back in the page's other language.
		for k, val := range map[string]string{"session": u.Session, "text": u.Text, "screen": u.Raw, "sig": u.Sig} {
			keep.Set(k, val)
		}
	}
	v.Langs = v.langs.Links(v.Lang, v.Base, keep)
	v.Typed = v.Mobile
	for _, ph := range v.Phones {
		if ph.Mobile == v.Mobile {
			v.People, v.Typed = ph.People, ""
		}
	}
	if err := webpage.Render(c, p.tmpl, "page.html", status, v); err != nil {
		p.log.Error("simulator: render", "err", err)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(http.StatusInternalServerError).SendString(v.T("err_render"))
	}
	return nil
}

// backendError is what the page says about err, in w: never its text,
// which may hold internal details (the log has it, without the mobile).
func (p *Page) backendError(w webpage.Words, op string, err error) string {
	p.log.Warn("simulator: gateway error", "op", op, "err", err)
	var pub interface{ PublicMessage() string }
	switch {
	case errors.As(err, &pub) && pub.PublicMessage() != "":
		return w.Text("err_gateway", "reason", pub.PublicMessage())
	case errors.Is(err, context.DeadlineExceeded):
		return w.Text("err_gateway_timeout")
	case errors.Is(err, context.Canceled):
		return w.Text("err_gateway_cancelled")
	default:
		return w.Text("err_gateway_internal")
	}
}

// errorStatus is the status of a page showing a backend error.
func errorStatus(err error) int {
	if errors.As(err, new(interface{ PublicMessage() string })) {
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadGateway
}

// sameOrigin reports whether a form was posted from this site (or by a
// client that does not say): these forms make the gateway answer, and it
// may send real SMS, so another site must not post them.
func sameOrigin(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// checkMobile returns the mobile to use; not ok when raw is no phone
// number (the page then says err_mobile). The gateway checks it fully.
func checkMobile(raw string) (string, bool) {
	if raw == "" || len(raw) > 20 {
		return "", false
	}
	digits := 0
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
		default:
			return "", false
		}
	}
	if digits < 7 || digits > 15 {
		return "", false
	}
	return raw, true
}

// value is the query or form value key, copied: fiber's strings live only
// as long as the request, and a backend may keep what it is given.
func value(c *fiber.Ctx, key string) string {
	if c.Method() == fiber.MethodPost {
		return strings.Clone(c.FormValue(key))
	}
	return strings.Clone(c.Query(key))
}

// tail keeps the latest messages and counts the ones left out.
func tail(msgs []Message, earlier *int) []Message {
	if n := len(msgs) - shownMessages; n > 0 {
		*earlier = n
		return msgs[n:]
	}
	return msgs
}

// parseScreen splits a USSD answer into its text and whether the session
// goes on ("CON …") or is over ("END …", or anything else).
func parseScreen(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "CON "); ok {
		return rest, true
	}
	if rest, ok := strings.CutPrefix(s, "END "); ok {
		return rest, false
	}
	return s, false
}

func newSessionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "sim-" + hex.EncodeToString(b)
}

// validSession accepts the session ids this page makes and other short
// printable ones.
func validSession(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// sign binds a USSD screen to its mobile, session and text, so a link
// cannot make the page show a screen the gateway never answered.
func (p *Page) sign(mobile, session, text, screen string) string {
	m := hmac.New(sha256.New, p.key)
	for _, s := range []string{mobile, session, text, screen} {
		fmt.Fprintf(m, "%d:%s;", len(s), s)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (p *Page) validSig(sig, mobile, session, text, screen string) bool {
	return sig != "" && hmac.Equal([]byte(sig), []byte(p.sign(mobile, session, text, screen)))
}
