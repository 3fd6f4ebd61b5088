package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestWrongKeysAreThrottledAndLoggedOnce: past its allowance an address's
// wrong keys get 429, its right keys still work, and the log has one line
// for the minute.
func TestWrongKeysAreThrottledAndLoggedOnce(t *testing.T) {
	r := newRig(t)
	support := r.newKey(t, "support", "")
	wrong := "sdk_" + strings.Repeat("0", 48)
	for i := range wrongKeysPerMinute {
		if code, body := r.api(t, "GET", "/v1/support/messages?mobile=9876543210", wrong, nil); code != 401 {
			t.Fatalf("wrong key %d: %d %v, want 401", i+1, code, body)
		}
	}
	code, body := r.api(t, "GET", "/v1/support/messages?mobile=9876543210", wrong, nil)
	if code != 429 || body["error"] != "rate_limited" {
		t.Fatalf("wrong key past the allowance: %d %v, want 429 rate_limited", code, body)
	}
	if h := headersOf(t, r.url+"/v1/support/messages?mobile=9876543210", map[string]string{"Authorization": "Bearer " + wrong}); h.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", h)
	}
	// The console's sign-in form counts against the same address.
	if code, _ := newPage(t, r.url).signIn(wrong); code != http.StatusTooManyRequests {
		t.Fatalf("console sign-in with a wrong key past the allowance: %d, want 429", code)
	}
	r.must(t, 200, "GET", "/v1/support/messages?mobile=9876543210", support, nil)
	if code, _ := r.api(t, "GET", "/v1/support/messages?mobile=9876543210", "", nil); code != 401 {
		t.Fatalf("no key at all: %d, want 401", code)
	}
	n := 0
	for _, l := range r.logged() {
		if strings.Contains(l, "API key refused") {
			n++
			if strings.Contains(l, wrong) {
				t.Fatalf("the log shows the key: %s", l)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d log lines for %d wrong keys, want 1", n, wrongKeysPerMinute+2)
	}
}
