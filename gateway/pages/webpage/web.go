// Package webpage holds what the gateway's server-rendered pages share:
// security headers, cookies, the sign-in's session and CSRF cookies, form
// values, page strings in several languages and the choice among them,
// and the frame of every page: its layout template and the base of its
// stylesheet (assets/). Tests of the pages share webpagetest.
package webpage

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// NoScriptCSP is the policy of a page with no script at all.
const NoScriptCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Guard sets the security headers of every response (csp is the
// Content-Security-Policy) and answers a failed handler itself, so that no
// error reaches the app's JSON error handler.
func Guard(csp string, h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		SecurityHeaders(c, csp)
		c.Set(fiber.HeaderCacheControl, "no-store")
		if err := h(c); err != nil {
			c.Response().ResetBody()
			c.Status(http.StatusInternalServerError)
			c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
			return c.SendString("Internal error.")
		}
		return nil
	}
}

// SecurityHeaders sets what every page sends: csp as its
// Content-Security-Policy, no framing, no type sniffing, no referrer.
func SecurityHeaders(c *fiber.Ctx, csp string) {
	c.Set("Content-Security-Policy", csp)
	c.Set("X-Frame-Options", "DENY")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
}

// Asset is an embedded static file served under a versioned URL, so that
// browsers may cache it for a day and still see a change at once.
type Asset struct {
	Body        []byte
	Href        string // path?v=<hash of Body>
	ContentType string
}

// NewAsset versions body served at path.
func NewAsset(path, contentType string, body []byte) Asset {
	sum := sha256.Sum256(body)
	return Asset{Body: body, Href: path + "?v=" + hex.EncodeToString(sum[:6]), ContentType: contentType}
}

// Serve answers with the asset.
func (a Asset) Serve(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, a.ContentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(a.Body)
}

// Cookies sets and reads the HttpOnly cookies of a page under Path.
type Cookies struct {
	Path   string
	Secure bool // the public URL is https
}

// Get is the cookie's value when it is one a cookie carries unquoted, else "".
func (Cookies) Get(c *fiber.Ctx, name string) string {
	v := c.Cookies(name)
	if !ValidCookieValue(v) {
		return ""
	}
	return strings.Clone(v)
}

// Set adds the cookie; maxAge 0 makes it last until the browser closes.
func (k Cookies) Set(c *fiber.Ctx, name, value string, maxAge int, sameSite http.SameSite) {
	ck := http.Cookie{Name: name, Value: value, Path: k.Path, MaxAge: maxAge,
		HttpOnly: true, Secure: k.Secure, SameSite: sameSite}
	c.Response().Header.Add(fiber.HeaderSetCookie, ck.String())
}

// Clear tells the browser to forget the cookie.
func (k Cookies) Clear(c *fiber.Ctx, name string) {
	k.Set(c, name, "", -1, http.SameSiteStrictMode)
}

// NewToken is 256 random bits, URL-safe.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SameToken compares a form's token with the expected one in constant
// time; an empty token matches nothing.
func SameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ValidCookieValue admits the values a cookie carries unquoted: ids and
// tokens of letters, digits and -_.~+/=.
func ValidCookieValue(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			strings.IndexByte("-_.~+/=", ch) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// FormValue is a form field, trimmed, valid UTF-8 and a copy (fiber's
// strings point into a buffer it reuses).
func FormValue(c *fiber.Ctx, key string) string {
	return strings.TrimSpace(strings.ToValidUTF8(strings.Clone(c.FormValue(key)), ""))
}

// QueryValue is a query parameter, trimmed, valid UTF-8 and a copy.
func QueryValue(c *fiber.Ctx, key string) string {
	return strings.TrimSpace(strings.ToValidUTF8(strings.Clone(c.Query(key)), ""))
}
