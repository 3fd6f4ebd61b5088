package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeysVerifiedInMemory: once the gateway has seen a key, requests
// that present it cost no Redis look-up of the key, whatever the answer.
func TestKeysVerifiedInMemory(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	center := r.newKey(t, "center", "C1")
	for _, tc := range []struct {
		name, key  string
		method     string
		path       string
		wantStatus int
	}{
		{"issued key, refused by role", center, "POST", "/v1/admin/keys", http.StatusForbidden},
		{"well formed, never issued", "sdk_" + strings.Repeat("ab", 24), "GET", "/v1/centers/C1", http.StatusUnauthorized},
		{"malformed", "sdk_junk", "GET", "/v1/centers/C1", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"role": "admin", "name": "x"}
			lookups := func() int {
				before := r.commands.count("hgetall")
				r.must(t, tc.wantStatus, tc.method, tc.path, tc.key, body)
				return r.commands.count("hgetall") - before
			}
			// Creating the key changed the keys' version: the cache
			// forgets everything at its next poll.
			deadline := time.Now().Add(time.Second)
			for lookups() != 0 {
				if time.Now().After(deadline) {
					t.Fatal("requests still look the key up in Redis after 1s")
				}
			}
			// A version poll later than the cache's MaxStale (750 ms: a
			// loaded CI machine) sends the next request to Redis once;
			// without the cache every one of the 20 would go.
			looked := 0
			for range 20 {
				looked += lookups()
			}
			if looked > 2 {
				t.Fatalf("%d of 20 requests looked the key up in Redis", looked)
			}
		})
	}
}

// TestIdempotencyScopeIsTheRoute: routes match however the path is
// cased or ended, and so do their idempotency keys; a route's parameter
// still keeps one resource's keys from another's.
func TestIdempotencyScopeIsTheRoute(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	c1 := r.newKey(t, "center", "C1")
	for i, tc := range []struct {
		name, first, again string
	}{
		{"as registered", "/v1/doses", "/v1/doses"},
		{"upper case", "/v1/doses", "/V1/DOSES"},
		{"mixed case first", "/V1/Doses", "/v1/doses"},
		{"trailing slash", "/v1/doses", "/v1/doses/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := r.newBeneficiary(t, "Asha Patil", fmt.Sprintf("98765432%02d", 20+i), "en")
			body := map[string]any{"beneficiary_id": id, "vaccine": "COVISHIELD", "batch": "4121Z025"}
			first := r.must(t, 201, "POST", tc.first, c1, body, "Idempotency-Key", "dose-"+tc.name)
			again := r.must(t, 201, "POST", tc.again, c1, body, "Idempotency-Key", "dose-"+tc.name)
			if fmt.Sprint(first) != fmt.Sprint(again) {
				t.Fatalf("repeat at %s answered %v, first at %s was %v", tc.again, again, tc.first, first)
			}
			if b := r.must(t, 200, "GET", "/v1/beneficiaries/"+id, adminKey, nil); b["doses"] != float64(1) {
				t.Fatalf("doses recorded = %v, want 1", b["doses"])
			}
		})
	}

	t.Run("one key on two appointments", func(t *testing.T) {
		var appts []string
		for i := range 2 {
			id := r.newBeneficiary(t, "Ravi Kulkarni", fmt.Sprintf("98765432%02d", 40+i), "en")
			appts = append(appts, r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
				"beneficiary_id": id, "center_id": "C1", "date": r.today(), "slot": "09:00-11:00", "dose": 1})["id"].(string))
		}
		for _, appt := range appts {
			got := r.must(t, 200, "POST", "/v1/appointments/"+appt+"/cancel", adminKey, nil, "Idempotency-Key", "cancel-1")
			if got["id"] != appt {
				t.Fatalf("cancel of %s answered for %v: the other appointment's answer replayed", appt, got["id"])
			}
		}
	})
}
