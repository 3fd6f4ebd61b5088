package attest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"sandesh/providers/africastalking/attest"
)

type sendAnswer struct {
	SMSMessageData struct {
		Message    string
		Recipients []struct {
			StatusCode int    `json:"statusCode"`
			Number     string `json:"number"`
			Status     string `json:"status"`
			Cost       string `json:"cost"`
			MessageID  string `json:"messageId"`
		}
	}
}

// post sends a messaging request as AT's clients do, changed by edit.
func post(t *testing.T, srv *attest.Server, form url.Values, edit func(*http.Request)) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+attest.Path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("apiKey", srv.APIKey)
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestServerChecks(t *testing.T) {
	srv := attest.NewServer(t)
	good := func() url.Values {
		return url.Values{"username": {srv.Username}, "to": {"+254711000000"}, "message": {"hi"}}
	}
	for _, tc := range []struct {
		name       string
		form       func() url.Values
		edit       func(*http.Request)
		wantStatus int
		wantBody   string
	}{
		{"wrong api key", good, func(r *http.Request) { r.Header.Set("apiKey", "atsk_wrong") }, 401, attest.AuthFailed},
		{"no api key", good, func(r *http.Request) { r.Header.Del("apiKey") }, 401, attest.AuthFailed},
		{"wrong username", func() url.Values { f := good(); f.Set("username", "other"); return f }, nil, 401, attest.AuthFailed},
		{"no to", func() url.Values { f := good(); f.Del("to"); return f }, nil, 400, "Request is missing required form field 'to'"},
		{"no message", func() url.Values { f := good(); f.Del("message"); return f }, nil, 400, "Request is missing required form field 'message'"},
		{"JSON body", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 415, ""},
		{"GET", good, func(r *http.Request) { r.Method = http.MethodGet }, 405, ""},
		{"wrong path", good, func(r *http.Request) { r.URL.Path = "/version1/sms" }, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := post(t, srv, tc.form(), tc.edit)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("answer %d %q, want %d %q", status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	if srv.Count() != 0 {
		t.Errorf("double accepted %d messages", srv.Count())
	}
}

func TestServerAccepts(t *testing.T) {
	srv := attest.NewServer(t)
	form := url.Values{"username": {srv.Username}, "to": {"+254711000000,+254722000000, 0711"}, "message": {"hi"},
		"from": {"SANDESH"}, "enqueue": {"1"}}
	status, body, h := post(t, srv, form, nil)
	if status != http.StatusCreated || h.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %s %q", status, h.Get("Content-Type"), body)
	}
	var a sendAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	d := a.SMSMessageData
	if d.Message != "Sent to 2/3 Total Cost: "+attest.Cost || len(d.Recipients) != 3 {
		t.Fatalf("answer %+v", d)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("double recorded %+v", msgs)
	}
	for i, m := range msgs {
		r := d.Recipients[i]
		if r.StatusCode != 101 || r.Status != "Success" || r.Cost != attest.Cost || r.MessageID != m.MessageID ||
			!strings.HasPrefix(m.MessageID, "ATXid_") || r.Number != m.To {
			t.Errorf("recipient %+v, message %+v", r, m)
		}
		if m.From != "SANDESH" || !m.Enqueue || m.Message != "hi" || m.StatusCode != 101 || m.At.IsZero() || m.Form.Get("username") != srv.Username {
			t.Errorf("message %+v", m)
		}
	}
	if msgs[0].MessageID == msgs[1].MessageID {
		t.Errorf("message ids not unique: %s", msgs[0].MessageID)
	}
	if r := d.Recipients[2]; r.StatusCode != 403 || r.Status != "InvalidPhoneNumber" || r.MessageID != "None" || r.Number != "0711" {
		t.Errorf("invalid number answered %+v", r)
	}

	// Without Accept: application/json AT answers XML.
	status, body, h = post(t, srv, url.Values{"username": {srv.Username}, "to": {"+254711000000"}, "message": {"hi"}},
		func(r *http.Request) { r.Header.Del("Accept") })
	if status != http.StatusCreated || h.Get("Content-Type") != "application/xml" ||
		!strings.Contains(body, "<AfricasTalkingResponse><SMSMessageData>") || !strings.Contains(body, "<statusCode>101</statusCode>") {
		t.Errorf("answer %d %s %q", status, h.Get("Content-Type"), body)
	}
	if srv.Calls() != 2 || srv.Count() != 3 {
		t.Errorf("calls %d count %d", srv.Calls(), srv.Count())
	}
}

func TestServerRespond(t *testing.T) {
	srv := attest.NewServer(t)
	srv.Respond(attest.FailFirst(1, attest.Failure{StatusCode: 406}))
	form := url.Values{"username": {srv.Username}, "to": {"+254711000000"}, "message": {"hi"}}
	_, body, _ := post(t, srv, form, nil)
	var a sendAnswer
	json.Unmarshal([]byte(body), &a)
	if r := a.SMSMessageData.Recipients; len(r) != 1 || r[0].StatusCode != 406 || r[0].Status != "UserInBlacklist" || r[0].MessageID != "None" {
		t.Errorf("first answer %s", body)
	}
	if status, _, _ := post(t, srv, form, nil); status != http.StatusCreated || srv.Count() != 1 {
		t.Errorf("second answer %d, %d accepted", status, srv.Count())
	}

	srv.Respond(attest.FailAll(attest.Failure{StatusCode: 102}))
	post(t, srv, form, nil)
	if m := srv.Messages(); len(m) != 2 || m[1].StatusCode != 102 {
		t.Errorf("queued answer recorded %+v", m)
	}

	srv.Respond(attest.FailAll(attest.Failure{Status: 429, Header: http.Header{"Retry-After": {"3"}}, Body: "slow down"}))
	if status, body, h := post(t, srv, form, nil); status != 429 || body != "slow down" || h.Get("Retry-After") != "3" {
		t.Errorf("answer %d %q %v", status, body, h)
	}

	srv.Respond(attest.FailAll(attest.NoRecipients("InvalidPhoneNumber")))
	if status, body, _ := post(t, srv, form, nil); status != 201 || body != `{"SMSMessageData":{"Message":"InvalidPhoneNumber","Recipients":[]}}` {
		t.Errorf("answer %d %q", status, body)
	}
	if srv.Count() != 2 {
		t.Errorf("%d accepted, want 2", srv.Count())
	}
}

func TestPostReport(t *testing.T) {
	srv := attest.NewServer(t)
	form := url.Values{"username": {srv.Username}, "to": {"+254711000000"}, "message": {"hi"}}
	post(t, srv, form, nil)
	id := srv.Messages()[0].MessageID

	var mu sync.Mutex
	var got []url.Values
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.URL.Query().Get("token") != "t0k" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.ParseForm()
		mu.Lock()
		got = append(got, r.PostForm)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(app.Close)

	resp, err := srv.PostReport(context.Background(), app.URL+"/webhooks/africastalking/primary/status?token=t0k", id, "Failed", "UserInBlacklist")
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PostReport = %v, %v", resp, err)
	}
	resp, err = srv.PostReport(context.Background(), app.URL+"/webhooks/africastalking/primary/status?token=t0k", "ATXid_other", "Success", "")
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PostReport = %v, %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []url.Values{
		{"id": {id}, "status": {"Failed"}, "phoneNumber": {"+254711000000"}, "networkCode": {"63902"}, "failureReason": {"UserInBlacklist"}, "retryCount": {"0"}},
		{"id": {"ATXid_other"}, "status": {"Success"}, "phoneNumber": {""}, "networkCode": {"63902"}, "retryCount": {"0"}},
	}
	if len(got) != 2 {
		t.Fatalf("app got %v", got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Errorf("report %d: %v, want %v", i, got[i], want[i])
		}
		for k := range want[i] {
			if got[i].Get(k) != want[i].Get(k) {
				t.Errorf("report %d: %s=%q, want %q", i, k, got[i].Get(k), want[i].Get(k))
			}
		}
	}
}
