// Package check is the page behind a status card's QR code,
// GET /c/{token}/check: the live record the card is drawn from — name,
// status, doses, last dose — in the beneficiary's language, so that whoever
// is shown a card (a picture anyone could edit) can check it against the
// source while the link lives.
//
// The page is server-rendered HTML with no script. It says what the card
// says: the status and the date of the last dose in the card's own words
// (card.Renderer), the rest from assets/i18n/<lang>.txt. An unknown,
// expired or malformed link is a 404 page and a store failure a 503 page,
// both in the browser's language when the page speaks it; the handler
// never returns an error to the app, so the gateway's JSON error handler
// never answers for the page. Every answer has a Content-Security-Policy
// that allows no script and no style but the page's own stylesheet, and
// is Cache-Control: no-store: the point is the record as it is now.
package check

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/card"
	"sandesh/gateway/pages/webpage"
	"sandesh/langs"
)

//go:embed assets
var assets embed.FS

// stringsDir holds one "<lang>.txt" a language.
const stringsDir = "assets/i18n"

// Backend finds the record behind a card link.
type Backend interface {
	// Card is the card the link token shows, drawn from the current
	// record; ErrNotFound when the link is unknown, expired or malformed.
	Card(ctx context.Context, token string) (card.Card, error)
}

// ErrNotFound is what a Backend answers for a link that shows no card.
var ErrNotFound = errors.New("check: no such card link")

// Options are what the page needs beyond its backend.
type Options struct {
	// Location is the programme's time zone, in which the page says when
	// it read the record; default UTC.
	Location *time.Location
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Page is the check page over a Backend.
type Page struct {
	b     Backend
	cards *card.Renderer
	langs []string // the first is the default
	words map[string]webpage.Words
	tmpl  *template.Template
	css   template.CSS
	csp   string
	opts  Options
}

// New builds the page; cards words the status and dates as the card does.
func New(b Backend, cards *card.Renderer, opts Options) (*Page, error) {
	if b == nil || cards == nil {
		return nil, errors.New("check: no backend or card renderer")
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	codes, words, err := webpage.LoadLanguages(assets, stringsDir, langs.Codes())
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	p := &Page{b: b, cards: cards, langs: codes, words: words, opts: opts}
	if p.tmpl, err = template.ParseFS(assets, "assets/check.html"); err != nil {
		return nil, fmt.Errorf("check: template: %w", err)
	}
	css, err := webpage.Stylesheet(assets, "assets/check.css", "", "record.css")
	if err != nil {
		return nil, fmt.Errorf("check: stylesheet: %w", err)
	}
	// The page has one route, so its stylesheet is inline, and the CSP
	// allows exactly that stylesheet by its hash: no 'unsafe-inline'.
	sum := sha256.Sum256(css.Body)
	p.css = template.CSS(css.Body) // our own embedded file
	p.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
	return p, nil
}

// Handler serves GET /c/:token/check: the route's parameter token is the
// card link's.
func (p *Page) Handler() fiber.Handler { return webpage.Guard(p.csp, p.show) }

func (p *Page) show(c *fiber.Ctx) error {
	cd, err := p.b.Card(c.UserContext(), c.Params("token"))
	switch {
	case errors.Is(err, ErrNotFound):
		return p.problem(c, http.StatusNotFound, "not_found_heading", "not_found")
	case err != nil:
		return p.problem(c, http.StatusServiceUnavailable, "problem_heading", "unavailable")
	}
	class, ok := statusClass[cd.Status]
	if !ok {
		return fmt.Errorf("check: card with status %q", cd.Status)
	}
	lang := p.language(card.Language(cd.Language))
	w := p.words[lang]
	r := &record{
		Name: card.CleanName(cd.Name), Status: p.cards.Status(lang, cd.Status), Class: class,
		Doses: cd.Doses, LastDose: w.Text("no_dose"),
	}
	if cd.LastDoseDate != "" {
		d, err := time.Parse(time.DateOnly, cd.LastDoseDate)
		if err != nil {
			return fmt.Errorf("check: last dose date %q: %w", cd.LastDoseDate, err)
		}
		r.LastDose = p.cards.Date(lang, d)
	}
	now := p.opts.Now().In(p.opts.Location)
	r.AsOf = p.cards.Date(lang, now) + ", " + now.Format("15:04 MST")
	return p.render(c, http.StatusOK, view{Lang: lang, CSS: p.css, Record: r, words: w})
}

// problem is a page with no record: heading and message are string keys.
// Its language is the browser's (Accept-Language) when the page speaks it.
func (p *Page) problem(c *fiber.Ctx, status int, heading, message string) error {
	lang := p.language(c.AcceptsLanguages(p.langs...))
	v := view{Lang: lang, CSS: p.css, Problem: problem{Heading: heading, Message: message}, words: p.words[lang]}
	return p.render(c, status, v)
}

// language is lang when the page has its strings, else the default.
func (p *Page) language(lang string) string {
	if _, ok := p.words[lang]; ok {
		return lang
	}
	return p.langs[0]
}

func (p *Page) render(c *fiber.Ctx, status int, v view) error {
	if err := webpage.Render(c, p.tmpl, "page", status, v); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	return nil
}

var statusClass = map[string]string{
	card.StatusFully:     "status-full",
	card.StatusPartially: "status-partial",
	card.StatusNot:       "status-none",
}

// view is what the template shows: a record, or a problem.
type view struct {
	Lang    string
	CSS     template.CSS
	Record  *record
	Problem problem
	words   webpage.Words
}

type record struct {
	Name, Status, Class string
	Doses               int
	LastDose            string // the card's date, or no_dose
	AsOf                string // when the page read the record
}

type problem struct{ Heading, Message string }

// T is the page string of key.
func (v view) T(key string) string { return v.words.Text(key) }

// Tr is the page string of key with {name}s filled from pairs.
func (v view) Tr(key string, pairs ...string) string { return v.words.Text(key, pairs...) }
