package simulator

import (
	"html"
	"html/template"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage"
	"sandesh/gateway/pages/webpage/webpagetest"
	"sandesh/langs"
)

// Every language file has en.txt's keys with the same {placeholders}, all
// twelve languages have one, and every text of each is in its own script
// (keywords, SMS and digits stay ASCII beside the words).
func TestStringsFiles(t *testing.T) {
	en, err := webpage.LoadWords(assets, stringsDir, "en")
	if err != nil {
		t.Fatal(err)
	}
	webpagetest.CheckStrings(t, assets, stringsDir, len(langs.Codes()), slices.Sorted(maps.Keys(en))...)
}

// The page in each language: <html lang>, its own heading and title, the
// switch to every language, LANG buttons for the page's language and
// English (the next language on an English page), and what the phone shows.
func TestEveryLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, heading string
		langButtons   []string
	}{
		{"en", "Sandesh phone simulator", []string{"LANG EN", "LANG HI"}},
		{"hi", "संदेश फ़ोन सिम्युलेटर", []string{"LANG HI", "LANG EN"}},
		{"mr", "संदेश फोन सिम्युलेटर", []string{"LANG MR", "LANG EN"}},
		{"bn", "সন্দেশ ফোন সিমুলেটর", []string{"LANG BN", "LANG EN"}},
		{"ta", "சந்தேஷ் கைபேசி சிமுலேட்டர்", []string{"LANG TA", "LANG EN"}},
		{"te", "సందేశ్ ఫోన్ సిమ్యులేటర్", []string{"LANG TE", "LANG EN"}},
		{"gu", "સંદેશ ફોન સિમ્યુલેટર", []string{"LANG GU", "LANG EN"}},
		{"kn", "ಸಂದೇಶ್ ಫೋನ್ ಸಿಮ್ಯುಲೇಟರ್", []string{"LANG KN", "LANG EN"}},
		{"ml", "സന്ദേശ് ഫോൺ സിമുലേറ്റർ", []string{"LANG ML", "LANG EN"}},
		{"or", "ସନ୍ଦେଶ ଫୋନ ସିମୁଲେଟର", []string{"LANG OR", "LANG EN"}},
		{"pa", "ਸੰਦੇਸ਼ ਫ਼ੋਨ ਸਿਮੂਲੇਟਰ", []string{"LANG PA", "LANG EN"}},
		{"as", "সন্দেশ ফ'ন ছিমুলেটৰ", []string{"LANG AS", "LANG EN"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			w, err := webpage.LoadWords(assets, stringsDir, tc.lang)
			if err != nil {
				t.Fatal(err)
			}
			r := newRig(t)
			res := r.get("/simulator?lang=" + tc.lang)
			if res.status != http.StatusOK {
				t.Fatalf("status %d", res.status)
			}
			webpagetest.CheckLanguage(t, res.body, tc.lang, "/simulator", langs.Codes())
			wantIn(t, res.body, "<h1>"+esc(tc.heading)+"</h1>",
				"<title>"+esc(w["title"])+"</title>",
				`<label for="phone-list">`+esc(w["demo_label"])+"</label>",
				`<p class="placeholder">`+esc(w["switch_on"])+"</p>",
				`<h2 id="help-title">`+esc(w["help_heading"])+"</h2>",
				"EN, HI, MR, BN, TA, TE, GU, KN, ML, OR, PA, AS") // the codes LANG takes, in the help

			// The conversation, in the page's language: the cookie keeps it.
			res = r.follow("/simulator/sms", url.Values{"mobile": {"+919876500001"}, "body": {"STATUS"}})
			if res.status != http.StatusOK || webpagetest.Lang(res.body) != tc.lang {
				t.Fatalf("after sending: status %d, page in %q", res.status, webpagetest.Lang(res.body))
			}
			wantIn(t, res.body,
				`<span class="who">`+esc(w["you"])+"</span>",
				`<span class="who">`+esc(w["sandesh"])+"</span>",
				">24 "+w["month_11"]+" 2026, 10:30</time> · "+esc(w["status_received"])+"</p>",
				">24 "+w["month_11"]+" 2026, 10:30</time> · "+esc(w["status_queued"])+"</p>",
				`aria-label="`+esc(w["conversation_label"])+`"`)
			var buttons []string
			for _, kw := range keywordButtons(res.body) {
				if strings.HasPrefix(kw, "LANG ") {
					buttons = append(buttons, kw)
				}
			}
			if !slices.Equal(buttons, tc.langButtons) {
				t.Errorf("LANG buttons %q, want %q", buttons, tc.langButtons)
			}

			// An error the page finds, and the USSD screen's words.
			res = r.follow("/simulator/sms", url.Values{"mobile": {"+919876500001"}, "body": {" "}})
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("empty message: status %d", res.status)
			}
			wantIn(t, res.body, `role="alert">`+esc(w["err_body_empty"])+"</p>")
			res = r.follow("/simulator/ussd", url.Values{"mobile": {"+919876500001"}, "action": {"dial"}})
			wantIn(t, res.body, `<p class="ussd-state">`+esc(w["session_open"])+"</p>",
				`aria-label="`+esc(w["answer_key"][:strings.Index(w["answer_key"], "{key}")])+`1"`,
				">"+esc(w["dial_again_button"])+"</button>")
		})
	}
}

// "?lang=" switches the page's language and a cookie remembers it for a
// year, for the whole page (its forms and their answers included); an
// unknown language changes nothing.
func TestLanguageSwitch(t *testing.T) {
	r := newRig(t)
	res := r.get("/simulator?lang=hi")
	webpagetest.CheckLanguage(t, res.body, "hi", "/simulator", langs.Codes())
	got := cookiesOf(res)
	webpagetest.CheckCookies(t, got, "/simulator", false, webpagetest.Cookie{Name: langCookie, SameSite: http.SameSiteLaxMode})
	if c := got[langCookie]; c == nil || c.Value != "hi" || c.MaxAge != 365*24*3600 {
		t.Fatalf("language cookie %v, want hi for a year", c)
	}

	for _, tc := range []struct {
		name, target string
		wantLang     string
		wantCookie   bool
	}{
		{"remembered", "/simulator", "hi", false},
		{"chosen again", "/simulator?lang=hi", "hi", false},
		{"unknown", "/simulator?lang=xx", "hi", false},
		{"not a code", "/simulator?lang=..%2Fen", "hi", false},
		{"with a mobile", "/simulator?mobile=%2B919876500001&mode=ussd", "hi", false},
	} {
		res := r.get(tc.target)
		if got := webpagetest.Lang(res.body); got != tc.wantLang || (res.header.Get("Set-Cookie") != "") != tc.wantCookie {
			t.Errorf("%s: page in %q, Set-Cookie %q; want %s", tc.name, got, res.header.Get("Set-Cookie"), tc.wantLang)
		}
	}

	// The forms' answers are in the chosen language, the refusal of a
	// cross-site form included.
	hi, _ := webpage.LoadWords(assets, stringsDir, "hi")
	res = r.post("/simulator/sms", url.Values{"mobile": {"12"}, "body": {"STATUS"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `role="alert">`+esc(hi["err_mobile"])) {
		t.Errorf("bad mobile: %d %s", res.status, excerpt(res.body))
	}
	req := httptest.NewRequest(http.MethodPost, "/simulator/ussd", strings.NewReader("mobile=%2B919876500001&action=dial"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := r.do(req); res.status != http.StatusForbidden || res.body != hi["err_cross_site"] {
		t.Errorf("cross-site form: %d %q, want 403 %q", res.status, res.body, hi["err_cross_site"])
	}

	res = r.get("/simulator?lang=en")
	if webpagetest.Lang(res.body) != "en" || cookiesOf(res)[langCookie].Value != "en" {
		t.Errorf("back to English: page in %q, Set-Cookie %q", webpagetest.Lang(res.body), res.header.Get("Set-Cookie"))
	}
	if res = r.get("/simulator"); webpagetest.Lang(res.body) != "en" {
		t.Errorf("English not remembered: page in %q", webpagetest.Lang(res.body))
	}
}

// The cookie is Secure when the page is served over https, and lives
// where the page is mounted.
func TestLanguageCookie(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		https        bool
	}{
		{"http", "", false},
		{"https", "", true},
		{"group", "/demo", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(newFake())
			if err != nil {
				t.Fatal(err)
			}
			app := fiber.New()
			p.Mount(app.Group(tc.prefix))
			r := &rig{t: t, app: app}
			req := httptest.NewRequest(http.MethodGet, tc.prefix+"/simulator?lang=ml", nil)
			if tc.https {
				req.Header.Set("X-Forwarded-Proto", "https")
			}
			res := r.do(req)
			webpagetest.CheckLanguage(t, res.body, "ml", tc.prefix+"/simulator", langs.Codes())
			webpagetest.CheckCookies(t, cookiesOf(res), tc.prefix+"/simulator", tc.https,
				webpagetest.Cookie{Name: langCookie, SameSite: http.SameSiteLaxMode})
		})
	}
}

// Switching language loses nothing: the mobile, the mode and the USSD
// screen on show, which comes back with the page around it translated.
func TestLanguageLinksKeep(t *testing.T) {
	r := newRig(t)
	res := r.get("/simulator?mobile=%2B919876500001&mode=sms")
	if got := hrefOf(t, res.body, "gu"); got != "/simulator?lang=gu&mobile=%2B919876500001&mode=sms" {
		t.Errorf("SMS page's link to gu: %s", got)
	}

	page := r.follow("/simulator/ussd", url.Values{"mobile": {"+919876500001"}, "action": {"dial"}})
	form := ussdForm(t, page.body)
	form.Set("action", "answer")
	form.Set("answer", "1")
	page = r.follow("/simulator/ussd", form)
	link := hrefOf(t, page.body, "gu")
	q, err := url.ParseQuery(link[strings.Index(link, "?")+1:])
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("mode") != "ussd" || q.Get("text") != "1" || q.Get("screen") == "" || q.Get("sig") == "" {
		t.Errorf("USSD page's link to gu loses the screen: %s", link)
	}
	gu, _ := webpage.LoadWords(assets, stringsDir, "gu")
	res = r.get(link)
	if res.status != http.StatusOK || webpagetest.Lang(res.body) != "gu" {
		t.Fatalf("gu: status %d, page in %q", res.status, webpagetest.Lang(res.body))
	}
	wantIn(t, res.body, "Choose the person:\n1 Asha Patil", `<p class="ussd-state">`+gu["session_open"]+"</p>", `id="answer"`)
	if strings.Contains(res.body, esc(gu["err_screen_expired"])) {
		t.Error("the kept screen is refused as expired")
	}
}

// The page offers the configured languages it has strings for, the first
// as its default, and LANG buttons only for them; with none, English.
func TestConfiguredLanguages(t *testing.T) {
	for _, tc := range []struct {
		configured  []string
		wantLinks   []string
		langButtons []string // on the default's page
	}{
		{[]string{"en", "hi", "mr"}, []string{"en", "hi", "mr"}, []string{"LANG EN", "LANG HI"}},
		{[]string{"mr", "en"}, []string{"mr", "en"}, []string{"LANG MR", "LANG EN"}},
		{[]string{"hi", "mr"}, []string{"hi", "mr"}, []string{"LANG HI", "LANG MR"}},
		{[]string{"ta", "ta", "en"}, []string{"ta", "en"}, []string{"LANG TA", "LANG EN"}},
		{[]string{"en"}, []string{"en"}, []string{"LANG EN"}},
		{nil, []string{"en"}, []string{"LANG EN"}},
	} {
		b := newFake()
		b.languages = tc.configured
		r := newRigWith(t, b)
		res := r.get("/simulator?mobile=%2B919876500001")
		var codes []string
		for _, l := range webpagetest.LangLinks(res.body) {
			codes = append(codes, l.Code)
		}
		if webpagetest.Lang(res.body) != tc.wantLinks[0] || !slices.Equal(codes, tc.wantLinks) {
			t.Errorf("%q: page in %q with links %q, want %q", tc.configured, webpagetest.Lang(res.body), codes, tc.wantLinks)
		}
		var buttons []string
		for _, kw := range keywordButtons(res.body) {
			if strings.HasPrefix(kw, "LANG ") {
				buttons = append(buttons, kw)
			}
		}
		if !slices.Equal(buttons, tc.langButtons) {
			t.Errorf("%q: LANG buttons %q, want %q", tc.configured, buttons, tc.langButtons)
		}
		if res = r.get("/simulator?lang=bn"); webpagetest.Lang(res.body) != tc.wantLinks[0] {
			t.Errorf("%q: a language not offered is shown", tc.configured)
		}
	}
}

// keywordButtons are the values of the quick-send buttons of a page.
func keywordButtons(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `<button type="submit" name="body" value="`)[1:] {
		out = append(out, html.UnescapeString(part[:strings.IndexByte(part, '"')]))
	}
	return out
}

// hrefOf is the page's link to itself in lang.
func hrefOf(t *testing.T, body, lang string) string {
	t.Helper()
	for _, l := range webpagetest.LangLinks(body) {
		if l.Code == lang {
			return l.Href
		}
	}
	t.Fatalf("no link to %s", lang)
	return ""
}

func cookiesOf(r response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

// esc is s as the page's template writes it in HTML text or an attribute.
func esc(s string) string {
	var b strings.Builder
	if err := escTmpl.Execute(&b, s); err != nil {
		panic(err)
	}
	return b.String()
}

var escTmpl = template.Must(template.New("esc").Parse("{{.}}"))

func wantIn(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, excerpt(body))
		}
	}
}
