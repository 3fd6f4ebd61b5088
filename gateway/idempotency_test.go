package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// supportRig is a rig, with hooks on its Redis, that has centre C1, a
// support key and tomorrow's booking of a beneficiary on mobile.
func supportRig(t *testing.T, mobile string, hooks ...redis.Hook) (r *rig, support, appt string) {
	t.Helper()
	r = newRig(t)
	for _, h := range hooks {
		r.rdb.AddHook(h)
	}
	r.newCenter(t, "C1")
	id := r.newBeneficiary(t, "Asha Patil", mobile, "en")
	appt = r.must(t, 201, "POST", "/v1/appointments", adminKey, map[string]any{
		"beneficiary_id": id, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})["id"].(string)
	return r, r.newKey(t, "support", ""), appt
}

// TestIdempotentRoundTrips: a keyed centre or registration is one step in
// Redis, and so is its replay; a resend is one read of what it sends, its
// step and the audit entry, and its replay the read and the step.
func TestIdempotentRoundTrips(t *testing.T) {
	trips := &tripCounter{}
	r, support, appt := supportRig(t, "9876543230", tripHook(trips.count))
	dosed := r.newBeneficiary(t, "Neha Joshi", "9876543232", "en")
	r.must(t, 201, "POST", "/v1/doses", adminKey, map[string]any{"beneficiary_id": dosed, "vaccine": "COVISHIELD", "batch": "B1", "center_id": "C1"})
	// Warm the scripts up: the first run of each loads it.
	r.must(t, 201, "POST", "/v1/centers", adminKey, map[string]any{"id": "C0", "name": "PHC C0", "district": "Pune", "state": "Maharashtra", "pincode": "411007"}, "Idempotency-Key", "warm")
	r.must(t, 201, "POST", "/v1/beneficiaries", adminKey, map[string]any{"name": "Warm Up", "mobile": "9876543239", "birth_year": 1980, "gender": "F"}, "Idempotency-Key", "warm")
	r.must(t, 202, "POST", "/v1/support/resend", support, map[string]any{"appointment_id": appt, "what": "slip"}, "Idempotency-Key", "warm")

	for _, tc := range []struct {
		name, path, key string
		body            map[string]any
		status          int
		want, replay    string
	}{
		{"centre", "/v1/centers", adminKey, map[string]any{"id": "C2", "name": "PHC C2", "district": "Pune", "state": "Maharashtra", "pincode": "411007"}, 201,
			"evalsha", "evalsha"},
		{"beneficiary", "/v1/beneficiaries", adminKey, map[string]any{"name": "Asha Patil", "mobile": "9876543233", "birth_year": 1980, "gender": "F"}, 201,
			"evalsha", "evalsha"},
		{"resend slip", "/v1/support/resend", support, map[string]any{"appointment_id": appt, "what": "slip"}, 202,
			"hmget evalsha " + auditTrip, "hmget evalsha"},
		{"resend new code", "/v1/support/resend", support, map[string]any{"appointment_id": appt, "what": "security_code", "regenerate": true}, 202,
			"hmget evalsha " + auditTrip, "hmget evalsha"},
		{"resend confirmation", "/v1/support/resend", support, map[string]any{"beneficiary_id": dosed, "what": "confirmation"}, 202,
			"hgetall evalsha " + auditTrip, "hgetall evalsha"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := trips.during(func() { r.must(t, tc.status, "POST", tc.path, tc.key, tc.body, "Idempotency-Key", "trips-"+tc.name) })
			again := trips.during(func() { r.must(t, tc.status, "POST", tc.path, tc.key, tc.body, "Idempotency-Key", "trips-"+tc.name) })
			if got := strings.Join(first, " "); got != tc.want {
				t.Errorf("%d round trips [%s], want [%s]", len(first), got, tc.want)
			}
			if got := strings.Join(again, " "); got != tc.replay {
				t.Errorf("replay: %d round trips [%s], want [%s]", len(again), got, tc.replay)
			}
		})
	}
}

// auditTrip is the audit entry's round trip: the trail and its indexes.
const auditTrip = "multi+lpush+ltrim+lpush+ltrim+lpush+ltrim+exec"

// postAs posts body as key with an Idempotency-Key (see postKeyed).
func postAs(t *testing.T, r *rig, path, key, idem string, body any) (int, string, string) {
	t.Helper()
	return postKeyed(t, r.url+path, key, idem, body)
}

// TestIdempotentKeptRoutes: a centre, a registration and a resend keep
// their key's answers in their own step. A repeat gets the first answer,
// byte for byte, and changes nothing; the same key with another body is
// refused; a refusal that says the state is kept too; one that changed
// nothing is not, so a corrected retry runs. Keys are the caller's and the
// route's own.
func TestIdempotentKeptRoutes(t *testing.T) {
	r, support, appt := supportRig(t, "9876543240")
	registry := r.newKey(t, "registry", "")
	undosed := r.newBeneficiary(t, "Neha Joshi", "9876543241", "en")
	centre := func(id string) map[string]any {
		return map[string]any{"id": id, "name": "PHC " + id, "district": "Pune", "state": "Maharashtra", "pincode": "411007"}
	}
	person := func(name string) map[string]any {
		return map[string]any{"name": name, "mobile": "9876543242", "birth_year": 1980, "gender": "F"}
	}
	slip := map[string]any{"appointment_id": appt, "what": "slip"}
	for _, tc := range []struct {
		name, path, key string
		first, other    any
		status          int
		// refused is a request refused for the state, kept for its key.
		refused     any
		refusedCode string
	}{
		{name: "centre", path: "/v1/centers", key: registry, first: centre("C7"), other: centre("C8"), status: 201,
			refused: centre("C1"), refusedCode: "exists"},
		{name: "beneficiary", path: "/v1/beneficiaries", key: registry, first: person("Ravi Kulkarni"), other: person("Ravi Patil"), status: 201},
		{name: "resend", path: "/v1/support/resend", key: support, first: slip, other: map[string]any{"appointment_id": appt, "what": "security_code"}, status: 202,
			refused: map[string]any{"beneficiary_id": undosed, "what": "confirmation"}, refusedCode: "no_dose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, replayed, first := postAs(t, r, tc.path, tc.key, "k1", tc.first)
			if code != tc.status || replayed != "" {
				t.Fatalf("first: %d %q %s", code, replayed, first)
			}
			before := snapshotRedis(t, r.rdb)
			for range 2 {
				if code, replayed, again := postAs(t, r, tc.path, tc.key, "k1", tc.first); code != tc.status || replayed != "true" || again != first {
					t.Fatalf("repeat: %d %q %s, want the first answer %s", code, replayed, again, first)
				}
			}
			if code, _, body := postAs(t, r, tc.path, tc.key, "k1", tc.other); code != 422 || !strings.Contains(body, `"idempotency_mismatch"`) {
				t.Fatalf("same key, other body: %d %s", code, body)
			}
			if diff := diffRedis(before, snapshotRedis(t, r.rdb)); len(diff) > 0 {
				t.Fatalf("repeats changed Redis: %v", diff)
			}
			// The same key is another caller's, or another route's, own.
			if code, replayed, _ := postAs(t, r, tc.path, adminKey, "k1", tc.first); replayed != "" || code >= 500 {
				t.Fatalf("the admin's k1 answered %d %q: another caller's answer", code, replayed)
			}
			if tc.refused != nil {
				code, _, refused := postAs(t, r, tc.path, tc.key, "k2", tc.refused)
				if code != 409 || !strings.Contains(refused, `"`+tc.refusedCode+`"`) {
					t.Fatalf("refusal: %d %s, want %s", code, refused, tc.refusedCode)
				}
				if code, replayed, again := postAs(t, r, tc.path, tc.key, "k2", tc.refused); code != 409 || replayed != "true" || again != refused {
					t.Fatalf("repeat of the refusal: %d %q %s", code, replayed, again)
				}
			}
		})
	}
	if code, replayed, _ := postAs(t, r, "/v1/beneficiaries", registry, "k1", centre("C7")); code != 400 || replayed != "" {
		t.Fatalf("a centre's key on the registration route answered %d %q", code, replayed)
	}

	// Changed nothing, so kept nothing: a bad mobile, an unknown
	// appointment, a spent limit. The retry runs.
	for range 2 {
		if code, replayed, _ := postAs(t, r, "/v1/beneficiaries", registry, "k3", map[string]any{"name": "A B", "mobile": "12", "birth_year": 1980, "gender": "F"}); code != 400 || replayed != "" {
			t.Fatalf("bad mobile: %d %q", code, replayed)
		}
		if code, replayed, _ := postAs(t, r, "/v1/support/resend", support, "k3", map[string]any{"appointment_id": strings.Repeat("0", 27), "what": "slip"}); code != 404 || replayed != "" {
			t.Fatalf("unknown appointment: %d %q", code, replayed)
		}
	}
	if code, _, _ := postAs(t, r, "/v1/beneficiaries", registry, "k3", person("Asha Kulkarni")); code != 201 {
		t.Fatalf("corrected registration: %d", code)
	}
	// The support key's and the admin's k1 above were two of 3 an hour.
	r.must(t, 202, "POST", "/v1/support/resend", support, slip, "Idempotency-Key", "more")
	if code, replayed, _ := postAs(t, r, "/v1/support/resend", support, "k4", slip); code != 429 || replayed != "" {
		t.Fatalf("fourth resend: %d %q, want 429", code, replayed)
	}
	r.advance(time.Hour)
	if code, replayed, _ := postAs(t, r, "/v1/support/resend", support, "k4", slip); code != 202 || replayed != "" {
		t.Fatalf("the same key an hour later: %d %q, want it to run", code, replayed)
	}
	// A cancelled appointment's refusal is kept for its key.
	r.must(t, 200, "POST", "/v1/appointments/"+appt+"/cancel", adminKey, nil)
	code, _, notActive := postAs(t, r, "/v1/support/resend", support, "k5", slip)
	if code != 409 || !strings.Contains(notActive, `"not_active"`) {
		t.Fatalf("resend of a cancelled appointment: %d %s", code, notActive)
	}
	if code, replayed, again := postAs(t, r, "/v1/support/resend", support, "k5", slip); code != 409 || replayed != "true" || again != notActive {
		t.Fatalf("repeat: %d %q %s", code, replayed, again)
	}
	sent := map[string]int{}
	for _, m := range r.outbound(t, "+919876543240") {
		sent[m.Template]++
	}
	if sent["appointment_slip"] != 1+3+1 || len(r.outbound(t, "+919876543242")) != 0 {
		t.Fatalf("SMS recorded %v, want the slip and 4 resends of it", sent)
	}
	if n := len(r.must(t, 200, "GET", "/v1/admin/audit", adminKey, nil)["entries"].([]any)); n != 4 {
		t.Fatalf("%d audit entries, want one a resend done (4)", n)
	}
}

// stepCutter cuts the next script a request runs as a process dying at
// that moment would: before it reaches Redis, or after Redis did it but
// before its answer is sent.
type stepCutter struct {
	mu    sync.Mutex
	armed string // "", "before" or "after"
}

var errCut = errors.New("cut off")

func (c *stepCutter) arm(when string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = when
}

// take disarms the cutter when cmds run a script, saying when to cut.
func (c *stepCutter) take(cmds []redis.Cmder) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cmd := range cmds {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			when := c.armed
			c.armed = ""
			return when
		}
	}
	return ""
}

// cut makes the round trip of cmds, or cuts it as armed.
func (c *stepCutter) cut(cmds []redis.Cmder, trip func() error) error {
	when := c.take(cmds)
	if when == "" {
		return trip()
	}
	if when == "after" {
		_ = trip()
	}
	for _, cmd := range cmds {
		cmd.SetErr(errCut)
	}
	return errCut
}

// TestIdempotencyCutOff: no key is held by a request that never finished.
// One cut off before its step changed nothing, and its retry runs at once;
// one cut off after its step (the change done, the answer never sent) has
// its retry answered with what the step did, and nothing is done twice.
func TestIdempotencyCutOff(t *testing.T) {
	cutter := &stepCutter{}
	r, support, appt := supportRig(t, "9876543250", tripHook(cutter.cut))
	for _, tc := range []struct {
		name, path, key string
		body            func(i int) map[string]any
		status          int
		// made counts what the route made.
		made func() int
	}{
		{"centre", "/v1/centers", adminKey, func(i int) map[string]any {
			return map[string]any{"id": fmt.Sprint("CUT", i), "name": "PHC Baner", "district": "Pune", "state": "Maharashtra", "pincode": "411045"}
		}, 201, func() int { return len(r.rdb.Keys(context.Background(), "sandesh:center:*:CUT*").Val()) }},
		{"beneficiary", "/v1/beneficiaries", adminKey, func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprint("Cut Off ", string(rune('A'+i))), "mobile": "9876543251", "birth_year": 1980, "gender": "F"}
		}, 201, func() int {
			return int(r.rdb.ZCard(context.Background(), r.store.MobileKeyOf("mobile", "+919876543251", ":bens")).Val())
		}},
		{"resend", "/v1/support/resend", support, func(i int) map[string]any {
			return map[string]any{"appointment_id": appt, "what": "slip", "reason": fmt.Sprint("cut ", i)}
		}, 202, func() int { return len(r.outbound(t, "+919876543250")) - 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, when := range []string{"before", "after"} {
				key := "cut-" + when
				made := tc.made()
				cutter.arm(when)
				if code, _, body := postAs(t, r, tc.path, tc.key, key, tc.body(i)); code != 503 {
					t.Fatalf("cut %s its step: %d %s, want 503", when, code, body)
				}
				wantMade := made
				if when == "after" {
					wantMade++
				}
				if got := tc.made(); got != wantMade {
					t.Fatalf("cut %s its step: made %d, want %d", when, got, wantMade)
				}
				for _, k := range r.rdb.Keys(context.Background(), "sandesh:idem:*").Val() {
					if h := r.rdb.HGetAll(context.Background(), k).Val(); h["status"] == "" {
						t.Fatalf("cut %s its step: key %s is held unanswered: %v", when, k, h)
					}
				}
				start := time.Now()
				code, replayed, body := postAs(t, r, tc.path, tc.key, key, tc.body(i))
				if code != tc.status || time.Since(start) > time.Second {
					t.Fatalf("retry after a cut %s the step: %d %s after %v", when, code, body, time.Since(start))
				}
				if want := map[string]string{"before": "", "after": "true"}[when]; replayed != want {
					t.Fatalf("retry after a cut %s the step: replayed %q, want %q", when, replayed, want)
				}
				if got := tc.made(); got != made+1 {
					t.Fatalf("after the retry: made %d, want %d", got, made+1)
				}
				again := r.must(t, tc.status, "POST", tc.path, tc.key, tc.body(i), "Idempotency-Key", key)
				var first map[string]any
				if err := json.Unmarshal([]byte(body), &first); err != nil || fmt.Sprint(first) != fmt.Sprint(again) {
					t.Fatalf("repeat %v, want the retry's answer %s", again, body)
				}
			}
		})
	}
}

// TestIdempotentParallelRepeats: repeats sent at once are answered by
// whichever reaches Redis first; the others replay its answer, at once.
func TestIdempotentParallelRepeats(t *testing.T) {
	r := newRig(t)
	body := map[string]any{"name": "Asha Patil", "mobile": "9876543260", "birth_year": 1980, "gender": "F"}
	type answer struct {
		code           int
		replayed, body string
	}
	answers := make([]answer, 8)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			code, replayed, b := postAs(t, r, "/v1/beneficiaries", adminKey, "same", body)
			answers[i] = answer{code, replayed, b}
		})
	}
	wg.Wait()
	fresh := 0
	for _, a := range answers {
		if a.code != 201 || a.body != answers[0].body {
			t.Fatalf("answers differ: %+v", answers)
		}
		if a.replayed == "" {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d answers not replayed, want 1", fresh)
	}
	if n := r.rdb.ZCard(context.Background(), r.store.MobileKeyOf("mobile", "+919876543260", ":bens")).Val(); n != 1 {
		t.Fatalf("%d beneficiaries registered, want 1", n)
	}
}
