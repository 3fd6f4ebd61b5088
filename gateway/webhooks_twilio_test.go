package gateway

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"sandesh/providers/twilio"
	"sandesh/store"
)

func TestTwilioStatusCallback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		callbacks [][2]string // status, error code
		want      store.Status
		wantCode  string
	}{
		{"delivered", [][2]string{{"sent", ""}, {"delivered", ""}}, store.StatusDelivered, ""},
		{"undelivered keeps the carrier's code", [][2]string{{"sent", ""}, {"undelivered", "30003"}}, store.StatusUndelivered, "30003"},
		{"failed", [][2]string{{"failed", "30007"}}, store.StatusFailed, "30007"},
		{"late sent after delivered changes nothing", [][2]string{{"delivered", ""}, {"sent", ""}}, store.StatusDelivered, ""},
		{"queued says nothing new", [][2]string{{"queued", ""}}, store.StatusSent, ""},
		{"read counts as delivered", [][2]string{{"read", ""}}, store.StatusDelivered, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			m, sent := r.sendOne(t)
			for _, cb := range tc.callbacks {
				resp, err := r.double.PostStatus(context.Background(), sent, cb[0], cb[1])
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode/100 != 2 {
					t.Fatalf("callback %s answered %d", cb[0], resp.StatusCode)
				}
			}
			got := r.message(t, m.ID)
			if got.Status != tc.want || got.ErrorCode != tc.wantCode {
				t.Fatalf("message is %s (code %q), want %s (code %q)", got.Status, got.ErrorCode, tc.want, tc.wantCode)
			}
			// The report is counted under the message's template.
			_, metrics := do(t, "GET", r.url+"/metrics", "", "", map[string]string{"Authorization": "Bearer " + adminKey})
			if want := `sandesh_messages_total{provider="primary",status="` + string(tc.want) + `",template="` + m.Template + `"} 1`; tc.want != store.StatusSent && !strings.Contains(metrics, want) {
				t.Fatalf("/metrics lacks %s", want)
			}
		})
	}
}

func TestTwilioStatusCallbackRejects(t *testing.T) {
	r := newRig(t)
	m, sent := r.sendOne(t)
	path := "/webhooks/twilio/primary/status?m=" + url.QueryEscape(m.ID)
	params := map[string]string{"MessageSid": sent.Sid, "MessageStatus": "delivered", "AccountSid": r.double.AccountSID}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	good := twilio.Sign(r.double.AuthToken, r.url+path, params)
	const formType = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, path, body, sig string
		want                  int
		wantErr               string
	}{
		{"no signature", path, form.Encode(), "", 403, "forbidden"},
		{"signed with another token", path, form.Encode(), twilio.Sign("0123456789abcdef0123456789abcdef", r.url+path, params), 403, "forbidden"},
		{"tampered status", path, strings.Replace(form.Encode(), "delivered", "failed", 1), good, 403, "forbidden"},
		{"signature for another message", "/webhooks/twilio/primary/status?m=other", form.Encode(), good, 403, "forbidden"},
		{"unknown provider", "/webhooks/twilio/nosuch/status?m=x", form.Encode(), good, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, "POST", r.url+tc.path, formType, tc.body, map[string]string{"X-Twilio-Signature": tc.sig})
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			var e struct{ Error, Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != tc.wantErr || e.Message == "" {
				t.Fatalf("body %s, want error %q", body, tc.wantErr)
			}
			if got := r.message(t, m.ID); got.Status != store.StatusSent {
				t.Fatalf("a rejected callback changed the message to %s", got.Status)
			}
		})
	}

	// Signed, but about a message we never sent.
	unknown := "/webhooks/twilio/primary/status?m=doesnotexist"
	status, _ := do(t, "POST", r.url+unknown, formType, form.Encode(),
		map[string]string{"X-Twilio-Signature": twilio.Sign(r.double.AuthToken, r.url+unknown, params)})
	if status != 404 {
		t.Fatalf("callback for an unknown message answered %d, want 404", status)
	}
	// Signed, but missing the fields it must carry.
	empty := map[string]string{"AccountSid": r.double.AccountSID}
	status, _ = do(t, "POST", r.url+path, formType, "AccountSid="+r.double.AccountSID,
		map[string]string{"X-Twilio-Signature": twilio.Sign(r.double.AuthToken, r.url+path, empty)})
	if status != 400 {
		t.Fatalf("callback without MessageSid answered %d, want 400", status)
	}
}

func TestStatusCallbackWithoutOurID(t *testing.T) {
	r := newRig(t)
	m, sent := r.sendOne(t)
	// A callback URL configured on the Twilio side carries no ?m=: the
	// provider's message id finds the message.
	path := "/webhooks/twilio/primary/status"
	params := map[string]string{"MessageSid": sent.Sid, "MessageStatus": "delivered"}
	status, body := do(t, "POST", r.url+path, "application/x-www-form-urlencoded",
		"MessageSid="+sent.Sid+"&MessageStatus=delivered",
		map[string]string{"X-Twilio-Signature": twilio.Sign(r.double.AuthToken, r.url+path, params)})
	if status/100 != 2 {
		t.Fatalf("status %d: %s", status, body)
	}
	if got := r.message(t, m.ID); got.Status != store.StatusDelivered {
		t.Fatalf("message is %s", got.Status)
	}
}

func TestStatusCallbackRedisDown(t *testing.T) {
	r := newRig(t)
	m, sent := r.sendOne(t)
	_ = m
	r.rdb.Close() // the store's connection is gone: as good as Redis down
	resp, err := r.double.PostStatus(context.Background(), sent, "delivered", "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 {
		t.Fatalf("with Redis down the callback answered %d, want 503 so Twilio retries", resp.StatusCode)
	}
}
