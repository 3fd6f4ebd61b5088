package webpage_test

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage"
	"sandesh/gateway/pages/webpage/webpagetest"
)

// tiny is a page in miniature: its template in the layout, its stylesheet
// and its strings in two languages.
var tiny = fstest.MapFS{
	"tiny.html": {Data: []byte(`{{define "title"}}{{.T "title"}}{{end}}
{{define "who"}}{{if .Who}}
<p class="who">{{.Who}}</p>
{{- end}}{{end}}
{{define "main"}}
<h1>{{.T "title"}}</h1>
{{- template "error" .}}
<form method="post" action="/tiny">
<label for="name">{{.T "title"}}</label>
<input type="text" id="name" name="name"{{if .Error}} aria-invalid="true" aria-describedby="error"{{end}}>
</form>
{{- end}}
`)},
	"tiny.css":      {Data: []byte("h1 { color: red; }\n")},
	"i18n/en.txt":   {Data: []byte("lang_name: English\ntitle: Tiny\nskip: Skip\nbrand: Brand\nlang_label: Language\nmonth_11: Nov\n")},
	"i18n/hi.txt":   {Data: []byte("lang_name: हिन्दी\ntitle: छोटा\nskip: छोड़ें\nbrand: ब्रांड\nlang_label: भाषा\nmonth_11: नवंबर\n")},
	"i18n/broken.x": {Data: []byte("not a language file")},
}

// tinyView is what the tiny page's template shows.
type tinyView struct {
	Lang, CSS, Who, Error string
	Langs                 []webpage.LangLink
	words                 webpage.Words
}

func (v tinyView) T(key string) string { return v.words.Text(key) }

// tinyPage mounts the tiny page at /tiny: GET shows it in the request's
// language, with the error of ?error=; a template that fails answers 500.
func tinyPage(t testing.TB, langs webpage.Languages) func(fiber.Router) {
	tmpl, err := webpage.ParseTemplate(tiny, "tiny.html")
	if err != nil {
		t.Fatal(err)
	}
	css, err := webpage.Stylesheet(tiny, "tiny.css", "/tiny/static/tiny.css")
	if err != nil {
		t.Fatal(err)
	}
	return func(r fiber.Router) {
		r.Get("/tiny", webpage.Guard(webpage.NoScriptCSP, func(c *fiber.Ctx) error {
			lang := langs.Choose(c)
			v := tinyView{Lang: lang, CSS: css.Href, Who: webpage.QueryValue(c, "who"), Error: webpage.QueryValue(c, "error"),
				Langs: langs.Links(lang, "/tiny", url.Values{"who": {webpage.QueryValue(c, "who")}}), words: langs.Words[lang]}
			return webpage.Render(c, tmpl, "page", http.StatusOK, v)
		}))
		r.Get("/tiny/broken", webpage.Guard(webpage.NoScriptCSP, func(c *fiber.Ctx) error {
			return webpage.Render(c, tmpl, "no such template", http.StatusOK, nil)
		}))
		r.Get("/tiny/static/tiny.css", webpage.Guard(webpage.NoScriptCSP, css.Serve))
		r.Get("/tiny/step", webpage.Guard(webpage.NoScriptCSP, webpage.SeeOther("/tiny")))
	}
}

func tinyLanguages(t testing.TB, configured []string) webpage.Languages {
	codes, words, err := webpage.LoadLanguages(tiny, "i18n", configured)
	if err != nil {
		t.Fatal(err)
	}
	return webpage.Languages{Codes: codes, Words: words, Cookie: "tiny_lang", Cookies: webpage.Cookies{Path: "/tiny"}}
}

// The layout makes a whole page of the tiny page's template that passes
// every check of a page's response.
func TestLayout(t *testing.T) {
	c := webpagetest.NewClient(t, "http://tiny.test/tiny", tinyPage(t, tinyLanguages(t, []string{"en", "hi"})))
	resp := c.Get("/tiny?who=" + url.QueryEscape("Desk <4>") + "&error=Wrong")
	for _, want := range []string{
		"<title>Tiny</title>",
		`<link rel="stylesheet" href="/tiny/static/tiny.css?v=`,
		`<a class="skip" href="#main">Skip</a>`,
		"<p class=\"brand\">Brand</p>\n<p class=\"who\">Desk &lt;4&gt;</p>\n</header>",
		`<a href="/tiny?lang=hi&amp;who=Desk&#43;%3C4%3E" lang="hi" hreflang="hi">हिन्दी</a>`,
		"<main id=\"main\">\n<h1>Tiny</h1>\n<p class=\"error\" id=\"error\" role=\"alert\">Wrong</p>",
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("no %s in\n%s", want, resp.Body)
		}
	}
	if got := webpagetest.InvalidFields(resp.Body); len(got) != 1 || got[0] != "name" {
		t.Errorf("invalid fields %v", got)
	}
	webpagetest.CheckLanguage(t, c.Get("/tiny?lang=hi").Body, "hi", "/tiny", []string{"en", "hi"})
	if home := c.Get("/tiny"); strings.Contains(home.Body, `class="who"`) || webpagetest.ErrorText(home.Body) != "" {
		t.Errorf("a header or an error on a page without either:\n%s", home.Body)
	}
	webpagetest.CheckRoutes(t, c, "/tiny",
		webpagetest.Route{Path: "/tiny", Status: 200, Type: webpagetest.HTML},
		webpagetest.Route{Path: "/tiny/static/tiny.css", Status: 200, Type: webpagetest.CSS},
		webpagetest.Route{Path: "/tiny/step", Status: 303},
		webpagetest.Route{Path: "/tiny/broken", Status: 500, Type: "text/plain; charset=utf-8"},
	)
}

// A page's stylesheet is base.css, then its own, in one versioned asset.
func TestStylesheet(t *testing.T) {
	a, err := webpage.Stylesheet(tiny, "tiny.css", "/tiny/static/tiny.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(a.Body)
	if !strings.HasPrefix(css, "/* What every page shares") || !strings.HasSuffix(css, "\nh1 { color: red; }\n") {
		t.Errorf("stylesheet is not base.css then the page's:\n%s", css)
	}
	if !strings.HasPrefix(a.Href, "/tiny/static/tiny.css?v=") || a.ContentType != "text/css; charset=utf-8" {
		t.Errorf("asset %s, %s", a.Href, a.ContentType)
	}
	if _, err := webpage.Stylesheet(tiny, "none.css", "/x"); err == nil {
		t.Error("no error for a missing stylesheet")
	}
	if _, err := webpage.ParseTemplate(tiny, "none.html"); err == nil {
		t.Error("no error for a missing template")
	}
}

func TestChooseLanguage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured []string
		visits     []string
		want       string
		remembered string // the cookie the last visit set, "" for none
	}{
		{"default", []string{"hi", "en"}, []string{"/tiny/lang"}, "hi", ""},
		{"asked for", []string{"en", "hi"}, []string{"/tiny/lang?lang=hi"}, "hi", "hi"},
		{"remembered", []string{"en", "hi"}, []string{"/tiny/lang?lang=hi", "/tiny/lang"}, "hi", ""},
		{"asked again: not set again", []string{"en", "hi"}, []string{"/tiny/lang?lang=hi", "/tiny/lang?lang=hi"}, "hi", ""},
		{"not configured", []string{"en"}, []string{"/tiny/lang?lang=hi"}, "en", ""},
		{"not a language", []string{"en", "hi"}, []string{"/tiny/lang?lang=../hi"}, "en", ""},
		{"no strings", []string{"mr"}, []string{"/tiny/lang?lang=mr"}, "en", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			langs := tinyLanguages(t, tc.configured)
			c := webpagetest.NewClient(t, "http://tiny.test/tiny", func(r fiber.Router) {
				r.Get("/tiny/lang", webpage.Guard(webpage.NoScriptCSP, func(c *fiber.Ctx) error { return c.SendString(langs.Choose(c)) }))
			})
			resp := c.Visit(tc.visits...)
			if resp.Body != tc.want {
				t.Errorf("language %q, want %q", resp.Body, tc.want)
			}
			ck := resp.Cookie("tiny_lang")
			if got := ""; ck != nil {
				got = ck.Value
				if got != tc.remembered || ck.MaxAge != 365*24*3600 || ck.SameSite != http.SameSiteLaxMode || !ck.HttpOnly {
					t.Errorf("language cookie %q", ck.Raw)
				}
			} else if tc.remembered != "" {
				t.Errorf("language not remembered")
			}
		})
	}
}

func TestLinks(t *testing.T) {
	langs := tinyLanguages(t, []string{"en", "hi"})
	got := langs.Links("hi", "/p/search", url.Values{"mobile": {"98765 43210", "1"}, "empty": {""}, "none": nil})
	want := []webpage.LangLink{
		{Code: "en", Name: "English", Href: "/p/search?lang=en&mobile=98765+43210"},
		{Code: "hi", Name: "हिन्दी", Href: "/p/search?lang=hi&mobile=98765+43210", Current: true},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("links %+v, want %+v", got, want)
	}
	if got := langs.Links("en", "/p", nil); got[1].Href != "/p?lang=hi" || !got[0].Current {
		t.Errorf("links without a query %+v", got)
	}
}

// The cookies of a sign-in: the sign-in form's token is kept until the
// session starts, the session's id until it ends.
func TestSessions(t *testing.T) {
	s := webpage.Sessions{Cookies: webpage.Cookies{Path: "/s", Secure: true}, Session: "s_session", CSRF: "s_csrf"}
	c := webpagetest.NewClient(t, "https://s.test/s", func(r fiber.Router) {
		r.Get("/s", webpage.Guard(webpage.NoScriptCSP, func(c *fiber.Ctx) error {
			return c.SendString(s.SignInToken(c) + " " + s.ID(c))
		}))
		r.Post("/s/signin", webpage.Guard(webpage.NoScriptCSP, func(c *fiber.Ctx) error {
			if !s.SignInAllowed(c) {
				return c.SendStatus(http.StatusForbidden)
			}
			s.Start(c, "sess1")
			return c.SendStatus(http.StatusNoContent)
		}))
		r.Post("/s/signout", webpage.Guard(webpage.NoScriptCSP, func(c *fiber.Ctx) error {
			s.End(c)
			return c.SendStatus(http.StatusNoContent)
		}))
	})
	first := c.Get("/s")
	tok, _, _ := strings.Cut(first.Body, " ")
	if ck := first.Cookie("s_csrf"); ck == nil || ck.Value != tok || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.MaxAge != 0 {
		t.Fatalf("sign-in token %q, cookie %v", tok, ck)
	}
	if again := c.Get("/s"); again.Body != tok+" " || again.Cookie("s_csrf") != nil {
		t.Errorf("a new token for the same form: %q", again.Body)
	}
	if resp := c.Post("/s/signin", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged token: %d", resp.StatusCode)
	}
	resp := c.Post("/s/signin", url.Values{"csrf": {tok}})
	if ck := resp.Cookie("s_session"); resp.StatusCode != http.StatusNoContent || ck == nil || ck.Value != "sess1" || !resp.Clears("s_csrf", "/s") {
		t.Errorf("sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if signedIn := c.Get("/s"); !strings.HasSuffix(signedIn.Body, " sess1") {
		t.Errorf("session id %q", signedIn.Body)
	}
	if out := c.Post("/s/signout", url.Values{}); !out.Clears("s_session", "/s") {
		t.Errorf("sign-out kept the session cookie")
	}
}

func TestAPIKey(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"key", "vk_live_1", "vk_live_1", true},
		{"pasted with spaces", "  vk_live_1\n", "vk_live_1", true},
		{"empty", " \t", "", false},
		{"longest", strings.Repeat("k", webpage.MaxAPIKey), strings.Repeat("k", webpage.MaxAPIKey), true},
		{"too long", strings.Repeat("k", webpage.MaxAPIKey+1), "", false},
	} {
		app := fiber.New()
		app.Post("/", func(c *fiber.Ctx) error {
			key, ok := webpage.APIKey(c)
			if key != tc.want || ok != tc.ok {
				t.Errorf("%s: %q, %v; want %q, %v", tc.name, key, ok, tc.want, tc.ok)
			}
			return nil
		})
		req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{"api_key": {tc.in}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, err := app.Test(req); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUsableSession(t *testing.T) {
	for _, tc := range []struct {
		id, csrf string
		ok       bool
	}{{"sess1", "tok", true}, {"", "tok", false}, {"a b", "tok", false}, {"sess1", "", false}} {
		if err := webpage.UsableSession(tc.id, tc.csrf); (err == nil) != tc.ok {
			t.Errorf("UsableSession(%q, %q) = %v", tc.id, tc.csrf, err)
		}
	}
}

func TestRenderError(t *testing.T) {
	tmpl := template.Must(template.New("x").Parse(`{{define "page"}}{{.Missing}}{{end}}`))
	app := fiber.New()
	var err error
	app.Get("/", func(c *fiber.Ctx) error {
		err = webpage.Render(c, tmpl, "page", http.StatusTeapot, struct{}{})
		return nil
	})
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	resp, terr := app.Test(req)
	if terr != nil {
		t.Fatal(terr)
	}
	if err == nil || !strings.Contains(err.Error(), "render page") || resp.StatusCode == http.StatusTeapot {
		t.Errorf("err %v, status %d: want an error and nothing sent", err, resp.StatusCode)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("the template's error is not wrapped")
	}
}

func TestDate(t *testing.T) {
	langs := tinyLanguages(t, []string{"en", "hi"})
	d := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	if got := langs.Words["en"].Date(d); got != "23 Nov 2026" {
		t.Errorf("en %q", got)
	}
	if got := langs.Words["hi"].Date(d); got != "23 नवंबर 2026" {
		t.Errorf("hi %q", got)
	}
}
