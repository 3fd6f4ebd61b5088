package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"sandesh/providers/twilio/twiliotest"
)

// api calls a /v1 route with key and a JSON body (a string is sent as is)
// and decodes the JSON answer.
func (r *rig) api(t *testing.T, method, path, key string, body any, header ...string) (int, map[string]any) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, r.url+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s %s answered %d with non-JSON %q", method, path, resp.StatusCode, out)
		}
	}
	if resp.StatusCode >= 400 && (m["error"] == nil || m["message"] == nil) {
		t.Fatalf("%s %s answered %d without {error, message}: %s", method, path, resp.StatusCode, out)
	}
	return resp.StatusCode, m
}

// must calls api and fails unless the status is want.
func (r *rig) must(t *testing.T, want int, method, path, key string, body any, header ...string) map[string]any {
	t.Helper()
	status, m := r.api(t, method, path, key, body, header...)
	if status != want {
		t.Fatalf("%s %s = %d %v, want %d", method, path, status, m, want)
	}
	return m
}

// newKey issues a key with the admin key.
func (r *rig) newKey(t *testing.T, role, centerID string) string {
	t.Helper()
	body := map[string]any{"role": role, "name": "test " + role}
	if centerID != "" {
		body["center_id"] = centerID
	}
	return r.must(t, 201, "POST", "/v1/admin/keys", adminKey, body)["key"].(string)
}

func (r *rig) newCenter(t *testing.T, id string) {
	t.Helper()
	r.must(t, 201, "POST", "/v1/centers", adminKey, map[string]any{
		"id": id, "name": "PHC " + id, "district": "Pune", "state": "Maharashtra", "pincode": "411007"})
}

func (r *rig) newBeneficiary(t *testing.T, name, mobile, lang string) string {
	t.Helper()
	return r.must(t, 201, "POST", "/v1/beneficiaries", adminKey, map[string]any{
		"name": name, "mobile": mobile, "birth_year": 1980, "gender": "F", "language": lang})["id"].(string)
}

// today is the programme's date, as the gateway sees it.
func (r *rig) today() string { return r.gw.today() }

func (r *rig) tomorrow() string { return r.daysOn(1) }

// daysOn is the programme's date n days after today.
func (r *rig) daysOn(n int) string { return r.gw.daysAgo(-n) }

// smsTo waits for the n-th SMS (1-based) the double received for mobile.
func (r *rig) smsTo(t *testing.T, mobile string, n int) twiliotest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var got []twiliotest.Message
		for _, m := range r.double.Messages() {
			if m.To == mobile {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("SMS %d to %s never reached the double", n, mobile)
	return twiliotest.Message{}
}

func (r *rig) countTo(mobile string) int {
	n := 0
	for _, m := range r.double.Messages() {
		if m.To == mobile {
			n++
		}
	}
	return n
}

var fourDigits = regexp.MustCompile(`\b[0-9]{4}\b`)

// codeIn finds the one 4-digit number in an SMS.
func codeIn(t *testing.T, body string) string {
	t.Helper()
	all := fourDigits.FindAllString(body, -1)
	if len(all) != 1 {
		t.Fatalf("want exactly one 4-digit code in %q, found %v", body, all)
	}
	return all[0]
}

func otherCode(code string) string {
	if code == "1234" {
		return "4321"
	}
	return "1234"
}

func contains(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("%q does not contain %q", body, p)
		}
	}
}
