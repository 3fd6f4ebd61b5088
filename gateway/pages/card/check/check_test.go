package check

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/card"
	"sandesh/gateway/pages/card/check/checktest"
	"sandesh/gateway/pages/webpage/webpagetest"
	"sandesh/langs"
)

// fakeBackend knows the cards of its tokens; "down" is a store failure.
type fakeBackend map[string]card.Card

func (f fakeBackend) Card(_ context.Context, token string) (card.Card, error) {
	if token == "down" {
		return card.Card{}, errors.New("redis: connection refused")
	}
	c, ok := f[token]
	if !ok {
		return card.Card{}, ErrNotFound
	}
	return c, nil
}

var (
	cardsOnce sync.Once
	cards     *card.Renderer
	cardsErr  error
)

func renderer(t *testing.T) *card.Renderer {
	t.Helper()
	cardsOnce.Do(func() { cards, cardsErr = card.New() })
	if cardsErr != nil {
		t.Fatal(cardsErr)
	}
	return cards
}

// now is the page's clock in the tests: 14:05 in Kolkata.
var now = time.Date(2026, time.December, 3, 8, 35, 0, 0, time.UTC)

func newApp(t *testing.T, b Backend) *fiber.App {
	t.Helper()
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(b, renderer(t), Options{Location: kolkata, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/c/:token/check", p.Handler())
	return app
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, app *fiber.App, path, acceptLanguage string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{resp.StatusCode, resp.Header, string(b)}
	checkPage(t, path, a)
	return a
}

var (
	styleRe     = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	forbiddenRe = regexp.MustCompile(`<script|\sstyle=|\son[a-z]+=|https?://|<link|<img|<form`)
)

// checkPage holds for every answer of the page: the security headers, a
// CSP whose one allowed stylesheet is the page's, a whole UTF-8 page with
// a lang and a skip link, no script, style attribute, outside URL, image
// or form, and not stored.
func checkPage(t *testing.T, what string, a answer) {
	t.Helper()
	checktest.Headers(t, what, a.header)
	m := checktest.CSP.FindStringSubmatch(a.header.Get("Content-Security-Policy"))
	if m == nil {
		t.Fatalf("%s: Content-Security-Policy %q", what, a.header.Get("Content-Security-Policy"))
	}
	styles := styleRe.FindAllStringSubmatch(a.body, -1)
	if len(styles) != 1 {
		t.Fatalf("%s: %d <style> elements, want 1", what, len(styles))
	}
	if sum := sha256.Sum256([]byte(styles[0][1])); base64.StdEncoding.EncodeToString(sum[:]) != m[1] {
		t.Errorf("%s: the CSP's hash is not the stylesheet's: a browser would drop it", what)
	}
	if !strings.HasPrefix(a.body, "<!DOCTYPE html>\n<html lang=\"") || !strings.HasSuffix(a.body, "</html>\n") {
		t.Errorf("%s: not a whole HTML page:\n%s", what, a.body)
	}
	if bad := forbiddenRe.FindString(a.body); bad != "" {
		t.Errorf("%s: page has %q", what, bad)
	}
	if !strings.Contains(a.body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Errorf("%s: no viewport: not for phones", what)
	}
	if !strings.Contains(a.body, `<a class="skip" href="#main">`) || !strings.Contains(a.body, `<main id="main">`) {
		t.Errorf("%s: no skip link to the main content", what)
	}
}

var textRe = regexp.MustCompile(`<(?:p|dd|h1)[^>]* id="([a-z-]+)"[^>]*>([^<]*)<`)

// texts are the page's texts by element id, unescaped.
func texts(body string) map[string]string {
	out := map[string]string{}
	for _, m := range textRe.FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// names are a name in the script of each language.
var names = map[string]string{
	"en": "Priya Deshmukh", "hi": "प्रिया शर्मा", "mr": "प्रिया देशमुख", "bn": "সুস্মিতা চক্রবর্তী",
	"ta": "லக்ஷ்மி சுந்தரம்", "te": "శ్రీనివాస్ రెడ్డి", "gu": "હર્ષિતા પટેલ", "kn": "ಲಕ್ಷ್ಮಿ ಗೌಡ",
	"ml": "ശ്രീലക്ഷ്മി നായർ", "or": "ସ୍ମିତା ମହାପାତ୍ର", "pa": "ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ", "as": "প্ৰিয়ংকা বৰুৱা",
}

// TestRecordInEveryLanguage: the page shows the record in the
// beneficiary's language, the status and date in the card's words, and
// when it read the record.
func TestRecordInEveryLanguage(t *testing.T) {
	r := renderer(t)
	b := fakeBackend{}
	for _, lang := range langs.Codes() {
		b["t-"+lang] = card.Card{Name: names[lang], Status: card.StatusPartially, Doses: 1, LastDoseDate: "2026-02-11", Language: lang}
	}
	app := newApp(t, b)
	for _, lang := range langs.Codes() {
		t.Run(lang, func(t *testing.T) {
			a := get(t, app, "/c/t-"+lang+"/check", "en")
			if a.status != http.StatusOK {
				t.Fatalf("status %d\n%s", a.status, a.body)
			}
			if got := webpagetest.Lang(a.body); got != lang {
				t.Errorf("page in %q, want %s", got, lang)
			}
			d := time.Date(2026, time.February, 11, 0, 0, 0, 0, time.UTC)
			got := texts(a.body)
			for id, want := range map[string]string{
				"status":    r.Status(lang, card.StatusPartially),
				"name":      names[lang],
				"doses":     "1",
				"last-dose": r.Date(lang, d),
				"live":      strings.ReplaceAll(words(t, lang)["live"], "{time}", r.Date(lang, now)+", 14:05 IST"),
			} {
				if got[id] != want {
					t.Errorf("#%s = %q, want %q", id, got[id], want)
				}
			}
			if !strings.Contains(a.body, `class="status status-partial"`) {
				t.Errorf("status not marked partial")
			}
		})
	}
}

func words(t *testing.T, lang string) map[string]string {
	t.Helper()
	p, err := New(fakeBackend{}, renderer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p.words[lang]
}

// TestRecordShown: each status, no dose yet, a language the card does not
// speak, and a name that tries to be HTML or turn the text around.
func TestRecordShown(t *testing.T) {
	app := newApp(t, fakeBackend{
		"none":    {Name: "Ravi Kumar", Status: card.StatusNot, Language: "hi-IN"},
		"full":    {Name: "Ravi Kumar", Status: card.StatusFully, Doses: 3, LastDoseDate: "2026-10-01", Language: "fr"},
		"hostile": {Name: "<script>alert(1)</script>\u202Eevil", Status: card.StatusFully, Doses: 2, LastDoseDate: "2026-10-01", Language: "en"},
	})
	for _, tc := range []struct {
		token, lang, class, status, lastDose, name string
	}{
		{"none", "hi", "status-none", "टीकाकरण नहीं", "कोई नहीं", "Ravi Kumar"},
		{"full", "en", "status-full", "Fully vaccinated", "01 Oct 2026", "Ravi Kumar"},
		{"hostile", "en", "status-full", "Fully vaccinated", "01 Oct 2026", "<script>alert(1)</script>evil"},
	} {
		a := get(t, app, "/c/"+tc.token+"/check", "")
		if a.status != http.StatusOK {
			t.Fatalf("%s: status %d", tc.token, a.status)
		}
		got := texts(a.body)
		if webpagetest.Lang(a.body) != tc.lang || got["status"] != tc.status || got["last-dose"] != tc.lastDose || got["name"] != tc.name {
			t.Errorf("%s: lang %q, status %q, last dose %q, name %q; want %s %q %q %q", tc.token,
				webpagetest.Lang(a.body), got["status"], got["last-dose"], got["name"], tc.lang, tc.status, tc.lastDose, tc.name)
		}
		if !strings.Contains(a.body, `class="status `+tc.class+`"`) {
			t.Errorf("%s: status not marked %s", tc.token, tc.class)
		}
	}
}

// TestNoRecord: an unknown link is a 404 page and a store failure a 503
// page, in the browser's language when the page speaks it, else English.
func TestNoRecord(t *testing.T) {
	app := newApp(t, fakeBackend{})
	en, ta := words(t, "en"), words(t, "ta")
	for _, tc := range []struct {
		path, acceptLanguage string
		status               int
		lang, heading, msg   string
	}{
		{"/c/0123456789abcdef0123/check", "", 404, "en", en["not_found_heading"], en["not_found"]},
		{"/c/nope/check", "ta-IN,ta;q=0.9,en;q=0.8", 404, "ta", ta["not_found_heading"], ta["not_found"]},
		{"/c/" + strings.Repeat("z", 300) + "/check", "fr-FR,fr;q=0.9", 404, "en", en["not_found_heading"], en["not_found"]},
		{"/c/down/check", "ta", 503, "ta", ta["problem_heading"], ta["unavailable"]},
	} {
		a := get(t, app, tc.path, tc.acceptLanguage)
		if a.status != tc.status {
			t.Errorf("GET %.40s: %d, want %d", tc.path, a.status, tc.status)
		}
		if got := webpagetest.Lang(a.body); got != tc.lang {
			t.Errorf("GET %.40s (%s): page in %q, want %s", tc.path, tc.acceptLanguage, got, tc.lang)
		}
		if !strings.Contains(a.body, "<h1>"+html.EscapeString(tc.heading)+"</h1>") || webpagetest.ErrorText(a.body) != tc.msg {
			t.Errorf("GET %.40s: heading or message missing:\n%s", tc.path, a.body)
		}
		if strings.Contains(a.body, `id="status"`) {
			t.Errorf("GET %.40s: shows a status", tc.path)
		}
	}
}

// Every language file has en.txt's keys with the same {placeholders}, and
// its texts are in its own script; there is one for each language.
func TestStringsFiles(t *testing.T) {
	webpagetest.CheckStrings(t, assets, stringsDir, len(langs.Codes()),
		"title", "brand", "intro", "field_name", "field_doses", "field_last_dose", "no_dose",
		"live", "compare", "not_found_heading", "not_found", "problem_heading", "unavailable")
}
