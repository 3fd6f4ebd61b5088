package webpage

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Languages are the languages a page speaks and how a request picks one:
// a "?lang=" link, remembered in a cookie.
type Languages struct {
	Codes   []string         // as LoadLanguages gives them; the first is the default
	Words   map[string]Words // the strings of each of Codes
	Cookie  string           // the cookie that remembers the choice
	Cookies Cookies          // the page's
}

// LangLink is one link of a page's language switch.
type LangLink struct {
	Code, Name, Href string
	Current          bool
}

// rememberLang is how long a chosen language is remembered: a year, so
// that a returning user is not asked again.
const rememberLang = 365 * 24 * 3600

// Choose is the request's language: its "?lang=" when that is one of
// Codes (then remembered), else the remembered one, else the default.
func (l Languages) Choose(c *fiber.Ctx) string {
	remembered := l.Cookies.Get(c, l.Cookie)
	if q := c.Query("lang"); q != "" && slices.Contains(l.Codes, q) {
		if q != remembered {
			// Lax: a link from elsewhere still opens the page in the
			// language last chosen.
			l.Cookies.Set(c, l.Cookie, q, rememberLang, http.SameSiteLaxMode)
		}
		return strings.Clone(q)
	}
	if slices.Contains(l.Codes, remembered) {
		return remembered
	}
	return l.Codes[0]
}

// Links is the language switch of the page at path, current marked. Each
// link keeps the first non-empty value of each key of keep (nil for none),
// so that switching language loses nothing typed.
func (l Languages) Links(current, path string, keep url.Values) []LangLink {
	out := make([]LangLink, 0, len(l.Codes))
	for _, code := range l.Codes {
		q := url.Values{}
		for k, vs := range keep {
			if len(vs) > 0 && vs[0] != "" {
				q.Set(k, vs[0])
			}
		}
		q.Set("lang", code)
		out = append(out, LangLink{Code: code, Name: l.Words[code].Text("lang_name"), Href: path + "?" + q.Encode(), Current: code == current})
	}
	return out
}
