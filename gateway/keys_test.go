package gateway

import (
	"testing"
	"time"
)

// TestListAndRevokeKeys: the key list shows every key issued, never a
// key; a revoked key is refused at once and stays listed with the time of
// its first revocation.
func TestListAndRevokeKeys(t *testing.T) {
	r := newRig(t)
	r.newCenter(t, "C1")
	created := map[string]map[string]any{}
	for _, body := range []map[string]any{
		{"role": "support", "name": "Helpline Pune"},
		{"role": "center", "name": "PHC Aundh", "center_id": "C1"},
	} {
		k := r.must(t, 201, "POST", "/v1/admin/keys", adminKey, body)
		created[k["name"].(string)] = k
	}
	helpline, phc := created["Helpline Pune"], created["PHC Aundh"]
	listed := func() map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		for _, k := range r.must(t, 200, "GET", "/v1/admin/keys", adminKey, nil)["keys"].([]any) {
			k := k.(map[string]any)
			if _, ok := k["key"]; ok {
				t.Fatalf("the list shows a key: %v", k)
			}
			out[k["id"].(string)] = k
		}
		return out
	}
	got := listed()
	for _, want := range []map[string]any{helpline, phc} {
		k := got[want["id"].(string)]
		if k == nil || k["role"] != want["role"] || k["name"] != want["name"] || k["center_id"] != want["center_id"] ||
			k["created_at"] != want["created_at"] || k["revoked_at"] != nil {
			t.Fatalf("listed %v, created %v", k, want)
		}
	}

	clear := helpline["key"].(string)
	r.must(t, 200, "GET", "/v1/support/messages?mobile=9876543210", clear, nil)
	r.must(t, 204, "DELETE", "/v1/admin/keys/"+helpline["id"].(string), adminKey, nil)
	if code, body := r.api(t, "GET", "/v1/support/messages?mobile=9876543210", clear, nil); code != 401 || body["error"] != "unauthorized" {
		t.Fatalf("revoked key: %d %v, want 401 unauthorized", code, body)
	}
	revokedAt, err := time.Parse(time.RFC3339Nano, listed()[helpline["id"].(string)]["revoked_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	r.advance(time.Minute)
	r.must(t, 204, "DELETE", "/v1/admin/keys/"+helpline["id"].(string), adminKey, nil) // twice: no change
	if again := listed()[helpline["id"].(string)]["revoked_at"]; again != revokedAt.Format(time.RFC3339Nano) {
		t.Fatalf("revoked_at moved from %s to %v on the second revocation", revokedAt, again)
	}
	if listed()[phc["id"].(string)]["revoked_at"] != nil {
		t.Fatal("revoking one key revoked another")
	}

	support := r.newKey(t, "support", "")
	for _, tc := range []struct {
		name, method, path, key string
		want                    int
		wantErr                 string
	}{
		{"unknown id", "DELETE", "/v1/admin/keys/key_000000000000", adminKey, 404, "not_found"},
		{"malformed id", "DELETE", "/v1/admin/keys/..%2Fapikey", adminKey, 404, "not_found"},
		{"list without a key", "GET", "/v1/admin/keys", "", 401, "unauthorized"},
		{"list with a support key", "GET", "/v1/admin/keys", support, 403, "forbidden"},
		{"revoke with a support key", "DELETE", "/v1/admin/keys/" + phc["id"].(string), support, 403, "forbidden"},
		{"revoke with the revoked key", "DELETE", "/v1/admin/keys/" + phc["id"].(string), clear, 401, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := r.api(t, tc.method, tc.path, tc.key, nil); code != tc.want || body["error"] != tc.wantErr {
				t.Fatalf("%s %s: %d %v, want %d %s", tc.method, tc.path, code, body, tc.want, tc.wantErr)
			}
		})
	}
	if listed()[phc["id"].(string)]["revoked_at"] != nil {
		t.Fatal("a refused revocation revoked the key")
	}
}
