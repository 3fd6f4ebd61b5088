package webpagetest

import (
	"net/http"
	"testing"
)

// Cookie is how a page must set one of its cookies.
type Cookie struct {
	Name     string
	SameSite http.SameSite
	Session  bool // no Max-Age: gone when the browser closes
}

// CookiesSet are the cookies that the responses set with a value, by
// name; a later response's wins.
func CookiesSet(resps ...Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, r := range resps {
		for _, c := range r.Cookies() {
			if c.Value != "" {
				out[c.Name] = c
			}
		}
	}
	return out
}

// CheckCookies checks that each cookie of want is in got, HttpOnly under
// path, with its SameSite, Secure when secure (the page's public URL is
// https), and with a Max-Age only when it is to outlast the browser.
func CheckCookies(t testing.TB, got map[string]*http.Cookie, path string, secure bool, want ...Cookie) {
	t.Helper()
	for _, w := range want {
		c := got[w.Name]
		if c == nil {
			t.Errorf("secure=%v: no %s cookie", secure, w.Name)
			continue
		}
		if !c.HttpOnly || c.Path != path || c.SameSite != w.SameSite || c.Secure != secure || (c.MaxAge == 0) != w.Session {
			t.Errorf("secure=%v: %s cookie %q: want HttpOnly, Path=%s, SameSite %v, Secure=%v", secure, w.Name, c.Raw, path, w.SameSite, secure)
		}
	}
}

// Clears says whether r tells the browser to forget the cookie name
// under path.
func (r Response) Clears(name, path string) bool {
	c := r.Cookie(name)
	return c != nil && c.MaxAge < 0 && c.Path == path
}

// SignInCookies are the cookies of a page with a sign-in (webpage.Sessions
// and webpage.Languages): the session id and the sign-in form's CSRF
// token, SameSite=Strict until the browser closes, and the language,
// SameSite=Lax so that a link from elsewhere keeps it, for longer.
func SignInCookies(session, csrf, lang string) []Cookie {
	return []Cookie{
		{Name: session, SameSite: http.SameSiteStrictMode, Session: true},
		{Name: csrf, SameSite: http.SameSiteStrictMode, Session: true},
		{Name: lang, SameSite: http.SameSiteLaxMode},
	}
}
