// Package webpagetest is what the tests of the gateway's pages share: a
// browser-like client of a page that checks every response, the page's
// server on a free port for a real browser, and checks of cookies and
// page strings. Only tests import it.
package webpagetest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Client is a browser-like client of the routes a page mounts on a fiber
// app: it keeps cookies in a jar and checks every response it gets with
// CheckResponse. The app answers in memory (fiber's App.Test), so no port
// is taken.
type Client struct {
	t       testing.TB
	app     *fiber.App
	Jar     *cookiejar.Jar
	Site    *url.URL // where the page is; https for Secure cookies
	secrets []string
}

// Response is an answer, read: Body shadows the http.Response's body,
// which is read and closed.
type Response struct {
	*http.Response
	Body string
}

// NewClient mounts the page's routes on a new app and returns a client of
// it at site ("https://verify.test/verify"). No response may contain any
// of secrets (the API keys of the test).
func NewClient(t testing.TB, site string, mount func(fiber.Router), secrets ...string) *Client {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	mount(app)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(site)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{t: t, app: app, Jar: jar, Site: u, secrets: secrets}
}

// Get asks for path, which may have a query.
func (c *Client) Get(path string) Response { return c.Do(http.MethodGet, path, nil) }

// Visit gets each of paths in turn, as a user following links does, and
// returns the last answer.
func (c *Client) Visit(paths ...string) Response {
	c.t.Helper()
	var r Response
	for _, p := range paths {
		r = c.Get(p)
	}
	return r
}

// Post posts form to path.
func (c *Client) Post(path string, form url.Values) Response {
	return c.Do(http.MethodPost, path, form)
}

// Do sends a request with the jar's cookies, keeps the cookies of the
// answer and checks it. Redirects are not followed.
func (c *Client) Do(method, path string, form url.Values) Response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := c.Site.ResolveReference(&url.URL{Path: path})
	if p, q, ok := strings.Cut(path, "?"); ok {
		u = c.Site.ResolveReference(&url.URL{Path: p, RawQuery: q})
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := c.app.Test(req, -1)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	c.Jar.SetCookies(u, resp.Cookies())
	out := Response{resp, string(b)}
	CheckResponse(c.t, method+" "+path, out, c.secrets...)
	return out
}

// CSRF is the token of the csrf field of the page r; the test fails
// without one.
func (c *Client) CSRF(r Response) string {
	c.t.Helper()
	tok := Hidden(r.Body, "csrf")
	if tok == "" {
		c.t.Fatalf("no csrf field in\n%s", r.Body)
	}
	return tok
}

// Cookie is the cookie of name that r sets, nil when none.
func (r Response) Cookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Forget drops the cookie name of the page's path from the jar, as a
// browser does when the cookie expires.
func (c *Client) Forget(name string) {
	c.Jar.SetCookies(c.Site, []*http.Cookie{{Name: name, Value: "", Path: c.Site.Path, MaxAge: -1}})
}
