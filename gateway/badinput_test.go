package gateway

// Bad input on every /v1 route: malformed JSON, unknown fields, wrong types,
// missing fields, invalid mobiles, oversized, non-Latin, emoji and hostile
// (SQL, HTML) values, impossible dates, wrong keys and roles. Each must get
// the documented 4xx JSON error and leave the store exactly as it was.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// badCase is one bad request and the answer API.md promises for it.
type badCase struct {
	name       string
	method     string
	path       string
	key        string   // sent as "Authorization: Bearer <key>"; "" sends none
	body       string   // sent as is, with Content-Type: application/json
	header     []string // extra header pairs, e.g. a hand-made Authorization
	wantStatus int
	wantError  string // the "error" code; "" accepts any snake_case code
	wantField  string // the "field" the answer names; "" skips the check
}

// omit drops a field from a JSON body built by jsonWith.
var omit = struct{ omitted bool }{true}

// jsonWith is base with fields set (or dropped with omit), encoded the way
// many integrators' encoders write it: < > & left as they are.
func jsonWith(base map[string]any, kv ...any) string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == omit {
			delete(m, k)
		} else {
			m[k] = kv[i+1]
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err)
	}
	return strings.TrimSpace(buf.String())
}

// redisEntry is one key as a snapshot sees it.
type redisEntry struct {
	typ   string
	value string        // the whole value, read by type; sets and zsets in a fixed order
	ttl   time.Duration // negative: no expiry
}

// snapshotRedis reads every key of the rig's database with its type, value
// and expiry. Nothing is excluded: with the worker never started, neither
// asynq (its queues are only written by the enqueue of a message) nor the
// clock changes any key; expiries only shrink, which diffRedis allows.
func snapshotRedis(t *testing.T, rdb *redis.Client) map[string]redisEntry {
	t.Helper()
	ctx := context.Background()
	out := map[string]redisEntry{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("TYPE %s: %v", k, err)
		}
		var v any
		switch typ {
		case "none": // expired between SCAN and TYPE
			continue
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result() // fmt prints maps sorted by key
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "set":
			var members []string
			members, err = rdb.SMembers(ctx, k).Result()
			slices.Sort(members)
			v = members
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		default:
			v, err = rdb.Dump(ctx, k).Result()
		}
		if err != nil {
			t.Fatalf("read %s %s: %v", typ, k, err)
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", k, err)
		}
		out[k] = redisEntry{typ: typ, value: fmt.Sprint(v), ttl: ttl}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	return out
}

// diffRedis lists the keys that differ between two snapshots. An expiry
// that merely ran down is not a difference; one that was set, removed or
// pushed further out is.
func diffRedis(before, after map[string]redisEntry) []string {
	short := func(s string) string {
		if len(s) > 300 {
			return s[:300] + fmt.Sprintf("… (%d bytes)", len(s))
		}
		return s
	}
	var out []string
	for k, a := range after {
		b, ok := before[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("added   %s (%s) = %s", k, a.typ, short(a.value)))
		case a.typ != b.typ || a.value != b.value:
			out = append(out, fmt.Sprintf("changed %s (%s → %s)\n    before: %s\n    after:  %s", k, b.typ, a.typ, short(b.value), short(a.value)))
		case (a.ttl < 0) != (b.ttl < 0) || a.ttl > b.ttl:
			out = append(out, fmt.Sprintf("expiry  %s: %v → %v", k, b.ttl, a.ttl))
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out = append(out, fmt.Sprintf("removed %s (%s) = %s", k, b.typ, short(b.value)))
		}
	}
	slices.Sort(out)
	return out
}

var snakeCase = regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

// sendBad sends tc and checks the answer's status and JSON error shape.
func (r *rig) sendBad(t *testing.T, tc badCase) {
	t.Helper()
	req, err := http.NewRequest(tc.method, r.url+tc.path, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tc.key != "" {
		req.Header.Set("Authorization", "Bearer "+tc.key)
	}
	for i := 0; i+1 < len(tc.header); i += 2 {
		req.Header.Set(tc.header[i], tc.header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != tc.wantStatus {
		t.Errorf("status = %d, want %d; body %.500s", resp.StatusCode, tc.wantStatus, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if tc.wantStatus < 400 {
		return
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("answer is not a JSON object: %v; body %.500s", err, raw)
	}
	code, _ := got["error"].(string)
	msg, _ := got["message"].(string)
	if !snakeCase.MatchString(code) || strings.TrimSpace(msg) == "" {
		t.Errorf(`answer is not {"error": "<snake_case_code>", "message": "<text>"}: %.500s`, raw)
	}
	if tc.wantError != "" && code != tc.wantError {
		t.Errorf("error = %q, want %q; body %.500s", code, tc.wantError, raw)
	}
	if tc.wantField != "" && got["field"] != tc.wantField {
		t.Errorf("field = %v, want %q; body %.500s", got["field"], tc.wantField, raw)
	}
}

// TestBadInput sends every /v1 route bad input against one rig holding two
// centres, a booked appointment and a beneficiary free to book, and checks
// each answer and that Redis is unchanged after it.
func TestBadInput(t *testing.T) {
	r := newRig(t) // the worker is never started: nothing moves in the background
	r.newCenter(t, "C1")
	r.newCenter(t, "C2")
	registry := r.newKey(t, "registry", "")
	c1 := r.newKey(t, "center", "C1")
	c2 := r.newKey(t, "center", "C2")
	support := r.newKey(t, "support", "")
	verifier := r.newKey(t, "verifier", "")

	booked := r.newBeneficiary(t, "Asha Patil", "9876543210", "mr")
	free := r.newBeneficiary(t, "Ramesh Kumar", "9876543211", "hi")
	walkIn := r.newBeneficiary(t, "Meera Joshi", "9876543208", "mr")
	for i := range maxPerMobile {
		r.newBeneficiary(t, "Family Member "+strings.Repeat("I", i+1), "9876543219", "en")
	}
	appt := r.must(t, 201, "POST", "/v1/appointments", registry, map[string]any{
		"beneficiary_id": booked, "center_id": "C1", "date": r.today(), "slot": "09:00-11:00", "dose": 1})
	apptID, msgID := appt["id"].(string), appt["message_id"].(string)

	now := r.gw.now().In(r.gw.location)
	yesterday := now.AddDate(0, 0, -1).Format(time.DateOnly)
	tooFar := now.AddDate(1, 0, 1).Format(time.DateOnly)
	nextYear := now.Year() + 1

	// Values integrators send.
	const (
		sqlName = "Robert'); DROP TABLE beneficiaries;--"
		sqlID   = "' OR '1'='1"
		html    = "<script>alert(1)</script>"
	)
	tenKB := strings.Repeat("a", 10<<10)
	unknownAppt := strings.Repeat("0", 27)
	unknownBen := "10000000000000"

	// Good requests; each bad case below breaks one thing in one of them.
	// The last subtest sends them as they are to prove they are good.
	keyBase := map[string]any{"role": "support", "name": "Helpdesk Pune"}
	centerBase := map[string]any{"id": "C7", "name": "PHC Baner", "district": "Pune", "state": "Maharashtra", "pincode": "411045"}
	benBase := map[string]any{"name": "Sunita Deshmukh", "mobile": "9876543212", "birth_year": 1980, "gender": "F", "language": "mr"}
	bookBase := map[string]any{"beneficiary_id": free, "center_id": "C1", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1}
	doseBase := map[string]any{"beneficiary_id": walkIn, "vaccine": "COVISHIELD", "batch": "4121Z025"}
	resendBase := map[string]any{"appointment_id": apptID, "what": "security_code"}
	codeBody := `{"code":"1234"}`

	keys := "/v1/admin/keys"
	centers := "/v1/centers"
	bens := "/v1/beneficiaries"
	appts := "/v1/appointments"
	cancel := "/v1/appointments/" + apptID + "/cancel"
	verify := "/v1/appointments/" + apptID + "/verify-code"
	doses := "/v1/doses"
	resend := "/v1/support/resend"
	history := "/v1/support/messages?mobile="
	audit := "/v1/admin/audit?limit="
	esc := url.PathEscape
	q := url.QueryEscape

	// malformed is the same set of broken bodies for every route that reads one.
	malformed := func(path, key string) []badCase {
		var out []badCase
		for _, m := range []struct{ name, body string }{
			{"empty body", ""},
			{"whitespace body", " \n\t "},
			{"truncated object", `{"name":`},
			{"array", `[]`},
			{"null", `null`},
			{"string", `"hello"`},
			{"number", `42`},
			{"two objects", `{"a":1}{"b":2}`},
			{"object then garbage", `{} xyz`},
			{"empty object then another", `{}{}`},
			{"trailing comma", `{"name":"x",}`},
			{"single quotes", `{'name':'x'}`},
			{"comment", `{/* c */}`},
			{"byte order mark", "\ufeff{}"},
			{"form encoding", `name=x&mobile=9876543210`},
		} {
			out = append(out, badCase{name: "malformed " + m.name, method: "POST", path: path, key: key,
				body: m.body, wantStatus: 400, wantError: "bad_request"})
		}
		return out
	}
	// auth is the 401s of one route: no key, and keys that are not ours.
	auth := func(method, path, body string) []badCase {
		return []badCase{
			{name: "no key", method: method, path: path, body: body, wantStatus: 401, wantError: "unauthorized"},
			{name: "unknown key", method: method, path: path, key: "sdk_" + strings.Repeat("0", 48), body: body, wantStatus: 401, wantError: "unauthorized"},
		}
	}
	// prefix names a group of cases after their route.
	prefix := func(route string, cs ...[]badCase) []badCase {
		var out []badCase
		for _, g := range cs {
			for _, c := range g {
				c.name = route + "/" + c.name
				out = append(out, c)
			}
		}
		return out
	}
	bad := func(cs ...badCase) []badCase { return cs }

	var cases []badCase

	// POST /v1/admin/keys (admin)
	kb := func(kv ...any) string { return jsonWith(keyBase, kv...) }
	cases = append(cases, prefix("POST keys", malformed(keys, adminKey), auth("POST", keys, kb()), bad(
		badCase{name: "registry key", method: "POST", path: keys, key: registry, body: kb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: keys, key: support, body: kb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "unknown field", method: "POST", path: keys, key: adminKey, body: kb("scopes", []string{"all"}), wantStatus: 400, wantError: "bad_request", wantField: "scopes"},
		badCase{name: "unknown field in other case", method: "POST", path: keys, key: adminKey, body: `{"Role":"support","Name":"Helpdesk Pune"}`,
			wantStatus: 400, wantError: "bad_request"},
		badCase{name: "role number", method: "POST", path: keys, key: adminKey, body: kb("role", 1), wantStatus: 400, wantError: "bad_request", wantField: "role"},
		badCase{name: "name array", method: "POST", path: keys, key: adminKey, body: kb("name", []string{"x"}), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "role missing", method: "POST", path: keys, key: adminKey, body: kb("role", omit), wantStatus: 400, wantError: "bad_request", wantField: "role"},
		badCase{name: "name missing", method: "POST", path: keys, key: adminKey, body: kb("name", omit), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name null", method: "POST", path: keys, key: adminKey, body: kb("name", nil), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "role unknown", method: "POST", path: keys, key: adminKey, body: kb("role", "root"), wantStatus: 400, wantError: "bad_request", wantField: "role"},
		badCase{name: "role upper case", method: "POST", path: keys, key: adminKey, body: kb("role", "SUPPORT"), wantStatus: 400, wantError: "bad_request", wantField: "role"},
		badCase{name: "role html", method: "POST", path: keys, key: adminKey, body: kb("role", html), wantStatus: 400, wantError: "bad_request", wantField: "role"},
		badCase{name: "name 10 KB", method: "POST", path: keys, key: adminKey, body: kb("name", tenKB), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name emoji", method: "POST", path: keys, key: adminKey, body: kb("name", "Helpdesk 🔑"), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name html", method: "POST", path: keys, key: adminKey, body: kb("name", html), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name sql", method: "POST", path: keys, key: adminKey, body: kb("name", "x'); DROP TABLE api_keys;--"), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "center role without center_id", method: "POST", path: keys, key: adminKey, body: kb("role", "center"), wantStatus: 400, wantError: "bad_request", wantField: "center_id"},
		badCase{name: "support role with center_id", method: "POST", path: keys, key: adminKey, body: kb("center_id", "C1"), wantStatus: 400, wantError: "bad_request", wantField: "center_id"},
		badCase{name: "center_id number", method: "POST", path: keys, key: adminKey, body: kb("role", "center", "center_id", 1), wantStatus: 400, wantError: "bad_request", wantField: "center_id"},
		badCase{name: "center_id sql", method: "POST", path: keys, key: adminKey, body: kb("role", "center", "center_id", "C1"+sqlID),
			wantStatus: 400, wantError: "bad_request", wantField: "center_id"},
		badCase{name: "center_id of no centre", method: "POST", path: keys, key: adminKey, body: kb("role", "center", "center_id", "C9"), wantStatus: 404, wantError: "not_found"},
	))...)

	// GET /v1/admin/audit?limit= (admin)
	cases = append(cases, prefix("GET audit", auth("GET", audit+"10", ""), bad(
		badCase{name: "registry key", method: "GET", path: audit + "10", key: registry, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "GET", path: audit + "10", key: support, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "limit letters", method: "GET", path: audit + "abc", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit zero", method: "GET", path: audit + "0", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit negative", method: "GET", path: audit + "-1", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit over 1000", method: "GET", path: audit + "1001", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit fraction", method: "GET", path: audit + "1.5", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit exponent", method: "GET", path: audit + "1e2", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit overflows", method: "GET", path: audit + "99999999999999999999", key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit sql", method: "GET", path: audit + q("10; DROP TABLE audit"), key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
		badCase{name: "limit html", method: "GET", path: audit + q(html), key: adminKey, wantStatus: 400, wantError: "bad_request", wantField: "limit"},
	))...)

	// POST /v1/centers (registry)
	cb := func(kv ...any) string { return jsonWith(centerBase, kv...) }
	cases = append(cases, prefix("POST centers", malformed(centers, registry), auth("POST", centers, cb()), bad(
		badCase{name: "verifier key", method: "POST", path: centers, key: verifier, body: cb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "center key", method: "POST", path: centers, key: c1, body: cb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: centers, key: support, body: cb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "unknown field", method: "POST", path: centers, key: registry, body: cb("phone", "020-25501234"), wantStatus: 400, wantError: "bad_request", wantField: "phone"},
		badCase{name: "pincode number", method: "POST", path: centers, key: registry, body: cb("pincode", 411045), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "name object", method: "POST", path: centers, key: registry, body: cb("name", map[string]any{"en": "PHC Baner"}), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "id missing", method: "POST", path: centers, key: registry, body: cb("id", omit), wantStatus: 400, wantError: "bad_request", wantField: "id"},
		badCase{name: "name missing", method: "POST", path: centers, key: registry, body: cb("name", omit), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "district missing", method: "POST", path: centers, key: registry, body: cb("district", omit), wantStatus: 400, wantError: "bad_request", wantField: "district"},
		badCase{name: "state blank", method: "POST", path: centers, key: registry, body: cb("state", "   "), wantStatus: 400, wantError: "bad_request", wantField: "state"},
		badCase{name: "pincode missing", method: "POST", path: centers, key: registry, body: cb("pincode", omit), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "id with space", method: "POST", path: centers, key: registry, body: cb("id", "C 7"), wantStatus: 400, wantError: "bad_request", wantField: "id"},
		badCase{name: "id 33 characters", method: "POST", path: centers, key: registry, body: cb("id", strings.Repeat("C", 33)), wantStatus: 400, wantError: "bad_request", wantField: "id"},
		badCase{name: "id devanagari", method: "POST", path: centers, key: registry, body: cb("id", "केंद्र7"), wantStatus: 400, wantError: "bad_request", wantField: "id"},
		badCase{name: "id sql", method: "POST", path: centers, key: registry, body: cb("id", "C7'; DROP TABLE centers;--"), wantStatus: 400, wantError: "bad_request", wantField: "id"},
		badCase{name: "id html", method: "POST", path: centers, key: registry, body: cb("id", html), wantStatus: 400, wantError: "bad_request", wantField: "id"},
		badCase{name: "id taken", method: "POST", path: centers, key: registry, body: cb("id", "C1"), wantStatus: 409, wantError: "exists"},
		badCase{name: "name 10 KB", method: "POST", path: centers, key: registry, body: cb("name", tenKB), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name emoji", method: "POST", path: centers, key: registry, body: cb("name", "PHC Baner 🏥"), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name html", method: "POST", path: centers, key: registry, body: cb("name", html), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name sql", method: "POST", path: centers, key: registry, body: cb("name", "PHC'; DROP TABLE centers;--"), wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "district html", method: "POST", path: centers, key: registry, body: cb("district", "<b>Pune</b>"), wantStatus: 400, wantError: "bad_request", wantField: "district"},
		badCase{name: "state 10 KB", method: "POST", path: centers, key: registry, body: cb("state", tenKB), wantStatus: 400, wantError: "bad_request", wantField: "state"},
		badCase{name: "pincode leading zero", method: "POST", path: centers, key: registry, body: cb("pincode", "011045"), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "pincode 5 digits", method: "POST", path: centers, key: registry, body: cb("pincode", "41104"), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "pincode 7 digits", method: "POST", path: centers, key: registry, body: cb("pincode", "4110455"), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "pincode with space", method: "POST", path: centers, key: registry, body: cb("pincode", "411 045"), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "pincode sql", method: "POST", path: centers, key: registry, body: cb("pincode", "411045' OR 1=1"), wantStatus: 400, wantError: "bad_request", wantField: "pincode"},
		badCase{name: "bad body with Idempotency-Key", method: "POST", path: centers, key: registry, body: cb("name", html), header: []string{"Idempotency-Key", "center-c7"},
			wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "Idempotency-Key 256 characters", method: "POST", path: centers, key: registry, body: cb(), header: []string{"Idempotency-Key", strings.Repeat("k", 256)},
			wantStatus: 400, wantError: "bad_request"},
	))...)

	// GET /v1/centers/{id} (registry)
	cases = append(cases, prefix("GET center", auth("GET", "/v1/centers/C1", ""), bad(
		badCase{name: "center key", method: "GET", path: "/v1/centers/C1", key: c1, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "GET", path: "/v1/centers/C1", key: verifier, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "unknown id", method: "GET", path: "/v1/centers/C9", key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id sql", method: "GET", path: "/v1/centers/" + esc("C1"+sqlID), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id html", method: "GET", path: "/v1/centers/" + esc(html), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id devanagari", method: "GET", path: "/v1/centers/" + esc("केंद्र"), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id 2 KB", method: "GET", path: "/v1/centers/" + strings.Repeat("C", 2<<10), key: registry, wantStatus: 404, wantError: "not_found"},
	))...)

	// POST /v1/beneficiaries (registry)
	bb := func(kv ...any) string { return jsonWith(benBase, kv...) }
	benBad := func(name, field string, v any) badCase {
		return badCase{name: name, method: "POST", path: bens, key: registry, body: bb(field, v), wantStatus: 400, wantError: "bad_request", wantField: field}
	}
	mobileBad := func(name string, v any) badCase {
		return badCase{name: name, method: "POST", path: bens, key: registry, body: bb("mobile", v), wantStatus: 400, wantError: "invalid_mobile", wantField: "mobile"}
	}
	cases = append(cases, prefix("POST beneficiaries", malformed(bens, registry), auth("POST", bens, bb()), bad(
		badCase{name: "center key", method: "POST", path: bens, key: c1, body: bb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: bens, key: support, body: bb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "POST", path: bens, key: verifier, body: bb(), wantStatus: 403, wantError: "forbidden"},
		benBad("unknown field", "aadhaar", "123412341234"),
		benBad("unknown field html", html, "x"),
		badCase{name: "unknown field in other case", method: "POST", path: bens, key: registry, body: `{"Name":"Sunita Deshmukh","MOBILE":"9876543212","birth_year":1980,"gender":"F"}`,
			wantStatus: 400, wantError: "bad_request"},
		benBad("birth_year string", "birth_year", "1980"),
		benBad("birth_year fraction", "birth_year", 1980.5),
		benBad("birth_year exponent", "birth_year", json.RawMessage("1.98e3")),
		benBad("birth_year overflows", "birth_year", json.RawMessage("99999999999999999999")),
		benBad("birth_year boolean", "birth_year", true),
		benBad("name number", "name", 42),
		benBad("name array", "name", []string{"Sunita", "Deshmukh"}),
		benBad("gender boolean", "gender", false),
		benBad("language array", "language", []string{"mr"}),
		badCase{name: "mobile number", method: "POST", path: bens, key: registry, body: bb("mobile", 9876543212), wantStatus: 400, wantError: "bad_request", wantField: "mobile"},
		benBad("name missing", "name", omit),
		benBad("name null", "name", nil),
		benBad("name blank", "name", " \t "),
		mobileBad("mobile missing", omit),
		mobileBad("mobile blank", "   "),
		benBad("birth_year missing", "birth_year", omit),
		benBad("gender missing", "gender", omit),
		mobileBad("mobile too short", "98765"),
		mobileBad("mobile too short with country code", "+91 98765"),
		mobileBad("mobile 11 digits", "98765432121"),
		mobileBad("mobile letters", "98765abcde"),
		mobileBad("mobile keypad letters", "1-800-FLOWERS"),
		mobileBad("mobile letter O for zero", "98765432O1"),
		mobileBad("mobile foreign without plus UK", "447911123456"),
		mobileBad("mobile foreign without plus US", "14155552671"),
		mobileBad("mobile foreign without plus DE", "4915123456789"),
		mobileBad("mobile landline", "02025501234"),
		mobileBad("mobile devanagari digits", "९८७६५४३२१२"),
		mobileBad("mobile fullwidth digits", "９８７６５４３２１２"),
		mobileBad("mobile sql", "9876543212'; DROP TABLE beneficiaries;--"),
		mobileBad("mobile html", "<b>9876543212</b>"),
		mobileBad("mobile 10 KB", strings.Repeat("9", 10<<10)),
		benBad("name 10 KB", "name", tenKB),
		benBad("name 101 letters", "name", strings.Repeat("a", 101)),
		benBad("name emoji", "name", "Sunita 😀"),
		benBad("name emoji only", "name", "👩‍⚕️"),
		benBad("name devanagari with emoji", "name", "सुनीता 🙏"),
		benBad("name html", "name", html),
		benBad("name html entity", "name", "Sunita &amp; Co"),
		benBad("name sql", "name", sqlName),
		benBad("name sql comment", "name", "Sunita'--"+sqlID),
		benBad("name nul byte", "name", "Sunita\x00Deshmukh"),
		benBad("name zero-width space", "name", "Sunita\u200bDeshmukh"),
		benBad("name right-to-left override", "name", "\u202eSunita"),
		badCase{name: "name invalid UTF-8", method: "POST", path: bens, key: registry,
			body: "{\"name\":\"Sunita\xff\xfe\",\"mobile\":\"9876543212\",\"birth_year\":1980,\"gender\":\"F\"}", wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name of dots only", method: "POST", path: bens, key: registry, body: bb("name", "..."),
			wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "name of a lone combining mark", method: "POST", path: bens, key: registry, body: bb("name", "\u0301"),
			wantStatus: 400, wantError: "bad_request", wantField: "name"},
		benBad("birth_year 1899", "birth_year", 1899),
		benBad("birth_year next year", "birth_year", nextYear),
		benBad("birth_year negative", "birth_year", -1980),
		benBad("gender unknown", "gender", "X"),
		benBad("gender word", "gender", "Female"),
		benBad("gender html", "gender", html),
		badCase{name: "bad mobile with Idempotency-Key", method: "POST", path: bens, key: registry, body: bb("mobile", "98765"), header: []string{"Idempotency-Key", "ben-1"},
			wantStatus: 400, wantError: "invalid_mobile", wantField: "mobile"},
		badCase{name: "bad name with Idempotency-Key", method: "POST", path: bens, key: registry, body: bb("name", html), header: []string{"Idempotency-Key", "ben-1"},
			wantStatus: 400, wantError: "bad_request", wantField: "name"},
		badCase{name: "Idempotency-Key 256 characters", method: "POST", path: bens, key: registry, body: bb(), header: []string{"Idempotency-Key", strings.Repeat("k", 256)},
			wantStatus: 400, wantError: "bad_request"},
		benBad("language unknown", "language", "fr"),
		benBad("language upper case", "language", "MR"),
		benBad("language sql", "language", "mr'--"),
		badCase{name: "mobile has 4 already", method: "POST", path: bens, key: registry, body: bb("mobile", "+91 98765 43219"), wantStatus: 409, wantError: "mobile_limit"},
		badCase{name: "body over 64 KiB", method: "POST", path: bens, key: registry, body: bb("name", strings.Repeat("a", 70<<10)), wantStatus: 413, wantError: "payload_too_large"},
	))...)

	// GET /v1/beneficiaries/{id} (registry)
	cases = append(cases, prefix("GET beneficiary", auth("GET", "/v1/beneficiaries/"+booked, ""), bad(
		badCase{name: "center key", method: "GET", path: "/v1/beneficiaries/" + booked, key: c1, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "GET", path: "/v1/beneficiaries/" + booked, key: support, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "GET", path: "/v1/beneficiaries/" + booked, key: verifier, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "unknown id", method: "GET", path: "/v1/beneficiaries/" + unknownBen, key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id too short", method: "GET", path: "/v1/beneficiaries/123", key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id 15 digits", method: "GET", path: "/v1/beneficiaries/" + booked + "0", key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id devanagari digits", method: "GET", path: "/v1/beneficiaries/" + esc("१२३४५६७८९०१२३४"), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id sql", method: "GET", path: "/v1/beneficiaries/" + esc(booked+sqlID), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id html", method: "GET", path: "/v1/beneficiaries/" + esc(html), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id names the doses list", method: "GET", path: "/v1/beneficiaries/" + esc(booked+":doses"), key: registry, wantStatus: 404, wantError: "not_found"},
	))...)

	// POST /v1/appointments (registry)
	ab := func(kv ...any) string { return jsonWith(bookBase, kv...) }
	bookBad := func(name, field string, v any) badCase {
		return badCase{name: name, method: "POST", path: appts, key: registry, body: ab(field, v), wantStatus: 400, wantError: "bad_request", wantField: field}
	}
	dateBad := func(name string, v any) badCase {
		return badCase{name: name, method: "POST", path: appts, key: registry, body: ab("date", v), wantStatus: 400, wantError: "invalid_date", wantField: "date"}
	}
	cases = append(cases, prefix("POST appointments", malformed(appts, registry), auth("POST", appts, ab()), bad(
		badCase{name: "center key", method: "POST", path: appts, key: c1, body: ab(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: appts, key: support, body: ab(), wantStatus: 403, wantError: "forbidden"},
		bookBad("unknown field", "vaccine", "COVISHIELD"),
		bookBad("dose string", "dose", "1"),
		bookBad("dose fraction", "dose", 1.5),
		bookBad("dose 1.0", "dose", json.RawMessage("1.0")),
		bookBad("dose boolean", "dose", true),
		bookBad("beneficiary_id number", "beneficiary_id", json.RawMessage(free)),
		bookBad("date number", "date", 20261124),
		bookBad("slot object", "slot", map[string]string{"from": "09:00", "to": "11:00"}),
		bookBad("beneficiary_id missing", "beneficiary_id", omit),
		bookBad("center_id missing", "center_id", omit),
		dateBad("date missing", omit),
		bookBad("slot missing", "slot", omit),
		bookBad("dose missing", "dose", omit),
		bookBad("dose negative", "dose", -1),
		bookBad("dose zero", "dose", 0),
		bookBad("dose 11", "dose", 11),
		dateBad("date 2026-02-30", "2026-02-30"),
		dateBad("date 30 February next year", fmt.Sprintf("%d-02-30", nextYear)),
		dateBad("date 31 April next year", fmt.Sprintf("%d-04-31", nextYear)),
		dateBad("date month 13", fmt.Sprintf("%d-13-01", nextYear)),
		dateBad("date month 00", fmt.Sprintf("%d-00-10", nextYear)),
		dateBad("date DD-MM-YYYY", now.AddDate(0, 0, 1).Format("02-01-2006")),
		dateBad("date with slashes", now.AddDate(0, 0, 1).Format("2006/01/02")),
		dateBad("date without zero padding", fmt.Sprintf("%d-3-5", nextYear)),
		dateBad("date with time", now.AddDate(0, 0, 1).Format(time.RFC3339)),
		dateBad("date with spaces", " "+r.tomorrow()+" "),
		dateBad("date word", "tomorrow"),
		dateBad("date devanagari digits", "२०२६-११-२४"),
		dateBad("date yesterday", yesterday),
		dateBad("date over a year ahead", tooFar),
		dateBad("date sql", r.tomorrow()+"'; DROP TABLE appointments;--"),
		dateBad("date html", html),
		bookBad("slot without minutes", "slot", "9-11"),
		bookBad("slot ends before it starts", "slot", "11:00-09:00"),
		bookBad("slot hour 25", "slot", "25:00-26:00"),
		bookBad("slot html", "slot", html),
		bookBad("slot 10 KB", "slot", tenKB),
		bookBad("beneficiary_id sql", "beneficiary_id", free+sqlID),
		bookBad("beneficiary_id html", "beneficiary_id", html),
		bookBad("beneficiary_id 13 digits", "beneficiary_id", free[:13]),
		bookBad("center_id sql", "center_id", "C1"+sqlID),
		bookBad("center_id html", "center_id", html),
		badCase{name: "unknown beneficiary", method: "POST", path: appts, key: registry, body: ab("beneficiary_id", unknownBen), wantStatus: 404, wantError: "not_found"},
		badCase{name: "unknown centre", method: "POST", path: appts, key: registry, body: ab("center_id", "C9"), wantStatus: 404, wantError: "not_found"},
		badCase{name: "already booked", method: "POST", path: appts, key: registry, body: ab("beneficiary_id", booked), wantStatus: 409, wantError: "already_booked"},
	))...)

	// GET /v1/appointments/{id} (registry)
	cases = append(cases, prefix("GET appointment", auth("GET", "/v1/appointments/"+apptID, ""), bad(
		badCase{name: "center key", method: "GET", path: "/v1/appointments/" + apptID, key: c1, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "GET", path: "/v1/appointments/" + apptID, key: support, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "unknown id", method: "GET", path: "/v1/appointments/" + unknownAppt, key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id sql", method: "GET", path: "/v1/appointments/" + esc(apptID+sqlID), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id html", method: "GET", path: "/v1/appointments/" + esc(html), key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id 2 KB", method: "GET", path: "/v1/appointments/" + strings.Repeat("a", 2<<10), key: registry, wantStatus: 404, wantError: "not_found"},
	))...)

	// POST /v1/appointments/{id}/cancel (registry); an empty body is allowed.
	cases = append(cases, prefix("POST cancel", auth("POST", cancel, ""), bad(
		badCase{name: "center key", method: "POST", path: cancel, key: c1, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: cancel, key: support, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "body array", method: "POST", path: cancel, key: registry, body: `[]`, wantStatus: 400, wantError: "bad_request"},
		badCase{name: "body null", method: "POST", path: cancel, key: registry, body: `null`, wantStatus: 400, wantError: "bad_request"},
		badCase{name: "body string", method: "POST", path: cancel, key: registry, body: `"cancel"`, wantStatus: 400, wantError: "bad_request"},
		badCase{name: "body truncated", method: "POST", path: cancel, key: registry, body: `{"reason":`, wantStatus: 400, wantError: "bad_request"},
		badCase{name: "two objects", method: "POST", path: cancel, key: registry, body: `{}{}`, wantStatus: 400, wantError: "bad_request"},
		badCase{name: "unknown field", method: "POST", path: cancel, key: registry, body: `{"reason":"travelling"}`, wantStatus: 400, wantError: "bad_request", wantField: "reason"},
		badCase{name: "unknown field html", method: "POST", path: cancel, key: registry, body: `{"reason":"` + html + `"}`, wantStatus: 400, wantError: "bad_request", wantField: "reason"},
		badCase{name: "unknown id", method: "POST", path: "/v1/appointments/" + unknownAppt + "/cancel", key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id sql", method: "POST", path: "/v1/appointments/" + esc(apptID+sqlID) + "/cancel", key: registry, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id html", method: "POST", path: "/v1/appointments/" + esc(html) + "/cancel", key: registry, wantStatus: 404, wantError: "not_found"},
	))...)

	// POST /v1/appointments/{id}/verify-code (center, own centre). No bad
	// code may cost an attempt: the snapshot would show it.
	codeBad := func(name, body string, field string) badCase {
		return badCase{name: name, method: "POST", path: verify, key: c1, body: body, wantStatus: 400, wantError: "bad_request", wantField: field}
	}
	cases = append(cases, prefix("POST verify-code", malformed(verify, c1), auth("POST", verify, codeBody), bad(
		badCase{name: "registry key", method: "POST", path: verify, key: registry, body: codeBody, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: verify, key: support, body: codeBody, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "POST", path: verify, key: verifier, body: codeBody, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "other centre's key", method: "POST", path: verify, key: c2, body: codeBody, wantStatus: 403, wantError: "forbidden"},
		codeBad("code number", `{"code":4821}`, "code"),
		codeBad("code array", `{"code":["4821"]}`, "code"),
		codeBad("unknown field", `{"code":"1234","beneficiary_id":"`+booked+`"}`, "beneficiary_id"),
		codeBad("code missing", `{}`, "code"),
		codeBad("code null", `{"code":null}`, "code"),
		codeBad("code empty", `{"code":""}`, "code"),
		codeBad("code 3 digits", `{"code":"482"}`, "code"),
		codeBad("code 5 digits", `{"code":"48210"}`, "code"),
		codeBad("code letters", `{"code":"abcd"}`, "code"),
		codeBad("code with spaces", `{"code":" 4821 "}`, "code"),
		codeBad("code three devanagari digits", `{"code":"४८२"}`, "code"), // four count as a code
		codeBad("code sql", `{"code":"4821' OR '1'='1"}`, "code"),
		codeBad("code html", `{"code":"<b>4821</b>"}`, "code"),
		codeBad("code 10 KB", `{"code":"`+strings.Repeat("4", 10<<10)+`"}`, "code"),
		badCase{name: "unknown appointment", method: "POST", path: "/v1/appointments/" + unknownAppt + "/verify-code", key: c1, body: codeBody, wantStatus: 404, wantError: "not_found"},
		badCase{name: "appointment id sql", method: "POST", path: "/v1/appointments/" + esc(sqlID) + "/verify-code", key: c1, body: codeBody, wantStatus: 404, wantError: "not_found"},
	))...)

	// POST /v1/doses (center). A walk-in that got through would add a dose.
	db := func(kv ...any) string { return jsonWith(doseBase, kv...) }
	doseBad := func(name, field string, kv ...any) badCase {
		return badCase{name: name, method: "POST", path: doses, key: c1, body: db(kv...), wantStatus: 400, wantError: "bad_request", wantField: field}
	}
	cases = append(cases, prefix("POST doses", malformed(doses, c1), auth("POST", doses, db()), bad(
		badCase{name: "support key", method: "POST", path: doses, key: support, body: db(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "registry key", method: "POST", path: doses, key: registry, body: db(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "POST", path: doses, key: verifier, body: db(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "other centre named", method: "POST", path: doses, key: c1, body: db("center_id", "C2"), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "other centre's appointment", method: "POST", path: doses, key: c2, body: db("appointment_id", apptID, "code", "1234"), wantStatus: 403, wantError: "forbidden"},
		doseBad("unknown field dose", "dose", "dose", 1),
		doseBad("negative dose", "dose", "dose", -1),
		doseBad("code number", "code", "appointment_id", apptID, "code", 4821),
		doseBad("vaccine number", "vaccine", "vaccine", 1),
		doseBad("batch number", "batch", "batch", 4121),
		doseBad("beneficiary_id number", "beneficiary_id", "beneficiary_id", json.RawMessage(booked)),
		doseBad("beneficiary_id missing", "beneficiary_id", "beneficiary_id", omit),
		doseBad("vaccine missing", "vaccine", "vaccine", omit),
		doseBad("batch missing", "batch", "batch", omit),
		doseBad("code missing with appointment", "code", "appointment_id", apptID),
		doseBad("vaccine unknown", "vaccine", "vaccine", "ASTRAZENECA"),
		doseBad("vaccine html", "vaccine", "vaccine", html),
		doseBad("vaccine sql", "vaccine", "vaccine", "COVISHIELD'; DROP TABLE doses;--"),
		doseBad("batch html", "batch", "batch", "<b>4121Z025</b>"),
		doseBad("batch sql", "batch", "batch", "4121Z025'; DROP TABLE doses;--"),
		doseBad("batch 10 KB", "batch", "batch", tenKB),
		doseBad("batch devanagari", "batch", "batch", "बैच१"),
		doseBad("beneficiary_id sql", "beneficiary_id", "beneficiary_id", booked+sqlID),
		doseBad("beneficiary_id html", "beneficiary_id", "beneficiary_id", html),
		doseBad("center_id sql", "center_id", "center_id", "C1"+sqlID),
		doseBad("appointment_id sql", "appointment_id", "appointment_id", apptID+sqlID, "code", "1234"),
		doseBad("appointment_id html", "appointment_id", "appointment_id", html, "code", "1234"),
		doseBad("code on a walk-in", "code", "code", "1234"),
		doseBad("code 3 digits", "code", "appointment_id", apptID, "code", "123"),
		doseBad("code letters", "code", "appointment_id", apptID, "code", "abcd"),
		doseBad("code sql", "code", "appointment_id", apptID, "code", "1' OR '1'='1"),
		badCase{name: "unknown beneficiary", method: "POST", path: doses, key: c1, body: db("beneficiary_id", unknownBen), wantStatus: 404, wantError: "not_found"},
		badCase{name: "unknown appointment", method: "POST", path: doses, key: c1, body: db("appointment_id", unknownAppt, "code", "1234"), wantStatus: 404, wantError: "not_found"},
	))...)

	// POST /v1/support/resend (support). A resend that got through would
	// spend the hourly allowance and queue an SMS.
	rb := func(kv ...any) string { return jsonWith(resendBase, kv...) }
	resendBad := func(name, field string, kv ...any) badCase {
		return badCase{name: name, method: "POST", path: resend, key: support, body: rb(kv...), wantStatus: 400, wantError: "bad_request", wantField: field}
	}
	cases = append(cases, prefix("POST resend", malformed(resend, support), auth("POST", resend, rb()), bad(
		badCase{name: "center key", method: "POST", path: resend, key: c1, body: rb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "registry key", method: "POST", path: resend, key: registry, body: rb(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "POST", path: resend, key: verifier, body: rb(), wantStatus: 403, wantError: "forbidden"},
		resendBad("unknown field", "mobile", "mobile", "9876543210"),
		resendBad("regenerate string", "regenerate", "regenerate", "true"),
		resendBad("regenerate number", "regenerate", "regenerate", 1),
		resendBad("what number", "what", "what", 1),
		resendBad("appointment_id number", "appointment_id", "appointment_id", 42),
		resendBad("what missing", "what", "what", omit),
		resendBad("appointment_id missing", "appointment_id", "appointment_id", omit),
		resendBad("what unknown", "what", "what", "sms"),
		resendBad("what upper case", "what", "what", "SECURITY_CODE"),
		resendBad("what html", "what", "what", html),
		resendBad("what sql", "what", "what", "slip'; DROP TABLE messages;--"),
		resendBad("appointment_id sql", "appointment_id", "appointment_id", apptID+sqlID),
		resendBad("appointment_id html", "appointment_id", "appointment_id", html),
		resendBad("appointment_id 10 KB", "appointment_id", "appointment_id", tenKB),
		resendBad("slip with beneficiary_id too", "beneficiary_id", "what", "slip", "beneficiary_id", booked),
		resendBad("confirmation by appointment", "what", "what", "confirmation"),
		resendBad("confirmation with regenerate", "what", "what", "confirmation", "appointment_id", omit, "beneficiary_id", booked, "regenerate", true),
		resendBad("confirmation beneficiary_id sql", "beneficiary_id", "what", "confirmation", "appointment_id", omit, "beneficiary_id", booked+sqlID),
		badCase{name: "unknown appointment", method: "POST", path: resend, key: support, body: rb("appointment_id", unknownAppt), wantStatus: 404, wantError: "not_found"},
		badCase{name: "confirmation of unknown beneficiary", method: "POST", path: resend, key: support,
			body: rb("what", "confirmation", "appointment_id", omit, "beneficiary_id", unknownBen), wantStatus: 404, wantError: "not_found"},
		badCase{name: "confirmation without a dose", method: "POST", path: resend, key: support,
			body: rb("what", "confirmation", "appointment_id", omit, "beneficiary_id", booked), wantStatus: 409, wantError: "no_dose"},
		badCase{name: "bad what with Idempotency-Key", method: "POST", path: resend, key: support, body: rb("what", "sms"), header: []string{"Idempotency-Key", "resend-1"},
			wantStatus: 400, wantError: "bad_request", wantField: "what"},
		badCase{name: "unknown appointment with Idempotency-Key", method: "POST", path: resend, key: support, body: rb("appointment_id", unknownAppt),
			header: []string{"Idempotency-Key", "resend-1"}, wantStatus: 404, wantError: "not_found"},
		badCase{name: "confirmation of unknown beneficiary with Idempotency-Key", method: "POST", path: resend, key: support,
			body: rb("what", "confirmation", "appointment_id", omit, "beneficiary_id", unknownBen), header: []string{"Idempotency-Key", "resend-1"}, wantStatus: 404, wantError: "not_found"},
		badCase{name: "Idempotency-Key 256 characters", method: "POST", path: resend, key: support, body: rb(), header: []string{"Idempotency-Key", strings.Repeat("k", 256)},
			wantStatus: 400, wantError: "bad_request"},
	))...)

	// GET /v1/support/messages?mobile= (support). A read that got through
	// would write an audit entry.
	histBad := func(name, mobile string) badCase {
		return badCase{name: name, method: "GET", path: history + q(mobile), key: support, wantStatus: 400, wantError: "invalid_mobile", wantField: "mobile"}
	}
	cases = append(cases, prefix("GET support messages", auth("GET", history+"9876543210", ""), bad(
		badCase{name: "registry key", method: "GET", path: history + "9876543210", key: registry, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "center key", method: "GET", path: history + "9876543210", key: c1, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "GET", path: history + "9876543210", key: verifier, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "mobile missing", method: "GET", path: "/v1/support/messages", key: support, wantStatus: 400, wantError: "invalid_mobile", wantField: "mobile"},
		histBad("mobile empty", ""),
		histBad("mobile too short", "98765"),
		histBad("mobile letters", "98765abcde"),
		histBad("mobile foreign without plus", "447911123456"),
		histBad("mobile landline", "02025501234"),
		histBad("mobile devanagari digits", "९८७६५४३२१०"),
		histBad("mobile sql", "9876543210' OR '1'='1"),
		histBad("mobile html", "<script>9876543210</script>"),
		histBad("mobile 2 KB", strings.Repeat("9", 2<<10)),
		// 10 KB in the query is past the server's read buffer: fasthttp
		// answers 431 before any route runs (with the generic code "error").
		badCase{name: "mobile 10 KB", method: "GET", path: history + strings.Repeat("9", 10<<10), key: support, wantStatus: 431},
	))...)

	// GET /v1/messages/{id} (support). A read that got through would write
	// an audit entry.
	msg := "/v1/messages/"
	cases = append(cases, prefix("GET message", auth("GET", msg+msgID, ""), bad(
		badCase{name: "registry key", method: "GET", path: msg + msgID, key: registry, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "center key", method: "GET", path: msg + msgID, key: c1, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "verifier key", method: "GET", path: msg + msgID, key: verifier, wantStatus: 403, wantError: "forbidden"},
		badCase{name: "unknown id", method: "GET", path: msg + unknownAppt, key: support, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id sql", method: "GET", path: msg + esc(msgID+sqlID), key: support, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id html", method: "GET", path: msg + esc(html), key: support, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id 2 KB", method: "GET", path: msg + strings.Repeat("a", 2<<10), key: support, wantStatus: 404, wantError: "not_found"},
		badCase{name: "id of an appointment", method: "GET", path: msg + apptID, key: support, wantStatus: 404, wantError: "not_found"},
	))...)

	// Keys presented wrongly, and routes or methods that do not exist.
	// POST /v1/kyvs/otp and /v1/kyvs/confirm (verifier). An OTP request
	// that got through would spend the verifier's hourly limit; a confirm,
	// a try of the transaction's OTP.
	kyvsOTP, kyvsConfirm := "/v1/kyvs/otp", "/v1/kyvs/confirm"
	otpBase := map[string]any{"name": "Asha Patil", "mobile": "9876543210"}
	txn := r.must(t, 202, "POST", kyvsOTP, verifier, otpBase)["txn_id"].(string)
	confirmBase := map[string]any{"txn_id": txn, "otp": "123456"}
	ob := func(kv ...any) string { return jsonWith(otpBase, kv...) }
	cob := func(kv ...any) string { return jsonWith(confirmBase, kv...) }
	otpBad := func(name, field string, kv ...any) badCase {
		return badCase{name: name, method: "POST", path: kyvsOTP, key: verifier, body: ob(kv...), wantStatus: 400, wantField: field}
	}
	confirmBad := func(name, field string, kv ...any) badCase {
		return badCase{name: name, method: "POST", path: kyvsConfirm, key: verifier, body: cob(kv...), wantStatus: 400, wantError: "bad_request", wantField: field}
	}
	cases = append(cases, prefix("POST kyvs otp", malformed(kyvsOTP, verifier), auth("POST", kyvsOTP, ob()), bad(
		badCase{name: "center key", method: "POST", path: kyvsOTP, key: c1, body: ob(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "registry key", method: "POST", path: kyvsOTP, key: registry, body: ob(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: kyvsOTP, key: support, body: ob(), wantStatus: 403, wantError: "forbidden"},
		otpBad("unknown field", "txn_id", "txn_id", txn),
		otpBad("name missing", "name", "name", omit),
		otpBad("name null", "name", "name", nil),
		otpBad("name empty", "name", "name", "  "),
		otpBad("name number", "name", "name", 42),
		otpBad("name html", "name", "name", html),
		otpBad("name 10 KB", "name", "name", tenKB),
		otpBad("mobile missing", "mobile", "mobile", omit),
		otpBad("mobile number", "mobile", "mobile", 9876543210),
		otpBad("mobile short", "mobile", "mobile", "98765"),
		otpBad("mobile letters", "mobile", "mobile", "98765ABCDE"),
		otpBad("mobile sql", "mobile", "mobile", sqlID),
		otpBad("mobile html", "mobile", "mobile", html),
		otpBad("mobile 10 KB", "mobile", "mobile", tenKB),
	))...)
	cases = append(cases, prefix("POST kyvs confirm", malformed(kyvsConfirm, verifier), auth("POST", kyvsConfirm, cob()), bad(
		badCase{name: "center key", method: "POST", path: kyvsConfirm, key: c1, body: cob(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "registry key", method: "POST", path: kyvsConfirm, key: registry, body: cob(), wantStatus: 403, wantError: "forbidden"},
		badCase{name: "support key", method: "POST", path: kyvsConfirm, key: support, body: cob(), wantStatus: 403, wantError: "forbidden"},
		confirmBad("unknown field", "mobile", "mobile", "9876543210"),
		confirmBad("otp missing", "otp", "otp", omit),
		confirmBad("otp five digits", "otp", "otp", "12345"),
		confirmBad("otp seven digits", "otp", "otp", "1234567"),
		confirmBad("otp letters", "otp", "otp", "12345a"),
		confirmBad("otp number", "otp", "otp", 123456),
		confirmBad("otp html", "otp", "otp", html),
		confirmBad("txn_id missing", "txn_id", "txn_id", omit),
		confirmBad("txn_id empty", "txn_id", "txn_id", ""),
		confirmBad("txn_id number", "txn_id", "txn_id", 42),
		confirmBad("txn_id 10 KB", "txn_id", "txn_id", tenKB),
		badCase{name: "unknown txn_id", method: "POST", path: kyvsConfirm, key: verifier, body: cob("txn_id", strings.Repeat("0", 32)), wantStatus: 410, wantError: "otp_expired"},
		badCase{name: "txn_id sql", method: "POST", path: kyvsConfirm, key: verifier, body: cob("txn_id", sqlID), wantStatus: 410, wantError: "otp_expired"},
	))...)
	cases = append(cases, prefix("auth", bad(
		badCase{name: "bearer without key", method: "POST", path: bens, body: bb(), header: []string{"Authorization", "Bearer "}, wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "key without scheme", method: "POST", path: bens, body: bb(), header: []string{"Authorization", adminKey}, wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "other scheme", method: "POST", path: bens, body: bb(), header: []string{"Authorization", "Token " + adminKey}, wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "basic with wrong password", method: "POST", path: bens, body: bb(),
			header: []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:wrong"))}, wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "key 300 characters", method: "POST", path: bens, key: strings.Repeat("k", 300), body: bb(), wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "key sql", method: "POST", path: bens, key: "x' OR '1'='1", body: bb(), wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "bad body without key", method: "POST", path: bens, body: `{"name":`, wantStatus: 401, wantError: "unauthorized"},
		badCase{name: "lower-case scheme", method: "GET", path: audit + "10", header: []string{"Authorization", "bearer " + adminKey},
			wantStatus: 200},
	))...)
	cases = append(cases, prefix("routing", bad(
		badCase{name: "unknown route", method: "POST", path: "/v1/beneficiary", key: adminKey, body: bb(), wantStatus: 404, wantError: "not_found"},
		badCase{name: "DELETE a centre", method: "DELETE", path: "/v1/centers/C1", key: adminKey, wantStatus: 405, wantError: "method_not_allowed"},
		badCase{name: "PUT a beneficiary", method: "PUT", path: bens, key: adminKey, body: bb(), wantStatus: 405, wantError: "method_not_allowed"},
	))...)

	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("two cases are named %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotRedis(t, r.rdb)
			r.sendBad(t, tc)
			if diff := diffRedis(before, snapshotRedis(t, r.rdb)); len(diff) > 0 {
				t.Errorf("%s %s changed the store:\n%s", tc.method, tc.path, strings.Join(diff, "\n"))
			}
		})
	}
	t.Logf("%d bad-input cases", len(cases))

	// Each case above broke one thing in a good request: sent whole, those
	// requests succeed, so the refusals were for the thing broken.
	t.Run("the base requests are good", func(t *testing.T) {
		r.must(t, 201, "POST", keys, adminKey, kb())
		r.must(t, 201, "POST", centers, registry, cb())
		r.must(t, 201, "POST", bens, registry, bb())
		r.must(t, 201, "POST", appts, registry, ab())
		r.must(t, 201, "POST", doses, c1, db())
		r.must(t, 202, "POST", resend, support, rb())
		r.must(t, 200, "GET", history+"9876543210", support, nil)
		r.must(t, 200, "GET", msg+msgID, support, nil)
		r.must(t, 200, "GET", audit+"10", adminKey, nil)
		r.must(t, 202, "POST", kyvsOTP, verifier, ob())
		if code, body := r.api(t, "POST", kyvsConfirm, verifier, cob()); code != 422 || body["error"] != "otp_mismatch" {
			t.Fatalf("the base confirm: %d %v, want 422 otp_mismatch (its OTP was never sent)", code, body)
		}
		r.must(t, 200, "POST", cancel, registry, nil)
	})
}

// TestGoodInput shows what bad-input checks must not refuse: names in
// Devanagari (Hindi, Marathi) and the ways people write Indian mobiles,
// which come back normalised to E.164.
func TestGoodInput(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	registry := r.newKey(t, "registry", "")
	support := r.newKey(t, "support", "")
	for _, tc := range []struct {
		name, mobile, lang   string
		wantName, wantMobile string
	}{
		{"आशा पाटील", "+91 98765 43210", "mr", "आशा पाटील", "+919876543210"},
		{"रमेश कुमार", "09876543211", "hi", "रमेश कुमार", "+919876543211"},
		{"श्री. ज़ैनब ख़ान", "098765-43212", "hi", "श्री. ज़ैनब ख़ान", "+919876543212"},
		{"सुनीता कुऱ्हाडे", "+91-98765-43213", "mr", "सुनीता कुऱ्हाडे", "+919876543213"},
		{"  सुनीता   देशमुख ", "9876543214", "mr", "सुनीता देशमुख", "+919876543214"},
		{"Anne-Marie D'Souza", "919876543215", "en", "Anne-Marie D'Souza", "+919876543215"},
		{"Lakshmi", "0091 98765 43216", "en", "Lakshmi", "+919876543216"},
		{"Asha Patil", "+91 (98765) 43217", "en", "Asha Patil", "+919876543217"},
		{"Priya Nair", "+44 7911 123456", "en", "Priya Nair", "+447911123456"},
		// Marathi eyelash ra (र + ् + ZWJ), as Marathi keyboards type it.
		{"सुनीता कुर्\u200dहाडे", "9876543218", "mr", "सुनीता कुर्\u200dहाडे", "+919876543218"},
	} {
		t.Run(tc.wantName+" "+tc.mobile, func(t *testing.T) {
			b := r.must(t, 201, "POST", "/v1/beneficiaries", registry, map[string]any{
				"name": tc.name, "mobile": tc.mobile, "birth_year": 1980, "gender": "f", "language": tc.lang})
			if b["name"] != tc.wantName || b["mobile"] != tc.wantMobile || b["language"] != tc.lang || b["gender"] != "F" {
				t.Fatalf("registered %v, want name %q mobile %q language %q gender F", b, tc.wantName, tc.wantMobile, tc.lang)
			}
			got := r.must(t, 200, "GET", "/v1/beneficiaries/"+b["id"].(string), registry, nil)
			if got["name"] != tc.wantName || got["mobile"] != tc.wantMobile {
				t.Fatalf("read back %v, want name %q mobile %q", got, tc.wantName, tc.wantMobile)
			}
			// Support finds the history by the mobile as the citizen wrote it.
			r.must(t, 200, "GET", "/v1/support/messages?mobile="+url.QueryEscape(tc.mobile), support, nil)
		})
	}

	t.Run("devanagari centre, key and booking", func(t *testing.T) {
		c := r.must(t, 201, "POST", "/v1/centers", registry, map[string]any{
			"id": "MH-PUNE_01", "name": "प्राथमिक आरोग्य केंद्र, औंध", "district": "पुणे", "state": "महाराष्ट्र", "pincode": "411007"})
		if c["name"] != "प्राथमिक आरोग्य केंद्र, औंध" || c["district"] != "पुणे" {
			t.Fatalf("centre = %v", c)
		}
		k := r.must(t, 201, "POST", "/v1/admin/keys", adminKey, map[string]any{"role": "center", "name": "लसीकरण केंद्र औंध", "center_id": "MH-PUNE_01"})
		if k["name"] != "लसीकरण केंद्र औंध" {
			t.Fatalf("key = %v", k)
		}
		id := r.newBeneficiary(t, "गणेश जोशी", "+91 98765 43220", "mr")
		a := r.must(t, 201, "POST", "/v1/appointments", registry, map[string]any{
			"beneficiary_id": id, "center_id": "MH-PUNE_01", "date": r.tomorrow(), "slot": "09:00-11:00", "dose": 1})
		if a["status"] != "booked" || a["message_id"] == nil {
			t.Fatalf("booking = %v", a)
		}
	})
}
