package webpage

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// MaxAPIKey is the most bytes of an API key, as the API accepts.
const MaxAPIKey = 200

// Sessions are the cookies of a page's sign-in: one holds the opaque id
// of the signed-in session, and before there is a session one holds the
// CSRF token of the sign-in form (double submit). Both are SameSite=Strict
// and last until the browser closes.
type Sessions struct {
	Cookies Cookies
	Session string // the name of the cookie of the session id
	CSRF    string // the name of the cookie of the sign-in form's token
}

// ID is the session id of the request's cookie, "" when there is none.
func (s Sessions) ID(c *fiber.Ctx) string { return s.Cookies.Get(c, s.Session) }

// SignInToken is the CSRF token of the sign-in form: the one of its
// cookie, else a new one kept in the cookie.
func (s Sessions) SignInToken(c *fiber.Ctx) string {
	tok := s.Cookies.Get(c, s.CSRF)
	if tok == "" {
		tok = NewToken()
		s.Cookies.Set(c, s.CSRF, tok, 0, http.SameSiteStrictMode)
	}
	return tok
}

// SignInAllowed says whether the sign-in form posted carries the token of
// its cookie: a form another site posts has neither.
func (s Sessions) SignInAllowed(c *fiber.Ctx) bool { return ValidCSRF(c, s.Cookies.Get(c, s.CSRF)) }

// Start keeps the id of a new session in its cookie and forgets the
// sign-in form's token, which has served.
func (s Sessions) Start(c *fiber.Ctx, id string) {
	s.Cookies.Set(c, s.Session, id, 0, http.SameSiteStrictMode)
	s.Cookies.Clear(c, s.CSRF)
}

// End forgets the session's cookie.
func (s Sessions) End(c *fiber.Ctx) { s.Cookies.Clear(c, s.Session) }

// ValidCSRF says whether the csrf field of the form posted is want; an
// empty want matches nothing.
func ValidCSRF(c *fiber.Ctx, want string) bool { return SameToken(FormValue(c, "csrf"), want) }

// APIKey is the api_key field of a sign-in form, trimmed of what a paste
// adds, and a copy; not ok when empty or longer than a key can be.
func APIKey(c *fiber.Ctx) (key string, ok bool) {
	key = strings.TrimSpace(c.FormValue("api_key"))
	if key == "" || len(key) > MaxAPIKey {
		return "", false
	}
	return strings.Clone(key), true
}

// errUnusableSession is a session a backend gave that a page cannot keep.
var errUnusableSession = errors.New("backend gave an unusable session")

// UsableSession is an error when a backend's new session cannot be kept:
// an id a cookie cannot carry, or no CSRF token to bind its forms to.
func UsableSession(id, csrf string) error {
	if !ValidCookieValue(id) || csrf == "" {
		return errUnusableSession
	}
	return nil
}
