// Package dashboard is the page an operator leaves open: GET /admin. Per
// provider the last hour's sends, deliveries and failures by minute as
// charts, its breaker and when that last changed; the queue depth of each
// lane and how long the oldest OTP has waited; SMS and segments by template
// today; the dead letters waiting. Server-rendered SVG, no script (the CSP
// forbids it), in the configured languages it has strings for, and it
// reloads itself every 30 seconds (a Refresh header).
//
// The gateway mounts it behind the admin key (Basic auth: a browser asks
// for it once; the user name is anything).
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage"
)

//go:embed assets
var assets embed.FS

const (
	defaultPath = "/admin"
	langCookie  = "admin_lang"
	// refreshEvery is how often the page reloads itself.
	refreshEvery = 30 * time.Second
)

// Snapshot is everything the page shows, read at one moment.
type Snapshot struct {
	At          time.Time
	Providers   []Provider
	Lanes       []Lane
	Templates   []TemplateDay
	DeadLetters int64
}

// Provider is one SMS provider's last hour and breaker.
type Provider struct {
	Name    string
	Breaker string    // closed, half-open or open
	Since   time.Time // when the breaker last changed; zero: not since records began
	Minutes []Minute  // oldest first, the current minute last
}

// Minute is one minute of a provider's messages.
type Minute struct {
	Start                   time.Time
	Sent, Delivered, Failed int64
}

// Lane is one queue: the tasks in it by state and how long the oldest
// pending one has waited.
type Lane struct {
	Name                                        string
	Pending, Active, Scheduled, Retry, Archived int
	Oldest                                      time.Duration
}

// TemplateDay is one template's SMS and segments today.
type TemplateDay struct {
	Template      string
	SMS, Segments int64
}

// Backend reads the snapshot; the gateway implements it.
type Backend interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Page is the dashboard over a Backend.
type Page struct {
	b     Backend
	path  string
	langs webpage.Languages
	tmpl  *template.Template
	css   webpage.Asset
	loc   *time.Location
}

// Options configure the page.
type Options struct {
	Languages     []string       // the configured ones, first the default
	SecureCookies bool           // the public URL is https
	Location      *time.Location // the programme's time zone; nil for UTC
	// Path is where the page is served; default /admin. The gateway also
	// serves it inside the helpline console, for an administrator signed
	// in there.
	Path string
}

// New builds the page over b.
func New(b Backend, o Options) (*Page, error) {
	if b == nil {
		return nil, errors.New("dashboard: no backend")
	}
	langs, w, err := webpage.LoadLanguages(assets, "assets/i18n", o.Languages)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	path := o.Path
	if path == "" {
		path = defaultPath
	}
	p := &Page{b: b, path: path, loc: loc, langs: webpage.Languages{Codes: langs, Words: w, Cookie: langCookie,
		Cookies: webpage.Cookies{Path: path, Secure: o.SecureCookies}}}
	if p.tmpl, err = webpage.ParseTemplate(assets, "assets/dashboard.html"); err != nil {
		return nil, fmt.Errorf("dashboard: template: %w", err)
	}
	if p.css, err = webpage.Stylesheet(assets, "assets/dashboard.css", path+"/static/dashboard.css"); err != nil {
		return nil, fmt.Errorf("dashboard: stylesheet: %w", err)
	}
	return p, nil
}

// Mount adds the page to r behind guard (the admin key, or an
// administrator's console session), and its stylesheet, which tells
// nothing, without.
func (p *Page) Mount(r fiber.Router, guard fiber.Handler) {
	r.Get(p.path, headers, guard, p.guard(p.show))
	r.Get(p.path+"/static/dashboard.css", p.guard(p.css.Serve))
}

// headers gives the page's security headers to every answer, the guard's
// refusal too.
func headers(c *fiber.Ctx) error {
	webpage.SecurityHeaders(c, webpage.NoScriptCSP)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

func (p *Page) guard(h fiber.Handler) fiber.Handler { return webpage.Guard(webpage.NoScriptCSP, h) }

func (p *Page) show(c *fiber.Ctx) error {
	lang := p.langs.Choose(c)
	v := view{Lang: lang, CSS: p.css.Href, Langs: p.langs.Links(lang, p.path, nil), words: p.langs.Words[lang]}
	snap, err := p.b.Snapshot(c.UserContext())
	status := http.StatusOK
	if err != nil {
		v.Error, status = v.T("err_unavailable"), http.StatusServiceUnavailable
	} else {
		p.fill(&v, snap)
	}
	c.Set("Refresh", fmt.Sprint(int(refreshEvery.Seconds())))
	if err := webpage.Render(c, p.tmpl, "page", status, v); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
