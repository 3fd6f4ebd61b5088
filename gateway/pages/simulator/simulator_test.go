package simulator

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/langs"
)

// publicError is a validation error meant for a person, as the gateway's.
type publicError struct{ msg string }

func (e *publicError) Error() string         { return "mobile: " + e.msg }
func (e *publicError) PublicMessage() string { return e.msg }

// fakeBackend answers like the gateway for the demo mobiles.
type fakeBackend struct {
	mu        sync.Mutex
	languages []string // configured, the default first
	phonesErr error
	fail      map[string]error // by mobile, for every call
	convs     map[string][]Message
	sent      []string   // mobile + " " + body
	ussd      [][]string // mobile, sessionID, text
}

var fakePhones = []Phone{
	{Mobile: "+919876500001", People: []string{"Asha Patil", "Suresh Patil"}},
	{Mobile: "+919876500002", People: []string{"रमेश कुमार", "सुनीता देवी"}},
	{Mobile: "+919876500006", People: []string{"Joseph D'Souza"}},
}

var fakeScreens = map[string]string{
	"":    "CON 1 Status\n2 Appointment\n3 Resend security code\n4 Certificate\n5 Language",
	"1":   "CON Choose the person:\n1 Asha Patil\n2 Suresh Patil",
	"1*2": "END Suresh Patil: partially vaccinated, doses taken: 1",
}

// newFake is configured for every language, English first.
func newFake() *fakeBackend {
	return &fakeBackend{languages: langs.Codes(), fail: map[string]error{}, convs: map[string][]Message{}}
}

func (f *fakeBackend) Languages() []string { return f.languages }

func (f *fakeBackend) Phones(context.Context) ([]Phone, error) {
	if f.phonesErr != nil {
		return nil, f.phonesErr
	}
	return fakePhones, nil
}

func (f *fakeBackend) SendSMS(_ context.Context, mobile, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[mobile]; err != nil {
		return err
	}
	f.sent = append(f.sent, mobile+" "+body)
	at := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	reply := "Unknown keyword. Send HELP."
	switch strings.ToUpper(body) {
	case "STATUS":
		reply = "Asha Patil: not vaccinated\nSuresh Patil: partially vaccinated"
	case "HELP":
		reply = "Send STATUS, SLIP, CODE, CERT, LANG HI|MR|EN, STOP, START."
	}
	if strings.Contains(body, "<") {
		reply = "You sent: " + body
	}
	f.convs[mobile] = append(f.convs[mobile],
		Message{In: true, Body: body, At: at, Status: "received"},
		Message{Body: reply, At: at, Status: "queued"})
	return nil
}

func (f *fakeBackend) Conversation(_ context.Context, mobile string) ([]Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[mobile]; err != nil {
		return nil, err
	}
	return slices.Clone(f.convs[mobile]), nil
}

func (f *fakeBackend) USSD(_ context.Context, mobile, sessionID, text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[mobile]; err != nil {
		return "", err
	}
	f.ussd = append(f.ussd, []string{mobile, sessionID, text})
	if s, ok := fakeScreens[text]; ok {
		return s, nil
	}
	return "CON Invalid choice.\n" + strings.TrimPrefix(fakeScreens[""], "CON "), nil
}

// rig is the page mounted on a bare fiber app, asked by a client that
// keeps the cookies it is given, as a browser does.
type rig struct {
	t       *testing.T
	app     *fiber.App
	b       *fakeBackend
	cookies map[string]*http.Cookie
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigWith(t, newFake())
}

// newRigWith mounts the page over b, with two mobiles that fail.
func newRigWith(t *testing.T, b *fakeBackend) *rig {
	t.Helper()
	b.fail["+919999900000"] = &publicError{"This mobile number is not accepted."}
	b.fail["+919999900001"] = errors.New("redis: dial tcp: redis://admin:hunter2@10.0.0.5:6379 refused")
	p, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	p.log = slog.New(slog.DiscardHandler)
	app := fiber.New()
	p.Mount(app)
	return &rig{t: t, app: app, b: b, cookies: map[string]*http.Cookie{}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r *rig) do(req *http.Request) response {
	r.t.Helper()
	for _, c := range r.cookies {
		req.AddCookie(c)
	}
	res, err := r.app.Test(req, -1)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.cookies != nil {
		for _, c := range res.Cookies() {
			if c.MaxAge < 0 {
				delete(r.cookies, c.Name)
			} else {
				r.cookies[c.Name] = c
			}
		}
	}
	return response{res.StatusCode, res.Header, string(b)}
}

func (r *rig) get(target string) response {
	r.t.Helper()
	return r.do(httptest.NewRequest(http.MethodGet, target, nil))
}

func (r *rig) post(target string, form url.Values) response {
	r.t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r.do(req)
}

// follow posts a form and, on a redirect, gets where it leads.
func (r *rig) follow(target string, form url.Values) response {
	r.t.Helper()
	res := r.post(target, form)
	if res.status != http.StatusSeeOther {
		return res
	}
	loc := res.header.Get("Location")
	if !strings.HasPrefix(loc, "/simulator?") {
		r.t.Fatalf("redirect to %q", loc)
	}
	return r.get(loc)
}

func TestPhonesListed(t *testing.T) {
	r := newRig(t)
	res := r.get("/simulator")
	if res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	for _, want := range []string{
		`<html lang="en">`,
		`<option value="&#43;919876500001">&#43;919876500001 — Asha Patil, Suresh Patil</option>`,
		`>&#43;919876500002 — रमेश कुमार, सुनीता देवी</option>`,
		`Joseph D&#39;Souza</option>`,
		`<label for="phone-list">`, `<label for="mobile-typed">`,
		`href="/simulator/static/simulator.css"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// No inline script or style: the CSP allows neither.
	for _, bad := range []string{"<script", "<style", " style=", " onclick="} {
		if strings.Contains(res.body, bad) {
			t.Errorf("page has %q", bad)
		}
	}

	// A demo mobile chosen from the list is selected, its people shown.
	res = r.get("/simulator?phone=%2B919876500001&mode=sms")
	for _, want := range []string{`<option value="&#43;919876500001" selected>`, `<p class="people">Asha Patil, Suresh Patil</p>`, `id="body"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("chosen phone: page lacks %q", want)
		}
	}

	r.b.phonesErr = errors.New("store: secret-token-123 timeout")
	res = r.get("/simulator")
	if res.status != http.StatusOK || !strings.Contains(res.body, "The gateway could not answer: an internal error") || strings.Contains(res.body, "secret-token") {
		t.Errorf("phones error: status %d, body %s", res.status, excerpt(res.body))
	}
}

func TestSMS(t *testing.T) {
	for _, tc := range []struct {
		name, mobile, body string
		wantStatus         int
		wantSent           string // what SendSMS got, "" for no call
		want, notWant      []string
	}{
		{
			name: "status", mobile: "+919876500001", body: "STATUS", wantStatus: 200, wantSent: "+919876500001 STATUS",
			want: []string{
				`<li class="msg in">`, `<span class="who">You</span>`, `<p class="body">STATUS</p>`,
				`<li class="msg out">`, `<span class="who">Sandesh</span>`,
				"<p class=\"body\">Asha Patil: not vaccinated\nSuresh Patil: partially vaccinated</p>",
				`24 Nov 2026, 10:30</time> · queued`,
			},
		},
		{name: "trimmed", mobile: " +919876500001 ", body: "  help \n", wantStatus: 200, wantSent: "+919876500001 help", want: []string{`<p class="body">help</p>`}},
		{name: "typed mobile", mobile: "98765 00003", body: "STATUS", wantStatus: 200, wantSent: "98765 00003 STATUS"},
		{
			name: "script is text", mobile: "+919876500006", body: `<script>alert(1)</script>`, wantStatus: 200,
			wantSent: "+919876500006 <script>alert(1)</script>",
			want:     []string{`&lt;script&gt;alert(1)&lt;/script&gt;`, `You sent: &lt;script&gt;`},
			notWant:  []string{"<script>"},
		},
		{name: "empty body", mobile: "+919876500001", body: "", wantStatus: 422, want: []string{`role="alert">Type a message before sending`}},
		{name: "blank body", mobile: "+919876500001", body: " \t\n", wantStatus: 422, want: []string{"Type a message before sending"}},
		{name: "too long", mobile: "+919876500001", body: strings.Repeat("a", 1601), wantStatus: 422, want: []string{"at most 1600 characters"}},
		{name: "no mobile", mobile: "", body: "STATUS", wantStatus: 422, want: []string{"Choose a demo mobile, or type a mobile number"}, notWant: []string{`id="body"`}},
		{name: "letters", mobile: "1-800-FLOWERS", body: "STATUS", wantStatus: 422, want: []string{"Choose a demo mobile, or type a mobile number"}},
		{name: "too short", mobile: "12345", body: "STATUS", wantStatus: 422, want: []string{"Choose a demo mobile"}},
		{
			name: "rejected mobile", mobile: "+919999900000", body: "STATUS", wantStatus: 422,
			want: []string{"The gateway could not answer: This mobile number is not accepted."},
		},
		{
			name: "backend failure", mobile: "+919999900001", body: "STATUS", wantStatus: 502,
			want:    []string{"The gateway could not answer: an internal error (see the server log)."},
			notWant: []string{"hunter2", "redis", "10.0.0.5"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			res := r.follow("/simulator/sms", url.Values{"mobile": {tc.mobile}, "body": {tc.body}})
			if res.status != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", res.status, tc.wantStatus, excerpt(res.body))
			}
			var want []string
			if tc.wantSent != "" {
				want = []string{tc.wantSent}
			}
			if !slices.Equal(r.b.sent, want) {
				t.Errorf("sent %q, want %q", r.b.sent, want)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(res.body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

func TestConversationError(t *testing.T) {
	for _, tc := range []struct {
		query, want string
		status      int
	}{
		{"mobile=%2B919999900000", "The gateway could not answer: This mobile number is not accepted.", 422},
		{"mobile=%2B919999900001", "The gateway could not answer: an internal error", 502},
		{"mobile=abc", "Choose a demo mobile, or type a mobile number", 422},
		{"mobile=%2B919876500001", "No messages yet. Send STATUS to begin.", 200},
	} {
		r := newRig(t)
		res := r.get("/simulator?" + tc.query)
		if res.status != tc.status || !strings.Contains(res.body, tc.want) || strings.Contains(res.body, "hunter2") {
			t.Errorf("%s: status %d, want %d and %q: %s", tc.query, res.status, tc.status, tc.want, excerpt(res.body))
		}
	}
}

var hidden = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)

// ussdForm is the hidden state of the answer form on a page.
func ussdForm(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		if v.Get(m[1]) == "" {
			v.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	return v
}

func TestUSSDFlow(t *testing.T) {
	r := newRig(t)
	const mobile = "+919876500001"
	page := r.get("/simulator?mode=ussd&mobile=%2B919876500001")
	if !strings.Contains(page.body, "Dial to open the USSD menu.") || !strings.Contains(page.body, `value="dial"`) {
		t.Fatalf("before dialling: %s", excerpt(page.body))
	}
	steps := []struct {
		answer     string // "" dials
		wantText   string
		wantScreen string
		open       bool
	}{
		{"", "", "1 Status\n2 Appointment", true},
		{"1", "1", "Choose the person:\n1 Asha Patil\n2 Suresh Patil", true},
		{" 2 ", "1*2", "Suresh Patil: partially vaccinated, doses taken: 1", false},
	}
	var session string
	for i, s := range steps {
		form := url.Values{"mobile": {mobile}, "action": {"dial"}}
		if s.answer != "" {
			form = ussdForm(t, page.body)
			form.Set("action", "answer")
			form.Set("answer", s.answer)
		}
		page = r.follow("/simulator/ussd", form)
		if page.status != http.StatusOK {
			t.Fatalf("step %d: status %d: %s", i, page.status, excerpt(page.body))
		}
		call := r.b.ussd[len(r.b.ussd)-1]
		if i == 0 {
			session = call[1]
		}
		if call[0] != mobile || call[1] != session || call[2] != s.wantText {
			t.Errorf("step %d: USSD(%q, %q, %q), want text %q in session %q", i, call[0], call[1], call[2], s.wantText, session)
		}
		if !strings.Contains(page.body, s.wantScreen) {
			t.Errorf("step %d: screen lacks %q: %s", i, s.wantScreen, excerpt(page.body))
		}
		if strings.Contains(page.body, `class="ussd-text">CON`) || strings.Contains(page.body, `class="ussd-text">END`) {
			t.Errorf("step %d: screen shows its CON/END prefix", i)
		}
		hasAnswer := strings.Contains(page.body, `id="answer"`)
		if hasAnswer != s.open {
			t.Errorf("step %d: answer input shown %v, want %v", i, hasAnswer, s.open)
		}
		wantState := "Session ended."
		if s.open {
			wantState = "Session open"
		}
		if !strings.Contains(page.body, wantState) {
			t.Errorf("step %d: page lacks %q", i, wantState)
		}
	}
	if !strings.Contains(page.body, ">Dial again</button>") {
		t.Errorf("END screen offers no dial again: %s", excerpt(page.body))
	}
	if len(r.b.ussd) != 3 {
		t.Errorf("%d USSD requests, want 3", len(r.b.ussd))
	}

	// Dialling again starts a new session from the main menu.
	page = r.follow("/simulator/ussd", url.Values{"mobile": {mobile}, "action": {"dial"}})
	call := r.b.ussd[len(r.b.ussd)-1]
	if call[1] == session || call[2] != "" || !strings.Contains(page.body, "1 Status") {
		t.Errorf("dial again: USSD(%q) in session %q (old %q)", call[2], call[1], session)
	}
}

func TestUSSDInput(t *testing.T) {
	const mobile = "+919876500001"
	for _, tc := range []struct {
		name       string
		edit       func(url.Values)
		wantStatus int
		want       string
	}{
		{"empty answer", func(v url.Values) { v.Set("answer", "  ") }, 422, "Type an answer"},
		{"long answer", func(v url.Values) { v.Set("answer", strings.Repeat("1", 161)) }, 422, "at most 160 characters"},
		{"bad session", func(v url.Values) { v.Set("sessionId", "<x>") }, 422, "This USSD session is not valid"},
		{"long session", func(v url.Values) { v.Set("text", strings.Repeat("1*", 500)) }, 422, "This USSD session is too long"},
		{"no mobile", func(v url.Values) { v.Del("mobile") }, 422, "Choose a demo mobile"},
		{"rejected mobile", func(v url.Values) { v.Set("mobile", "+919999900000") }, 422, "The gateway could not answer: This mobile number is not accepted."},
		{"backend failure", func(v url.Values) { v.Set("mobile", "+919999900001") }, 502, "The gateway could not answer: an internal error"},
		{"invalid choice", func(v url.Values) { v.Set("answer", "9") }, 200, "Invalid choice."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			page := r.follow("/simulator/ussd", url.Values{"mobile": {mobile}, "action": {"dial"}})
			form := ussdForm(t, page.body)
			form.Set("action", "answer")
			form.Set("answer", "1")
			tc.edit(form)
			calls := len(r.b.ussd)
			res := r.follow("/simulator/ussd", form)
			if res.status != tc.wantStatus || !strings.Contains(res.body, tc.want) {
				t.Errorf("status %d, want %d and %q: %s", res.status, tc.wantStatus, tc.want, excerpt(res.body))
			}
			if tc.wantStatus == 422 && len(r.b.ussd) != calls {
				t.Errorf("refused input reached the gateway: %q", r.b.ussd[calls:])
			}
			if tc.name == "empty answer" && (!strings.Contains(res.body, "1 Status") || !strings.Contains(res.body, `id="answer"`)) {
				t.Errorf("empty answer: the menu is not kept: %s", excerpt(res.body))
			}
		})
	}
}

// A screen in a link is shown only when this page put it there.
func TestUSSDScreenSigned(t *testing.T) {
	r := newRig(t)
	q := url.Values{"mobile": {"+919876500001"}, "mode": {"ussd"}, "session": {"sim-1"}, "text": {""},
		"screen": {"END Your account is blocked, call +1 555"}, "sig": {"forged"}}
	res := r.get("/simulator?" + q.Encode())
	if strings.Contains(res.body, "blocked") || !strings.Contains(res.body, "This USSD screen has expired") {
		t.Errorf("forged screen: %s", excerpt(res.body))
	}
}

func TestHeaders(t *testing.T) {
	r := newRig(t)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		method     string
		target     string
		form       url.Values
		wantStatus int
		wantType   string
	}{
		{"page", "GET", "/simulator", nil, 200, "text/html"},
		{"trailing slash", "GET", "/simulator/", nil, 200, "text/html"},
		{"sms page", "GET", "/simulator?mobile=%2B919876500001", nil, 200, "text/html"},
		{"ussd page", "GET", "/simulator?mobile=%2B919876500001&mode=ussd", nil, 200, "text/html"},
		{"bad mobile", "GET", "/simulator?mobile=x", nil, 422, "text/html"},
		{"send", "POST", "/simulator/sms", form("mobile", "+919876500001", "body", "STATUS"), 303, ""},
		{"send empty", "POST", "/simulator/sms", form("mobile", "+919876500001"), 422, "text/html"},
		{"send failing", "POST", "/simulator/sms", form("mobile", "+919999900001", "body", "STATUS"), 502, "text/html"},
		{"dial", "POST", "/simulator/ussd", form("mobile", "+919876500001", "action", "dial"), 303, ""},
		{"stylesheet", "GET", "/simulator/static/simulator.css", nil, 200, "text/css"},
		{"icon", "GET", "/simulator/static/phone.svg", nil, 200, "image/svg+xml"},
		{"missing asset", "GET", "/simulator/static/nope.js", nil, 404, ""},
		{"asset traversal", "GET", "/simulator/static/../page.html", nil, 404, ""},
		{"wrong method", "GET", "/simulator/sms", nil, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res response
			if tc.method == "POST" {
				res = r.post(tc.target, tc.form)
			} else {
				res = r.get(tc.target)
			}
			if res.status != tc.wantStatus {
				t.Errorf("status %d, want %d", res.status, tc.wantStatus)
			}
			if !strings.HasPrefix(res.header.Get("Content-Type"), tc.wantType) {
				t.Errorf("Content-Type %q, want %q", res.header.Get("Content-Type"), tc.wantType)
			}
			for _, h := range securityHeaders {
				if got := res.header.Get(h[0]); got != h[1] {
					t.Errorf("%s: %q, want %q", h[0], got, h[1])
				}
			}
		})
	}
	if got := securityHeaders[0][1]; got != "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" {
		t.Errorf("CSP %q", got)
	}
}

// A form posted from another site is refused: it would make the gateway
// answer, and maybe send a real SMS.
func TestCrossSitePost(t *testing.T) {
	r := newRig(t)
	for _, target := range []string{"/simulator/sms", "/simulator/ussd"} {
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader("mobile=%2B919876500001&body=STATUS&action=dial"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if res := r.do(req); res.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", target, res.status)
		}
	}
	if len(r.b.sent)+len(r.b.ussd) != 0 {
		t.Errorf("cross-site post reached the gateway: %q %q", r.b.sent, r.b.ussd)
	}
}

// Mounted on a group, the page's links and redirects keep its prefix.
func TestMountedOnGroup(t *testing.T) {
	p, err := New(newFake())
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	p.Mount(app.Group("/demo"))
	r := &rig{t: t, app: app}
	res := r.get("/demo/simulator?mobile=%2B919876500001")
	for _, want := range []string{`action="/demo/simulator/sms"`, `href="/demo/simulator/static/simulator.css"`, `href="/demo/simulator?mobile=%2B919876500001&amp;mode=ussd"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	res = r.post("/demo/simulator/sms", url.Values{"mobile": {"+919876500001"}, "body": {"STATUS"}})
	if loc := res.header.Get("Location"); loc != "/demo/simulator?mobile=%2B919876500001&mode=sms" {
		t.Errorf("redirect to %q", loc)
	}
	if res.header.Get("X-Frame-Options") != "DENY" {
		t.Error("no security headers under the group")
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, "<main>"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 1500 {
		s = s[:1500] + "…"
	}
	return s
}
