package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestAdminDashboard: /admin shows, to the admin key only, what was sent
// through which provider this hour and today, the breakers, the lanes and
// the dead letters, from the counts every process flushes to Redis.
func TestAdminDashboard(t *testing.T) {
	r := newRig(t)
	r.sendOne(t)
	if err := r.tally.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	status, body := do(t, "GET", r.url+"/admin?lang=en", "", "", admin)
	if status != http.StatusOK {
		t.Fatalf("dashboard: %d %s", status, body)
	}
	for _, want := range []string{
		`<article class="provider" id="provider-primary">`,
		`<span class="breaker breaker-closed">Working</span>`,
		`In the hour: 1 sent, 0 delivered, 0 failed.`,
		`<th scope="row" data-label="Lane">OTP</th>`,
		`<th scope="row" data-label="Lane">Transactional</th>`,
		`<th scope="row" data-label="Template">Security code</th><td data-label="SMS">1</td><td data-label="Segments">1</td>`,
		`SMS given up on, waiting for an administrator: 0.`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
	if strings.Contains(body, "4821") {
		t.Error("the dashboard shows a security code")
	}
	support := map[string]string{"Authorization": "Bearer " + r.newKey(t, "support", "")}
	for _, h := range []map[string]string{nil, support} {
		resp, _ := send(t, http.MethodGet, r.url+"/admin", "", "", h)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" ||
			resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("without the admin key: %d %v", resp.StatusCode, resp.Header)
		}
	}
}

// TestDashboardInTheConsole: an administrator signed in to the helpline
// console opens the dashboard from its menu without the key again; a
// support session and no session are sent to the console.
func TestDashboardInTheConsole(t *testing.T) {
	r := newRig(t)
	admin := newPage(t, r.url)
	if code, _ := admin.signIn(adminKey); code != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", code)
	}
	if _, home, _ := admin.do("GET", "/support?lang=en", nil); !strings.Contains(home, `<a id="dashboard-link" href="/support/dashboard">Dashboard</a>`) {
		t.Fatalf("the console's menu has no dashboard link:\n%s", home)
	}
	code, body, h := admin.do("GET", "/support/dashboard", nil)
	if code != http.StatusOK || !strings.Contains(body, `<article class="provider" id="provider-primary">`) ||
		!strings.Contains(body, `href="/support/dashboard/static/dashboard.css?v=`) || h.Get("Refresh") != "30" {
		t.Fatalf("dashboard in the console: %d %s", code, body)
	}
	helpdesk := newPage(t, r.url)
	if code, _ := helpdesk.signIn(r.newKey(t, "support", "")); code != http.StatusSeeOther {
		t.Fatalf("support sign-in: %d", code)
	}
	for name, p := range map[string]*page{"support session": helpdesk, "no session": newPage(t, r.url)} {
		if code, body, h := p.do("GET", "/support/dashboard", nil); code != http.StatusSeeOther || h.Get("Location") != "/support" ||
			strings.Contains(body, "provider-primary") {
			t.Errorf("%s: %d %q", name, code, h.Get("Location"))
		}
	}
}
