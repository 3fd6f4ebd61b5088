package smsdouble_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/twilio"
	"sandesh/providers/twilio/smsdouble"
)

// start runs a double behind an httptest server until the test ends.
func start(t testing.TB, cfg smsdouble.Config) (*smsdouble.Server, *httptest.Server) {
	t.Helper()
	d, err := smsdouble.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close() // first: releases hung requests, which ts.Close waits for
		ts.Close()
	})
	return d, ts
}

// provider is the production Twilio provider pointed at the double;
// publicURL "" means no status callbacks.
func provider(t testing.TB, d *smsdouble.Server, ts *httptest.Server, publicURL string, timeout time.Duration) *twilio.Provider {
	t.Helper()
	p, err := twilio.New(twilio.Config{
		Name: "drill", AccountSID: d.AccountSID(), AuthToken: d.AuthToken(), From: "+15005550006",
		BaseURL: ts.URL, PublicURL: publicURL, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func outbound(id string) providers.Outbound {
	return providers.Outbound{MessageID: id, To: "+919812345678", Body: "Your OTP is 123456"}
}

// call makes one request to the double and decodes a JSON answer into v
// (nil: ignore the body).
func call(t *testing.T, method, u, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v", method, u, err)
		}
	}
	return resp.StatusCode
}

// messages reads GET /messages (query may be "").
func messages(t *testing.T, ts *httptest.Server, query string) []smsdouble.Accepted {
	t.Helper()
	resp, err := http.Get(ts.URL + "/messages" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("GET /messages%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []smsdouble.Accepted
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var a smsdouble.Accepted
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return out
}

func TestSendThroughProvider(t *testing.T) {
	d, ts := start(t, smsdouble.Config{})
	p := provider(t, d, ts, "https://sms.example.org", 5*time.Second)
	m := outbound("01J9Z0 x/y")
	r, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(r.ProviderMessageID) {
		t.Errorf("sid %q", r.ProviderMessageID)
	}
	got := d.Messages(0)
	if len(got) != 1 {
		t.Fatalf("recorded %d messages, want 1", len(got))
	}
	a := got[0]
	if a.Sid != r.ProviderMessageID || a.To != m.To || a.Body != m.Body || a.MessageID != m.MessageID ||
		time.Since(time.Unix(0, a.AtUnixNano)) > time.Minute {
		t.Errorf("recorded %+v, receipt %+v", a, r)
	}
	if rec := d.Record(); rec.Accepted != 1 || rec.UniqueMessageIDs != 1 || len(rec.Duplicates) != 0 {
		t.Errorf("record %+v", rec)
	}
}

// Every refusal answers Twilio's error and is counted under its reason.
func TestCreateRefusals(t *testing.T) {
	d, ts := start(t, smsdouble.Config{})
	sid, token := d.AccountSID(), d.AuthToken()
	const full = "To=%2B919812345678&From=%2B15005550006&Body=hi"
	for _, tc := range []struct {
		name         string
		user, pass   string // Basic auth; no user: none
		pathSID      string
		form         string
		wantStatus   int
		wantCode     int
		wantRejected smsdouble.Rejected
	}{
		{"accepted", sid, token, sid, full, 201, 0, smsdouble.Rejected{}},
		{"service instead of From", sid, token, sid, "To=%2B919812345678&MessagingServiceSid=MG1&Body=hi", 201, 0, smsdouble.Rejected{}},
		{"no auth", "", "", sid, full, 401, 20003, smsdouble.Rejected{Auth: 1}},
		{"wrong token", sid, "nope", sid, full, 401, 20003, smsdouble.Rejected{Auth: 1}},
		{"other account in path", sid, token, "AC0", full, 404, 20404, smsdouble.Rejected{Auth: 1}},
		{"unreadable form", sid, token, sid, "To=%zz", 400, 21620, smsdouble.Rejected{Invalid: 1}},
		{"missing To", sid, token, sid, "From=%2B15005550006&Body=hi", 400, 21604, smsdouble.Rejected{Invalid: 1}},
		{"missing Body", sid, token, sid, "To=%2B919812345678&From=%2B15005550006", 400, 21602, smsdouble.Rejected{Invalid: 1}},
		{"missing From", sid, token, sid, "To=%2B919812345678&Body=hi", 400, 21603, smsdouble.Rejected{Invalid: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d.Reset()
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/2010-04-01/Accounts/"+tc.pathSID+"/Messages.json", strings.NewReader(tc.form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Code       int    `json:"code"`
				Status     any    `json:"status"` // the resource's is a string, the error's a number
				MoreInfo   string `json:"more_info"`
				AccountSid string `json:"account_sid"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus || body.Code != tc.wantCode {
				t.Errorf("answered %d %+v, want %d with code %d", resp.StatusCode, body, tc.wantStatus, tc.wantCode)
			}
			if tc.wantCode != 0 && (body.Status != float64(tc.wantStatus) || body.MoreInfo != "https://www.twilio.com/docs/errors/"+strconv.Itoa(tc.wantCode)) {
				t.Errorf("error body %+v", body)
			}
			wantAccepted := 0
			if tc.wantStatus == 201 {
				wantAccepted = 1
			}
			if rec := d.Record(); rec.Accepted != wantAccepted || rec.Rejected != tc.wantRejected {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name           string
		faults         smsdouble.Faults
		timeout        time.Duration // the provider's
		wantCode       string
		wantRetryAfter time.Duration
		wantAmbiguous  bool
		wantRejected   smsdouble.Rejected
	}{
		{"500", smsdouble.Faults{Error500: 1}, 5 * time.Second, "20500", 0, false, smsdouble.Rejected{Error500: 1}},
		{"429", smsdouble.Faults{Error429: 1}, 5 * time.Second, "20429", time.Second, false, smsdouble.Rejected{Error429: 1}},
		{"down", smsdouble.Faults{Down: true, Error500: 1}, 5 * time.Second, "20503", 0, false, smsdouble.Rejected{Down: 1}},
		// A second, not less: under load the request must reach the double before the client gives up.
		{"timeout", smsdouble.Faults{Timeout: 1, Hang: time.Minute}, time.Second, "timeout", 0, true, smsdouble.Rejected{Timeout: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ts := start(t, smsdouble.Config{Faults: tc.faults})
			p := provider(t, d, ts, "", tc.timeout)
			_, err := p.Send(context.Background(), outbound("m1"))
			if err == nil {
				t.Fatal("sent")
			}
			if !providers.Temporary(err) || providers.Code(err) != tc.wantCode ||
				providers.RetryAfter(err) != tc.wantRetryAfter || providers.Ambiguous(err) != tc.wantAmbiguous {
				t.Errorf("error %v: temporary %v, code %q, retry after %v, ambiguous %v", err,
					providers.Temporary(err), providers.Code(err), providers.RetryAfter(err), providers.Ambiguous(err))
			}
			if rec := d.Record(); rec.Accepted != 0 || rec.Rejected != tc.wantRejected {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	d, ts := start(t, smsdouble.Config{Faults: smsdouble.Faults{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}})
	p := provider(t, d, ts, "", 5*time.Second)
	began := time.Now()
	if _, err := p.Send(context.Background(), outbound("m1")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 30*time.Millisecond {
		t.Errorf("answered after %v, want at least the latency", took)
	}
}

// control is the JSON of /control.
type control struct {
	State       string  `json:"state"`
	Latency     string  `json:"latency"`
	Jitter      string  `json:"jitter"`
	Error500    float64 `json:"error_500"`
	Error429    float64 `json:"error_429"`
	Timeout     float64 `json:"timeout"`
	Hang        string  `json:"hang"`
	Undelivered float64 `json:"undelivered"`
}

func TestControlDownAndUp(t *testing.T) {
	d, ts := start(t, smsdouble.Config{})
	p := provider(t, d, ts, "", 5*time.Second)
	for i, step := range []struct {
		control  string
		wantCode string // "" → accepted
	}{
		{`{"state":"down"}`, "20503"},
		{`{"state":"up"}`, ""},
	} {
		var c control
		if status := call(t, http.MethodPost, ts.URL+"/control", step.control, &c); status != 200 {
			t.Fatalf("POST /control %s: %d", step.control, status)
		}
		_, err := p.Send(context.Background(), outbound("m"+strconv.Itoa(i)))
		if providers.Code(err) != step.wantCode || (err != nil && !providers.Temporary(err)) {
			t.Errorf("after %s: %v", step.control, err)
		}
	}
	if rec := d.Record(); rec.Accepted != 1 || rec.Rejected.Down != 1 {
		t.Errorf("record %+v", rec)
	}
}

func TestControl(t *testing.T) {
	_, ts := start(t, smsdouble.Config{Faults: smsdouble.Faults{Error429: 0.2}})
	initial := control{"up", "0s", "0s", 0, 0.2, 0, "30s", 0}
	changed := control{"up", "20ms", "5ms", 0.1, 0.2, 0, "30s", 0.05}
	for _, tc := range []struct {
		name, body string
		wantStatus int
		want       control // what GET /control answers afterwards
	}{
		{"not JSON", `state=down`, 400, initial},
		{"empty", ``, 400, initial},
		{"unknown field", `{"error500":0.1}`, 400, initial},
		{"unknown state", `{"state":"sideways"}`, 400, initial},
		{"share above 1", `{"error_500":1.5}`, 400, initial},
		{"negative share", `{"undelivered":-0.1}`, 400, initial},
		{"shares above 1 together", `{"error_500":0.5,"timeout":0.4}`, 400, initial},
		{"negative latency", `{"latency":"-1s"}`, 400, initial},
		{"latency as a number", `{"latency":20}`, 400, initial},
		{"zero hang", `{"hang":"0s"}`, 400, initial},
		{"good fields with a bad one", `{"latency":"20ms","state":"bogus"}`, 400, initial},
		{"two objects", `{"latency":"20ms"} {"jitter":"5ms"}`, 400, initial},
		{"a subset", `{"latency":"20ms","jitter":"5ms","error_500":0.1,"undelivered":0.05}`, 200, changed},
		{"null keeps a field", `{"latency":null}`, 200, changed},
		{"nothing", `{}`, 200, changed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answer map[string]any
			if status := call(t, http.MethodPost, ts.URL+"/control", tc.body, &answer); status != tc.wantStatus {
				t.Errorf("status %d, want %d: %v", status, tc.wantStatus, answer)
			}
			if tc.wantStatus == 400 && (answer["error"] == nil || answer["message"] == "") {
				t.Errorf("error body %v", answer)
			}
			var got control
			call(t, http.MethodGet, ts.URL+"/control", "", &got)
			if got != tc.want {
				t.Errorf("GET /control %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRecordDuplicates(t *testing.T) {
	d, ts := start(t, smsdouble.Config{})
	p := provider(t, d, ts, "https://sms.example.org", 5*time.Second)
	for _, id := range []string{"b", "a", "c", "b", "a", "a"} {
		if _, err := p.Send(context.Background(), outbound(id)); err != nil {
			t.Fatal(err)
		}
	}
	q := provider(t, d, ts, "", 5*time.Second) // no StatusCallback: no message id
	for range 2 {
		if _, err := q.Send(context.Background(), outbound("ignored")); err != nil {
			t.Fatal(err)
		}
	}
	var rec smsdouble.Record
	call(t, http.MethodGet, ts.URL+"/record", "", &rec)
	want := []smsdouble.Duplicate{{MessageID: "a", Count: 3}, {MessageID: "b", Count: 2}}
	if rec.Accepted != 8 || rec.UniqueMessageIDs != 3 || len(rec.Duplicates) != 2 || rec.Duplicates[0] != want[0] || rec.Duplicates[1] != want[1] {
		t.Errorf("record %+v", rec)
	}
	var raw map[string]any
	call(t, http.MethodGet, ts.URL+"/record", "", &raw)
	for _, k := range []string{"accepted", "unique_message_ids", "duplicates", "rejected", "callbacks"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/record has no %q: %v", k, raw)
		}
	}
}

func TestMessagesSince(t *testing.T) {
	d, ts := start(t, smsdouble.Config{})
	p := provider(t, d, ts, "https://sms.example.org", 5*time.Second)
	for _, id := range []string{"m1", "m2", "m3"} {
		if _, err := p.Send(context.Background(), outbound(id)); err != nil {
			t.Fatal(err)
		}
	}
	all := messages(t, ts, "")
	if len(all) != 3 || all[0].MessageID != "m1" || all[1].MessageID != "m2" || all[2].MessageID != "m3" {
		t.Fatalf("messages %+v", all)
	}
	later := messages(t, ts, "?since_unix_nano="+strconv.FormatInt(all[0].AtUnixNano, 10))
	if len(later) != 2 || later[0] != all[1] || later[1] != all[2] {
		t.Errorf("since the first: %+v", later)
	}
	if none := messages(t, ts, "?since_unix_nano="+strconv.FormatInt(all[2].AtUnixNano, 10)); len(none) != 0 {
		t.Errorf("since the last: %+v", none)
	}
	var e map[string]any
	if status := call(t, http.MethodGet, ts.URL+"/messages?since_unix_nano=yesterday", "", &e); status != 400 {
		t.Errorf("bad since: %d %v", status, e)
	}
}

func TestReset(t *testing.T) {
	d, ts := start(t, smsdouble.Config{Faults: smsdouble.Faults{Latency: time.Millisecond}})
	p := provider(t, d, ts, "https://sms.example.org", 5*time.Second)
	for range 2 {
		p.Send(context.Background(), outbound("m1"))
	}
	call(t, http.MethodPost, ts.URL+"/control", `{"state":"down"}`, nil)
	p.Send(context.Background(), outbound("m2"))
	call(t, http.MethodPost, ts.URL+"/control", `{"state":"up"}`, nil)

	if status := call(t, http.MethodPost, ts.URL+"/reset", "", nil); status != http.StatusNoContent {
		t.Fatalf("POST /reset: %d", status)
	}
	if rec := d.Record(); rec.Accepted != 0 || rec.UniqueMessageIDs != 0 || len(rec.Duplicates) != 0 ||
		rec.Rejected != (smsdouble.Rejected{}) || rec.Callbacks != (smsdouble.CallbackCounts{}) {
		t.Errorf("record after reset %+v", rec)
	}
	if got := messages(t, ts, ""); len(got) != 0 {
		t.Errorf("messages after reset %+v", got)
	}
	if f := d.Faults(); f.Latency != time.Millisecond {
		t.Errorf("faults after reset %+v", f)
	}
	if _, err := p.Send(context.Background(), outbound("m1")); err != nil {
		t.Fatal(err)
	}
	if rec := d.Record(); rec.Accepted != 1 || rec.UniqueMessageIDs != 1 || len(rec.Duplicates) != 0 {
		t.Errorf("record after one more send %+v", rec)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  smsdouble.Config
	}{
		{"account SID with a dash", smsdouble.Config{AccountSID: "AC-1"}},
		{"share above 1", smsdouble.Config{Faults: smsdouble.Faults{Timeout: 2}}},
		{"negative jitter", smsdouble.Config{Faults: smsdouble.Faults{Jitter: -time.Second}}},
		{"negative workers", smsdouble.Config{CallbackWorkers: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d, err := smsdouble.New(tc.cfg); err == nil {
				d.Close()
				t.Error("accepted")
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	_, ts := start(t, smsdouble.Config{})
	resp, err := http.Get(ts.URL + "/2010-04-01/Accounts")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"code":20404`) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
