package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"sandesh/store"
)

// TestAfricasTalkingStatus drives the delivery-report webhook as AT posts
// it (a form, the token as ?token=): the report moves the message, and
// every refusal is the JSON the contract documents (the package's
// TestMain checks each answer against openapi.yaml).
func TestAfricasTalkingStatus(t *testing.T) {
	r := newRigWith(t, func(o *ServerOptions) { o.AfricasTalkingTokens = map[string]string{"africa": "hook-token", "open": ""} })
	ctx := context.Background()
	m, err := r.store.CreateMessage(ctx, store.NewMessage{To: "+254711000001", Template: "security_code", Language: "en",
		Body: "Your code is 4821", Masked: "Your code is ****", Encoding: "GSM-7", Segments: 1, Priority: store.PriorityTransactional})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Advance(ctx, m.ID, store.Update{Status: store.StatusSent, Provider: "africa", ProviderMessageID: "ATXid_7e1f"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       int
		wantError  string
	}{
		{"no such provider", "/webhooks/africastalking/nosuch/status?token=hook-token", url.Values{"id": {"ATXid_7e1f"}, "status": {"Success"}}, 404, "not_found"},
		{"wrong token", "/webhooks/africastalking/africa/status?token=nope", url.Values{"id": {"ATXid_7e1f"}, "status": {"Success"}}, 403, "forbidden"},
		{"no token", "/webhooks/africastalking/africa/status", url.Values{"id": {"ATXid_7e1f"}, "status": {"Success"}}, 403, "forbidden"},
		{"no id", "/webhooks/africastalking/africa/status?token=hook-token", url.Values{"status": {"Success"}}, 400, "bad_request"},
		{"status not a word", "/webhooks/africastalking/africa/status?token=hook-token", url.Values{"id": {"ATXid_7e1f"}, "status": {"<b>"}}, 400, "bad_request"},
		{"delivered", "/webhooks/africastalking/africa/status?token=hook-token", url.Values{"id": {"ATXid_7e1f"}, "status": {"Success"}}, 204, ""},
		{"again", "/webhooks/africastalking/africa/status?token=hook-token", url.Values{"id": {"ATXid_7e1f"}, "status": {"Success"}}, 204, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, "POST", r.url+tc.path, "application/x-www-form-urlencoded", tc.form.Encode(), nil)
			if status != tc.want || !strings.Contains(body, tc.wantError) {
				t.Fatalf("%d %s, want %d %s", status, body, tc.want, tc.wantError)
			}
		})
	}
	if got, err := r.store.Message(ctx, m.ID); err != nil || got.Status != store.StatusDelivered {
		t.Fatalf("message after the report: %s, %v", got.Status, err)
	}
	if status, _ := do(t, "POST", r.url+"/webhooks/africastalking/open/status", "application/x-www-form-urlencoded",
		url.Values{"id": {"ATXid_unknown"}, "status": {"Success"}}.Encode(), nil); status == http.StatusInternalServerError {
		t.Fatal("a report for a message we do not know is a 500")
	}
}
