package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestWrongKeysNote(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	type step struct {
		addr         string
		after        time.Duration // since t0
		log          bool
		unlogged     int
		throttledFor time.Duration // 0: not throttled
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"within the allowance", []step{{"a", 0, true, 0, 0}, {"a", time.Second, false, 0, 0}, {"a", 2 * time.Second, false, 0, 0}}},
		{"past it, until the minute ends", []step{
			{"a", 0, true, 0, 0}, {"a", 0, false, 0, 0}, {"a", 0, false, 0, 0},
			{"a", 20 * time.Second, false, 0, 40 * time.Second}, {"a", 59 * time.Second, false, 0, time.Second},
			{"a", time.Minute, true, 4, 0},
		}},
		{"addresses apart", []step{{"a", 0, true, 0, 0}, {"a", 0, false, 0, 0}, {"a", 0, false, 0, 0}, {"b", 0, true, 0, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWrongKeys(3, 10)
			for i, s := range tc.steps {
				log, unlogged, wait := w.note(s.addr, t0.Add(s.after))
				if log != s.log || unlogged != s.unlogged || wait != s.throttledFor {
					t.Fatalf("step %d: log %v unlogged %d wait %s; want %v %d %s", i, log, unlogged, wait, s.log, s.unlogged, s.throttledFor)
				}
			}
		})
	}
	w := newWrongKeys(3, 2)
	for i := range 5 {
		w.note(fmt.Sprint(i), t0)
	}
	if len(w.seen) > 2 {
		t.Fatalf("%d addresses remembered, at most 2", len(w.seen))
	}
}

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
