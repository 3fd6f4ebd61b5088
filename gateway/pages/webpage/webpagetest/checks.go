package webpagetest

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The content types of a page and of its stylesheet.
const (
	HTML = "text/html; charset=utf-8"
	CSS  = "text/css; charset=utf-8"
)

// Route is what a GET of Path answers: Status, with a Content-Type of
// Type unless that is "".
type Route struct {
	Path   string
	Status int
	Type   string
}

// CheckRoutes gets the path of each route and checks its answer; a
// redirect (a GET of a form's step) must lead to home.
func CheckRoutes(t testing.TB, c *Client, home string, routes ...Route) {
	t.Helper()
	for _, rt := range routes {
		resp := c.Get(rt.Path)
		if resp.StatusCode != rt.Status || (rt.Type != "" && resp.Header.Get("Content-Type") != rt.Type) {
			t.Errorf("GET %s: %d %q, want %d %q", rt.Path, resp.StatusCode, resp.Header.Get("Content-Type"), rt.Status, rt.Type)
		}
		if rt.Status == http.StatusSeeOther && resp.Header.Get("Location") != home {
			t.Errorf("GET %s: Location %q", rt.Path, resp.Header.Get("Location"))
		}
	}
}

// Link is a link of a page's language switch.
type Link struct {
	Code, Href string // Href unescaped
}

var langLinkRe = regexp.MustCompile(`<a href="([^"]+)" lang="([a-z]+)" hreflang="([a-z]+)"`)

// LangLinks are the links of the page's language switch, in order.
func LangLinks(body string) []Link {
	var out []Link
	for _, m := range langLinkRe.FindAllStringSubmatch(body, -1) {
		if m[2] == m[3] {
			out = append(out, Link{Code: m[2], Href: html.UnescapeString(m[1])})
		}
	}
	return out
}

// CheckLanguage checks that the page body is in lang, and that its
// language switch has a link to the page at path in each of codes, in
// order, with lang marked current.
func CheckLanguage(t testing.TB, body, lang, path string, codes []string) {
	t.Helper()
	if got := Lang(body); got != lang {
		t.Errorf("lang %q, want %s", got, lang)
	}
	var got []string
	for _, l := range LangLinks(body) {
		got = append(got, l.Code)
		if want := path + "?lang=" + url.QueryEscape(l.Code); l.Href != want {
			t.Errorf("link %s, want %s", l.Href, want)
		}
	}
	if !slices.Equal(got, codes) || strings.Count(body, "hreflang=") != len(codes) {
		t.Errorf("links %v (%d hreflang), want %v", got, strings.Count(body, "hreflang="), codes)
	}
	if !strings.Contains(body, `lang="`+lang+`" hreflang="`+lang+`" aria-current="true"`) {
		t.Errorf("current language not marked")
	}
}

// WithToken is form with the csrf field a CSRF test sends: none for "",
// pre (the sign-in form's token, which no session takes) for
// "pre-session", else token itself.
func WithToken(form url.Values, token, pre string) url.Values {
	switch token {
	case "":
	case "pre-session":
		form.Set("csrf", pre)
	default:
		form.Set("csrf", token)
	}
	return form
}

// CheckError checks that r is a page in lang with status, showing the
// error msg; a wrong status ends the test.
func CheckError(t testing.TB, r Response, status int, msg, lang string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d\n%s", r.StatusCode, status, r.Body)
	}
	if got := ErrorText(r.Body); got != msg {
		t.Errorf("error %q, want %q", got, msg)
	}
	if got := Lang(r.Body); got != lang {
		t.Errorf("page in %q, not in %s", got, lang)
	}
}
