package gateway

import (
	"encoding/json"
	"strings"
	"testing"
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
