package twiliotest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/providers/twilio"
	"sandesh/providers/twilio/twiliotest"
)

// post sends a create request the way twilio-go does.
func post(t *testing.T, s *twiliotest.Server, user, pass, sid string, form url.Values) (int, map[string]any) {
	t.Helper()
	u := s.URL + "/2010-04-01/Accounts/" + sid + "/Messages.json"
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, body
}

func TestCreateValidation(t *testing.T) {
	s := twiliotest.NewServer(t)
	full := url.Values{"To": {"+919812345678"}, "From": {"+15005550006"}, "Body": {"hi"}}
	without := func(k string) url.Values {
		f := url.Values{}
		for kk, v := range full {
			if kk != k {
				f[kk] = v
			}
		}
		return f
	}
	for _, tc := range []struct {
		name       string
		user, pass string
		sid        string
		form       url.Values
		wantStatus int
		wantCode   float64
	}{
		{"accepted", s.AccountSID, s.AuthToken, s.AccountSID, full, 201, 0},
		{"no auth", "", "", s.AccountSID, full, 401, 20003},
		{"wrong token", s.AccountSID, "nope", s.AccountSID, full, 401, 20003},
		{"wrong user", "AC0", s.AuthToken, s.AccountSID, full, 401, 20003},
		{"other account in path", s.AccountSID, s.AuthToken, "AC0", full, 404, 20404},
		{"missing To", s.AccountSID, s.AuthToken, s.AccountSID, without("To"), 400, 21604},
		{"missing Body", s.AccountSID, s.AuthToken, s.AccountSID, without("Body"), 400, 21602},
		{"missing From", s.AccountSID, s.AuthToken, s.AccountSID, without("From"), 400, 21603},
		{"service instead of From", s.AccountSID, s.AuthToken, s.AccountSID,
			url.Values{"To": {"+919812345678"}, "MessagingServiceSid": {"MG1"}, "Body": {"hi"}}, 201, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, s, tc.user, tc.pass, tc.sid, tc.form)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d (%v)", status, tc.wantStatus, body)
			}
			if tc.wantCode == 0 {
				return
			}
			if body["code"] != tc.wantCode || body["status"] != float64(tc.wantStatus) ||
				body["more_info"] != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", int(tc.wantCode)) || body["message"] == "" {
				t.Errorf("error body %v", body)
			}
		})
	}
	if s.Calls() != 9 || s.Count() != 2 {
		t.Errorf("Calls %d Count %d, want 9 and 2", s.Calls(), s.Count())
	}
}

func TestCreateResource(t *testing.T) {
	s := twiliotest.NewServer(t)
	for _, tc := range []struct {
		name       string
		form       url.Values
		wantStatus string
		wantFrom   any
		wantMSS    any
		wantSegs   string
	}{
		{"from", url.Values{"To": {"+919812345678"}, "From": {"+15005550006"}, "Body": {"hi"}}, "queued", "+15005550006", nil, "1"},
		{"service", url.Values{"To": {"+919812345678"}, "MessagingServiceSid": {"MG1"}, "Body": {"hi"}}, "accepted", nil, "MG1", "0"},
		{"160 GSM", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("a", 160)}}, "queued", "+2", nil, "1"},
		{"161 GSM", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("a", 161)}}, "queued", "+2", nil, "2"},
		{"80 euro signs = 160 septets", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("€", 80)}}, "queued", "+2", nil, "1"},
		{"81 euro signs", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("€", 81)}}, "queued", "+2", nil, "2"},
		{"70 UCS-2", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("क", 70)}}, "queued", "+2", nil, "1"},
		{"71 UCS-2", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("क", 71)}}, "queued", "+2", nil, "2"},
		{"135 UCS-2", url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("क", 135)}}, "queued", "+2", nil, "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, r := post(t, s, s.AccountSID, s.AuthToken, s.AccountSID, tc.form)
			if status != 201 {
				t.Fatalf("status %d: %v", status, r)
			}
			sid, _ := r["sid"].(string)
			if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(sid) {
				t.Errorf("sid %q", sid)
			}
			want := map[string]any{
				"account_sid": s.AccountSID, "api_version": "2010-04-01", "body": tc.form.Get("Body"),
				"direction": "outbound-api", "error_code": nil, "error_message": nil, "price": nil, "date_sent": nil,
				"from": tc.wantFrom, "messaging_service_sid": tc.wantMSS, "num_media": "0", "num_segments": tc.wantSegs,
				"status": tc.wantStatus, "to": tc.form.Get("To"),
				"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + sid + ".json",
			}
			for k, v := range want {
				if got, ok := r[k]; !ok || got != v {
					t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, v)
				}
			}
			if _, err := time.Parse(time.RFC1123Z, r["date_created"].(string)); err != nil {
				t.Errorf("date_created %q is not RFC 2822: %v", r["date_created"], err)
			}
			sub, _ := r["subresource_uris"].(map[string]any)
			if sub["media"] != "/2010-04-01/Accounts/"+s.AccountSID+"/Messages/"+sid+"/Media.json" {
				t.Errorf("subresource_uris %v", sub)
			}
		})
	}
}

func TestNewServerCredentials(t *testing.T) {
	a, b := twiliotest.NewServer(t), twiliotest.NewServer(t)
	if !regexp.MustCompile(`^AC[0-9a-f]{32}$`).MatchString(a.AccountSID) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.AuthToken) {
		t.Errorf("sid %q token %q", a.AccountSID, a.AuthToken)
	}
	if a.AccountSID == b.AccountSID || a.AuthToken == b.AuthToken {
		t.Error("two servers share credentials")
	}
}

func TestRespond(t *testing.T) {
	s := twiliotest.NewServer(t)
	p, err := twilio.New(twilio.Config{Name: "p", AccountSID: s.AccountSID, AuthToken: s.AuthToken, From: "+1", BaseURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	s.Respond(func(n int, form url.Values) *twiliotest.Failure {
		seen = append(seen, n) // sequential sends: no race
		if form.Get("Body") == "bad" {
			return &twiliotest.Failure{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number: +1"}
		}
		return nil
	})
	for _, body := range []string{"ok", "bad", "ok"} {
		p.Send(context.Background(), providersMsg(body))
	}
	if fmt.Sprint(seen) != "[1 2 3]" || s.Calls() != 3 || s.Count() != 2 {
		t.Errorf("seen %v Calls %d Count %d", seen, s.Calls(), s.Count())
	}

	s.Respond(twiliotest.FailFirst(6, twiliotest.Failure{Status: 503, Code: 20503})) // n counts from the first call: 4–6 fail
	for i := 0; i < 3; i++ {
		if _, err := p.Send(context.Background(), providersMsg("x")); err == nil {
			t.Error("FailFirst let call", 4+i, "through")
		}
	}
	if _, err := p.Send(context.Background(), providersMsg("x")); err != nil {
		t.Errorf("call 7: %v", err)
	}

	s.Respond(twiliotest.FailAll(500, 20500))
	if _, err := p.Send(context.Background(), providersMsg("x")); err == nil || !strings.Contains(err.Error(), "20500") {
		t.Errorf("FailAll: %v", err)
	}
	s.Respond(nil)
	if _, err := p.Send(context.Background(), providersMsg("x")); err != nil {
		t.Errorf("Respond(nil): %v", err)
	}
	if s.Calls() != 9 || s.Count() != 4 {
		t.Errorf("Calls %d Count %d, want 9 and 4", s.Calls(), s.Count())
	}
	msgs := s.Messages()
	if len(msgs) != 4 || msgs[0].Body != "ok" || msgs[1].Body != "ok" {
		t.Errorf("Messages %+v", msgs)
	}
}

func TestDelay(t *testing.T) {
	s := twiliotest.NewServer(t)
	s.Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Delay: 150 * time.Millisecond} })
	p, _ := twilio.New(twilio.Config{Name: "p", AccountSID: s.AccountSID, AuthToken: s.AuthToken, From: "+1", BaseURL: s.URL})
	start := time.Now()
	if _, err := p.Send(context.Background(), providersMsg("slow")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v, want ≥150ms", d)
	}
}

func TestWaitCount(t *testing.T) {
	s := twiliotest.NewServer(t)
	p, _ := twilio.New(twilio.Config{Name: "p", AccountSID: s.AccountSID, AuthToken: s.AuthToken, From: "+1", BaseURL: s.URL})
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Send(context.Background(), providersMsg("x"))
		}()
	}
	s.WaitCount(t, 100, 5*time.Second)
	wg.Wait()

	ft := &fakeTB{TB: t}
	start := time.Now()
	s.WaitCount(ft, 101, 50*time.Millisecond)
	if !ft.failed || time.Since(start) < 50*time.Millisecond {
		t.Errorf("WaitCount for a 101st message: failed=%v after %v", ft.failed, time.Since(start))
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }
func (f *fakeTB) Errorf(string, ...any) { f.failed = true }
func (f *fakeTB) Cleanup(func())        {}
func (f *fakeTB) Logf(string, ...any)   {}
func (f *fakeTB) Fatal(...any)          { f.failed = true }

func TestPostStatus(t *testing.T) {
	s := twiliotest.NewServer(t)
	type got struct {
		form  url.Values
		valid bool
		ct    string
	}
	ch := make(chan got, 2)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		valid := twilio.ValidSignature(s.AuthToken, "http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature"))
		ch <- got{r.PostForm, valid, r.Header.Get("Content-Type")}
		io.WriteString(w, "ok")
	}))
	defer app.Close()

	m := twiliotest.Message{Sid: "SM" + strings.Repeat("a", 32), To: "+919812345678", From: "+15005550006",
		StatusCallback: app.URL + "/webhooks/twilio/p/status?m=" + url.QueryEscape("id 1")}
	for _, tc := range []struct {
		status, errorCode string
	}{
		{"delivered", ""},
		{"undelivered", "30003"},
	} {
		resp, err := s.PostStatus(context.Background(), m, tc.status, tc.errorCode)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Errorf("response %d %q", resp.StatusCode, b)
		}
		g := <-ch
		if !g.valid || g.ct != "application/x-www-form-urlencoded" {
			t.Errorf("valid %v content type %q", g.valid, g.ct)
		}
		want := url.Values{"MessageSid": {m.Sid}, "SmsSid": {m.Sid}, "MessageStatus": {tc.status}, "SmsStatus": {tc.status},
			"AccountSid": {s.AccountSID}, "From": {m.From}, "To": {m.To}, "ApiVersion": {"2010-04-01"}}
		if tc.errorCode != "" {
			want.Set("ErrorCode", tc.errorCode)
		}
		if g.form.Encode() != want.Encode() {
			t.Errorf("form\n got %s\nwant %s", g.form.Encode(), want.Encode())
		}
	}
	if _, err := s.PostStatus(context.Background(), twiliotest.Message{Sid: "SM1"}, "sent", ""); err == nil {
		t.Error("PostStatus without a StatusCallback did not fail")
	}
}

// A hung request is released when the server closes, and nothing of the
// server is left running.
func TestCloseReleasesHungRequests(t *testing.T) {
	before := runtime.NumGoroutine()
	errs := make(chan error, 10)
	t.Run("server", func(t *testing.T) {
		s := twiliotest.NewServer(t)
		s.Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Hang: true} })
		p, _ := twilio.New(twilio.Config{Name: "p", AccountSID: s.AccountSID, AuthToken: s.AuthToken, From: "+1", BaseURL: s.URL, Timeout: time.Minute})
		for i := 0; i < 10; i++ {
			go func() {
				_, err := p.Send(context.Background(), providersMsg("x"))
				errs <- err
			}()
		}
		for s.Calls() < 10 {
			time.Sleep(5 * time.Millisecond)
		}
	}) // cleanup closes the server here
	for i := 0; i < 10; i++ {
		select {
		case err := <-errs:
			if err == nil {
				t.Error("hung send succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("hung sends not released by Close")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
