package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/webpage/webpagetest"
	"sandesh/internal/browsertest"
)

var testNow = time.Date(2026, 11, 23, 8, 35, 0, 0, time.UTC) // 14:05 IST

// fakeBackend answers a fixed hour: primary busy with a failure spike,
// secondary idle with its breaker open.
type fakeBackend struct{ err error }

func (f fakeBackend) Snapshot(context.Context) (Snapshot, error) {
	if f.err != nil {
		return Snapshot{}, f.err
	}
	var busy, idle []Minute
	for i := range 60 {
		start := testNow.Add(time.Duration(i-59) * time.Minute)
		m := Minute{Start: start, Sent: int64(1000 + 10*i), Delivered: int64(950 + 10*i)}
		if i >= 40 && i < 45 {
			m.Failed = 300
		}
		busy = append(busy, m)
		idle = append(idle, Minute{Start: start})
	}
	return Snapshot{
		At: testNow,
		Providers: []Provider{
			{Name: "primary", Breaker: "closed", Minutes: busy},
			{Name: "secondary", Breaker: "open", Since: testNow.Add(-3 * time.Minute), Minutes: idle},
		},
		Lanes: []Lane{
			{Name: "otp", Pending: 2, Active: 1, Oldest: 1500 * time.Millisecond},
			{Name: "transactional", Pending: 12345, Active: 30, Retry: 4, Oldest: 95 * time.Second},
			{Name: "bulk", Pending: 400000, Scheduled: 7, Archived: 2, Oldest: 50 * time.Minute},
		},
		Templates: []TemplateDay{
			{Template: "appointment_slip", SMS: 1200, Segments: 2400},
			{Template: "dose_confirmation", SMS: 61234, Segments: 122468},
			{Template: "kw_status", SMS: 88, Segments: 88},
		},
		DeadLetters: 3,
	}, nil
}

func newPage(t *testing.T, b Backend) *Page {
	t.Helper()
	ist := time.FixedZone("IST", 5*3600+1800)
	p, err := New(b, Options{Languages: []string{"en", "hi", "mr"}, Location: ist})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mount serves the page behind a stand-in for the admin key check.
func mount(p *Page) func(fiber.Router) {
	return func(r fiber.Router) {
		p.Mount(r, func(c *fiber.Ctx) error {
			if c.Get("Authorization") != "Bearer admin" && c.Query("as") != "admin" {
				return c.SendStatus(http.StatusUnauthorized)
			}
			return c.Next()
		})
	}
}

func TestDashboard(t *testing.T) {
	c := webpagetest.NewClient(t, "http://gw.test/admin", mount(newPage(t, fakeBackend{})))
	if resp := c.Get("/admin"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the admin key: %d", resp.StatusCode)
	}
	resp := c.Get("/admin?as=admin")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Refresh") != "30" {
		t.Fatalf("dashboard: %d, Refresh %q", resp.StatusCode, resp.Header.Get("Refresh"))
	}
	for _, want := range []string{
		`As of 23 Nov 2026, 14:05`,
		`<article class="provider" id="provider-primary">`,
		`<span class="breaker breaker-closed">Working</span>`,
		`In the hour: 77,700 sent, 74,700 delivered, 1,500 failed.`,
		`<span class="breaker breaker-open">Breaker open: not used</span>`,
		`<p class="since">Since 23 Nov 2026, 14:02</p>`,
		`<polyline class="line-sent" points="44,`,
		`aria-label="primary, the last hour by minute: 77,700 sent, 74,700 delivered, 1,500 failed."`,
		`<p class="otp-wait slow" id="otp-wait">The oldest OTP waiting has waited 1.5 s.</p>`,
		`<th scope="row" data-label="Lane">Transactional</th>`,
		`<td data-label="Waiting">12,345</td>`,
		`<td data-label="Oldest waiting">1 min</td>`,
		`<td data-label="Oldest waiting">50 min</td>`,
		`<th scope="row" data-label="Template">Dose confirmation</th><td data-label="SMS">61,234</td><td data-label="Segments">122,468</td>`,
		`<th scope="row" data-label="Template">Reply: STATUS</th>`,
		`<td data-label="SMS">62,522</td>`,
		`SMS given up on, waiting for an administrator: 3.`,
		`<a href="/support/dead-letters">Read and retry them</a>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
	if strings.Contains(resp.Body, "<script") || strings.Contains(resp.Body, "style=") {
		t.Error("script or inline style on a page whose CSP forbids both")
	}
	hi := c.Get("/admin?as=admin&lang=hi")
	for _, want := range []string{`lang="hi"`, "गेटवे का हाल", "ब्रेकर खुला", "खुराक की पुष्टि", "23 नवंबर 2026, 14:05"} {
		if !strings.Contains(hi.Body, want) {
			t.Errorf("the Hindi dashboard lacks %s", want)
		}
	}
}

func TestDashboardUnavailable(t *testing.T) {
	c := webpagetest.NewClient(t, "http://gw.test/admin", mount(newPage(t, fakeBackend{err: errors.New("redis down")})))
	resp := c.Get("/admin?as=admin&lang=en")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Body, "cannot read its figures now") ||
		strings.Contains(resp.Body, "redis down") || resp.Header.Get("Refresh") != "30" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

func TestDraw(t *testing.T) {
	c := draw([]Minute{{Sent: 0}, {Sent: 10, Delivered: 5}, {Sent: 5, Failed: 10}})
	if c.Sent != "44,140 320,8 596,74" || c.Delivered != "44,140 320,74 596,140" || c.Failed != "44,140 320,140 596,8" || c.Max != "10" || c.Mid != "5" {
		t.Errorf("chart %+v", c)
	}
	if empty := draw(make([]Minute, 3)); empty.Max != "1" || empty.Sent != "44,140 320,140 596,140" {
		t.Errorf("an idle hour: %+v", empty)
	}
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := n(in); got != want {
			t.Errorf("n(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestBrowser opens the dashboard in Chromium at 1366 and 360 px: the
// charts draw, nothing is wider than the screen, the tables turn into
// cards on the phone; the screenshots go to $SANDESH_ARTEFACTS.
func TestBrowser(t *testing.T) {
	site := webpagetest.Serve(t, mount(newPage(t, fakeBackend{})))
	for _, tc := range []struct {
		width, height int
		rowDisplay    string
	}{
		{360, 780, "block"},
		{1366, 768, "table-row"},
	} {
		t.Run(fmt.Sprintf("%dpx", tc.width), func(t *testing.T) {
			ctx := browsertest.New(t)
			var width, charts int
			var chartWidth float64
			var rowDisplay, heading string
			var shot []byte
			err := chromedp.Run(ctx,
				chromedp.EmulateViewport(int64(tc.width), int64(tc.height)),
				chromedp.Navigate(site+"/admin?as=admin&lang=en"),
				chromedp.WaitVisible("#lanes", chromedp.ByQuery),
				chromedp.Text("h1", &heading, chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelectorAll("svg.chart polyline").length`, &charts),
				chromedp.Evaluate(`document.querySelector("svg.chart").getBoundingClientRect().width`, &chartWidth),
				chromedp.Evaluate(`getComputedStyle(document.querySelector("#lanes tbody tr")).display`, &rowDisplay),
				chromedp.Evaluate(`document.documentElement.scrollWidth`, &width),
				chromedp.FullScreenshot(&shot, 100),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			if heading != "How the gateway is doing" || charts != 6 {
				t.Errorf("heading %q, %d chart lines; want 6 (3 per provider)", heading, charts)
			}
			if chartWidth < 200 || int(chartWidth) > tc.width {
				t.Errorf("a chart %.0f px wide on a %d-px screen", chartWidth, tc.width)
			}
			if width > tc.width {
				t.Errorf("the page is %d px wide on a %d-px screen", width, tc.width)
			}
			if rowDisplay != tc.rowDisplay {
				t.Errorf("queue row display %q, want %q: the stylesheet did not apply", rowDisplay, tc.rowDisplay)
			}
			browsertest.Save(t, fmt.Sprintf("dashboard-%dpx.png", tc.width), shot)
		})
	}
}
