package gateway

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestOperations(t *testing.T) {
	r := newRig(t)
	r.sendOne(t)
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	support := map[string]string{"Authorization": "Bearer " + r.newKey(t, "support", "")}
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
		contains                 string
	}{
		{"health", "GET", "/healthz", "", nil, 200, `"ok"`},
		{"ready", "GET", "/readyz", "", nil, 200, `"ready"`},
		{"openapi", "GET", "/openapi.yaml", "", nil, 200, "openapi: 3"},
		{"metrics", "GET", "/metrics", "", admin, 200, `sandesh_messages_total{provider="primary",status="sent",template="security_code"} 1`},
		{"metrics queue sizes", "GET", "/metrics", "", admin, 200, `sandesh_queue_tasks{queue="transactional",state="pending"}`},
		{"metrics breakers", "GET", "/metrics", "", admin, 200, `sandesh_breaker_state{provider="primary"} 0`},
		{"metrics need the admin key", "GET", "/metrics", "", nil, 401, `"unauthorized"`},
		{"metrics refuse a wrong key", "GET", "/metrics", "", map[string]string{"Authorization": "Bearer nope"}, 401, `"unauthorized"`},
		{"metrics refuse another role", "GET", "/metrics", "", support, 403, `"forbidden"`},
		{"queues need the admin key", "GET", "/admin/queues", "", nil, 401, `"unauthorized"`},
		{"queues refuse a wrong key", "GET", "/admin/queues", "", map[string]string{"Authorization": "Bearer nope"}, 401, `"unauthorized"`},
		{"queues with the admin key", "GET", "/admin/queues", "", admin, 200, "<html"},
		{"profiles need the admin key", "GET", "/debug/pprof/", "", nil, 401, `"unauthorized"`},
		{"profiles refuse another role", "GET", "/debug/pprof/heap?debug=1", "", map[string]string{"Authorization": "Bearer nope"}, 401, `"unauthorized"`},
		{"profiles with the admin key", "GET", "/debug/pprof/heap?debug=1", "", admin, 200, "heap profile"},
		{"unknown route", "GET", "/nope", "", nil, 404, `"not_found"`},
		{"body over 64 KiB", "POST", "/webhooks/twilio/primary/status", strings.Repeat("a", 70<<10), nil, 413, `"payload_too_large"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, tc.method, r.url+tc.path, "application/x-www-form-urlencoded", tc.body, tc.header)
			if status != tc.want || !strings.Contains(body, tc.contains) {
				t.Fatalf("%s %s = %d %.300s; want %d containing %q", tc.method, tc.path, status, body, tc.want, tc.contains)
			}
			if status >= 400 {
				var e struct{ Error, Message string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Message == "" {
					t.Fatalf("error body is not {error, message}: %s", body)
				}
			}
		})
	}
}

func TestReadyzWithRedisDown(t *testing.T) {
	r := newRig(t)
	r.rdb.Close()
	status, body := do(t, "GET", r.url+"/readyz", "", "", nil)
	if status != 503 || !strings.Contains(body, `"not_ready"`) {
		t.Fatalf("readyz = %d %s, want 503 not_ready", status, body)
	}
	if status, _ := do(t, "GET", r.url+"/healthz", "", "", nil); status != 200 {
		t.Fatalf("healthz = %d with Redis down; the process is still up", status)
	}
}

// headersOf answers GET url with header set: the response's headers.
func headersOf(t *testing.T, url string, header map[string]string) http.Header {
	t.Helper()
	resp, _ := send(t, http.MethodGet, url, "", "", header)
	return resp.Header
}

// TestRequestIDIsEchoedOnlyWhenPlain: a client's X-Request-Id comes back
// (and goes into the log) only when it looks like an id.
func TestRequestIDIsEchoedOnlyWhenPlain(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		name, id string
		echoed   bool
	}{
		{"uuid", "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b", true},
		{"trace id", "req_01J9Z.2:x", true},
		{"markup", "<script>alert(1)</script>", false},
		{"not ASCII", "ïd-1", false},
		{"log field", "x level=ERROR msg=forged", false},
		{"space", "a b", false},
		{"too long", strings.Repeat("a", 65), false},
		{"quote", `a"b`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := headersOf(t, r.url+"/healthz", map[string]string{"X-Request-Id": tc.id}).Get("X-Request-Id")
			if tc.echoed != (got == tc.id) {
				t.Fatalf("X-Request-Id %q answered with %q; echoed: want %v", tc.id, got, tc.echoed)
			}
			if !plainRequestID(got) || got == "" {
				t.Fatalf("answered X-Request-Id %q is not a plain id", got)
			}
		})
	}
}

// TestQueueMonitorSecurityHeaders: /admin/queues is framed by nobody and
// loads nothing from elsewhere, like the other pages.
func TestQueueMonitorSecurityHeaders(t *testing.T) {
	r := newRig(t)
	for _, header := range []map[string]string{nil, {"Authorization": "Bearer " + adminKey}} {
		h := headersOf(t, r.url+"/admin/queues", header)
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("/admin/queues headers (auth %v): %v", header != nil, h)
		}
	}
}

// TestDeployNamesOnlyServedSeries: the alert rules and the dashboard in
// deploy/ name only series a running gateway serves, so neither watches
// something that never comes.
func TestDeployNamesOnlyServedSeries(t *testing.T) {
	r := newRig(t)
	r.sendOne(t)
	_, metrics := do(t, "GET", r.url+"/metrics", "", "", map[string]string{"Authorization": "Bearer " + adminKey})
	served := map[string]bool{}
	for _, line := range strings.Split(metrics, "\n") {
		if name, _, _ := strings.Cut(strings.SplitN(line, " ", 2)[0], "{"); strings.HasPrefix(name, "sandesh_") {
			served[name] = true
		}
	}

	rulesFile, err := os.ReadFile("../deploy/prometheus/sandesh-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr, For string
				Annotations      map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(rulesFile, &rules); err != nil {
		t.Fatalf("alert rules: %v", err)
	}
	dashFile, err := os.ReadFile("../deploy/grafana/sandesh-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dashFile, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}

	series := regexp.MustCompile(`\bsandesh_[a-z_]+`)
	check := func(where, expr string) {
		names := series.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s watches no sandesh series: %s", where, expr)
		}
		for _, n := range names {
			if !served[n] {
				t.Errorf("%s names %s, which /metrics does not serve", where, n)
			}
		}
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, rule := range g.Rules {
			alerts++
			if rule.Alert == "" || rule.For == "" || rule.Annotations["summary"] == "" {
				t.Errorf("rule %+v lacks a name, a for: or a summary", rule)
			}
			check("alert "+rule.Alert, rule.Expr)
		}
	}
	targets := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			targets++
			check("panel "+p.Title, tg.Expr)
		}
	}
	if alerts < 5 || targets < 8 {
		t.Fatalf("%d alerts and %d panel queries read: want the whole files", alerts, targets)
	}
}
