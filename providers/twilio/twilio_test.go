package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/twilio"
	"sandesh/providers/twilio/twiliotest"
)

func newProvider(t testing.TB, srv *twiliotest.Server, edit func(*twilio.Config)) *twilio.Provider {
	t.Helper()
	cfg := twilio.Config{
		Name:       "primary",
		AccountSID: srv.AccountSID,
		AuthToken:  srv.AuthToken,
		From:       "+15005550006",
		BaseURL:    srv.URL,
		PublicURL:  "https://sms.example.org",
		Timeout:    5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var msg = providers.Outbound{MessageID: "01J9Z0 x/y", To: "+919812345678", Body: "Your OTP is 123456", Encoding: "GSM-7", Segments: 1}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name               string
		from, service      string
		publicURL          string
		wantFrom, wantMSS  string
		wantStatusCallback string
	}{
		{"from", "+15005550006", "", "https://sms.example.org", "+15005550006", "",
			"https://sms.example.org/webhooks/twilio/primary/status?m=01J9Z0+x%2Fy"},
		{"messaging service", "", "MG0123456789abcdef0123456789abcdef", "https://sms.example.org/", "", "MG0123456789abcdef0123456789abcdef",
			"https://sms.example.org/webhooks/twilio/primary/status?m=01J9Z0+x%2Fy"},
		{"no public url, no callback", "+15005550006", "", "", "+15005550006", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := twiliotest.NewServer(t)
			p := newProvider(t, srv, func(c *twilio.Config) {
				c.From, c.MessagingServiceSID, c.PublicURL = tc.from, tc.service, tc.publicURL
			})
			r, err := p.Send(context.Background(), msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("double accepted %d messages, want 1", len(got))
			}
			m := got[0]
			if r.Provider != "primary" || r.ProviderMessageID != m.Sid || !strings.HasPrefix(m.Sid, "SM") {
				t.Errorf("receipt %+v, double's sid %q", r, m.Sid)
			}
			if m.To != msg.To || m.Body != msg.Body || m.From != tc.wantFrom || m.MessagingServiceSid != tc.wantMSS {
				t.Errorf("double got %+v", m)
			}
			if m.StatusCallback != tc.wantStatusCallback {
				t.Errorf("StatusCallback %q, want %q", m.StatusCallback, tc.wantStatusCallback)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		fail           twiliotest.Failure
		wantCode       string
		wantTemporary  bool
		wantRetryAfter time.Duration
	}{
		// Twilio or the path to it is down: retry.
		{"500 with code", twiliotest.Failure{Status: 500, Code: 20500}, "20500", true, 0},
		{"503 with code", twiliotest.Failure{Status: 503, Code: 20503}, "20503", true, 0},
		{"502 from a proxy, no JSON", twiliotest.Failure{Status: 502}, "http_502", true, 0},
		{"504 from a proxy, no JSON", twiliotest.Failure{Status: 504}, "http_504", true, 0},
		// Rate limited: retry when told.
		{"429 Retry-After seconds", twiliotest.Failure{Status: 429, Code: 20429, RetryAfter: "7"}, "20429", true, 7 * time.Second},
		{"429 no Retry-After", twiliotest.Failure{Status: 429, Code: 20429}, "20429", true, 0},
		{"429 garbage Retry-After", twiliotest.Failure{Status: 429, Code: 20429, RetryAfter: "soon"}, "20429", true, 0},
		{"429 without JSON", twiliotest.Failure{Status: 429, RetryAfter: "3"}, "http_429", true, 3 * time.Second},
		// The account is broken: fail over.
		{"401 authenticate", twiliotest.Failure{Status: 401, Code: 20003}, "20003", true, 0},
		{"403 account not active", twiliotest.Failure{Status: 403, Code: 20005}, "20005", true, 0},
		{"404 account not found", twiliotest.Failure{Status: 404, Code: 20404}, "20404", true, 0},
		// The message is wrong: fail it at once.
		{"21211 invalid To", twiliotest.Failure{Status: 400, Code: 21211}, "21211", false, 0},
		{"21610 unsubscribed", twiliotest.Failure{Status: 400, Code: 21610}, "21610", false, 0},
		{"21614 not a mobile", twiliotest.Failure{Status: 400, Code: 21614}, "21614", false, 0},
		{"21612 not reachable", twiliotest.Failure{Status: 400, Code: 21612}, "21612", false, 0},
		{"21408 region not enabled on our account: another provider may", twiliotest.Failure{Status: 400, Code: 21408}, "21408", true, 0},
		{"21611 our sender queue is full", twiliotest.Failure{Status: 400, Code: 21611}, "21611", true, 0},
		{"21606 our From cannot send here", twiliotest.Failure{Status: 400, Code: 21606}, "21606", true, 0},
		{"21617 body too long", twiliotest.Failure{Status: 400, Code: 21617}, "21617", false, 0},
		{"21602 body required", twiliotest.Failure{Status: 400, Code: 21602}, "21602", false, 0},
		{"other 4xx with a code", twiliotest.Failure{Status: 400, Code: 21999}, "21999", false, 0},
		{"422 with a code", twiliotest.Failure{Status: 422, Code: 35111}, "35111", false, 0},
		// A 4xx nobody explained: not evidence against the message.
		{"400 without JSON", twiliotest.Failure{Status: 400}, "http_400", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := twiliotest.NewServer(t)
			f := tc.fail
			srv.Respond(func(int, url.Values) *twiliotest.Failure { return &f })
			p := newProvider(t, srv, nil)
			_, err := p.Send(context.Background(), msg)
			checkErr(t, err, tc.wantCode, tc.wantTemporary)
			if got := providers.RetryAfter(err); got != tc.wantRetryAfter {
				t.Errorf("RetryAfter %v, want %v", got, tc.wantRetryAfter)
			}
			if srv.Calls() != 1 || srv.Count() != 0 {
				t.Errorf("calls %d accepted %d, want 1 and 0", srv.Calls(), srv.Count())
			}
		})
	}
}

func checkErr(t *testing.T, err error, wantCode string, wantTemporary bool) {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	if pe.Provider != "primary" || pe.Code != wantCode || pe.Temporary != wantTemporary {
		t.Errorf("got provider %q code %q temporary %v, want primary %q %v (%v)",
			pe.Provider, pe.Code, pe.Temporary, wantCode, wantTemporary, err)
	}
}

func TestSendRetryAfterDate(t *testing.T) {
	srv := twiliotest.NewServer(t)
	srv.Respond(twiliotest.FailFirst(1, twiliotest.Failure{
		Status: 429, Code: 20429, RetryAfter: time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat),
	}))
	p := newProvider(t, srv, nil)
	_, err := p.Send(context.Background(), msg)
	if d := providers.RetryAfter(err); d < 8*time.Second || d > 11*time.Second {
		t.Errorf("RetryAfter %v, want ~10s", d)
	}
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Errorf("second send: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{"Sun, 01 Mar 2026 10:00:30 GMT", 30 * time.Second},
		{"Sun, 01 Mar 2026 09:00:00 GMT", 0}, // in the past
		{"tomorrow", 0},
	} {
		if got := twilio.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSendWrongCredentials(t *testing.T) {
	srv := twiliotest.NewServer(t)
	p := newProvider(t, srv, func(c *twilio.Config) { c.AuthToken = "0123456789abcdef0123456789abcdef" })
	_, err := p.Send(context.Background(), msg)
	checkErr(t, err, "20003", true)
}

func TestSendTransportFailures(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name     string
		baseURL  string // "" = the double
		timeout  time.Duration
		fail     *twiliotest.Failure
		ctx      func() (context.Context, context.CancelFunc)
		wantCode string
		wantIs   error
	}{
		{name: "connection refused", baseURL: closedURL, wantCode: "network"},
		{name: "our timeout", timeout: 100 * time.Millisecond, fail: &twiliotest.Failure{Hang: true},
			wantCode: "timeout", wantIs: context.DeadlineExceeded},
		{name: "slow answer past our timeout", timeout: 100 * time.Millisecond, fail: &twiliotest.Failure{Delay: 2 * time.Second},
			wantCode: "timeout", wantIs: context.DeadlineExceeded},
		{name: "caller deadline", fail: &twiliotest.Failure{Hang: true}, wantCode: "timeout", wantIs: context.DeadlineExceeded,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			}},
		{name: "caller cancels", fail: &twiliotest.Failure{Hang: true}, wantCode: "canceled", wantIs: context.Canceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			}},
		{name: "already cancelled", wantCode: "canceled", wantIs: context.Canceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := twiliotest.NewServer(t)
			if tc.fail != nil {
				f := *tc.fail
				srv.Respond(func(int, url.Values) *twiliotest.Failure { return &f })
			}
			p := newProvider(t, srv, func(c *twilio.Config) {
				if tc.baseURL != "" {
					c.BaseURL = tc.baseURL
				}
				if tc.timeout != 0 {
					c.Timeout = tc.timeout
				}
			})
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			start := time.Now()
			_, err := p.Send(ctx, msg)
			if took := time.Since(start); took > time.Second {
				t.Errorf("Send took %v, want it aborted quickly", took)
			}
			checkErr(t, err, tc.wantCode, true)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
		})
	}
}

// recorder is a bare Twilio stand-in that records what reached it and how
// many connections were opened.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	paths    []string
	hosts    []string
	newConns atomic.Int64
	status   int
}

func newRecorder(t *testing.T, status int) *recorder {
	rec := &recorder{status: status}
	rec.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.paths = append(rec.paths, r.URL.RequestURI())
		rec.hosts = append(rec.hosts, r.Host)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.status)
		if rec.status >= 400 {
			json.NewEncoder(w).Encode(map[string]any{"code": 21211, "message": "Invalid 'To' Phone Number",
				"more_info": "https://www.twilio.com/docs/errors/21211", "status": rec.status})
			// Trailing whitespace: twilio-go's decoder stops after the JSON
			// value, before EOF, and never closes the body.
			w.Write([]byte(strings.Repeat(" ", 8192)))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"sid": "SM00000000000000000000000000000001", "status": "queued"})
	}))
	rec.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rec.newConns.Add(1)
		}
	}
	rec.Start()
	t.Cleanup(rec.Close)
	return rec
}

func TestBaseURLRewrite(t *testing.T) {
	for _, tc := range []struct {
		name, suffix, wantPath string
	}{
		{"host only", "", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"},
		{"trailing slash", "/", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"},
		{"path prefix", "/twilio", "/twilio/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, http.StatusCreated)
			p, err := twilio.New(twilio.Config{
				Name: "primary", AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "secret0123456789",
				From: "+15005550006", BaseURL: rec.URL + tc.suffix,
			})
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Send(context.Background(), msg)
			if err != nil || r.ProviderMessageID != "SM00000000000000000000000000000001" {
				t.Fatalf("Send = %+v, %v", r, err)
			}
			u, _ := url.Parse(rec.URL)
			if rec.paths[0] != tc.wantPath || rec.hosts[0] != u.Host {
				t.Errorf("request reached %s%s, want %s%s", rec.hosts[0], rec.paths[0], u.Host, tc.wantPath)
			}
		})
	}
}

// TestConnectionReuse: error answers must not cost a connection each (the
// body twilio-go leaves open is closed by us), and concurrent sends must
// find pooled connections.
func TestConnectionReuse(t *testing.T) {
	t.Run("sequential errors", func(t *testing.T) {
		rec := newRecorder(t, http.StatusBadRequest)
		p, _ := twilio.New(twilio.Config{Name: "primary", AccountSID: "AC1", AuthToken: "t1", From: "+1", BaseURL: rec.URL})
		for i := 0; i < 20; i++ {
			_, err := p.Send(context.Background(), msg)
			checkErr(t, err, "21211", false)
		}
		if n := rec.newConns.Load(); n != 1 {
			t.Errorf("20 sequential error answers opened %d connections, want 1", n)
		}
	})
	t.Run("100 concurrent senders", func(t *testing.T) {
		srv := twiliotest.NewServer(t)
		p := newProvider(t, srv, nil)
		const workers, each = 100, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := p.Send(context.Background(), msg); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		srv.WaitCount(t, workers*each, time.Second)
		seen := map[string]bool{}
		for _, m := range srv.Messages() {
			if seen[m.Sid] {
				t.Fatalf("duplicate sid %s", m.Sid)
			}
			seen[m.Sid] = true
		}
	})
}

func TestNew(t *testing.T) {
	ok := twilio.Config{Name: "primary", AccountSID: "AC0123", AuthToken: "abc123", From: "+15005550006"}
	for _, tc := range []struct {
		name    string
		edit    func(*twilio.Config)
		wantErr string
	}{
		{"valid", func(*twilio.Config) {}, ""},
		{"messaging service only", func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", "MG1" }, ""},
		{"empty name", func(c *twilio.Config) { c.Name = "" }, "name"},
		{"upper-case name", func(c *twilio.Config) { c.Name = "Primary" }, "name"},
		{"sid with a dash", func(c *twilio.Config) { c.AccountSID = "AC-1" }, "account_sid"},
		{"empty sid", func(c *twilio.Config) { c.AccountSID = "" }, "account_sid"},
		{"token with a symbol", func(c *twilio.Config) { c.AuthToken = "abc$" }, "auth_token"},
		{"no sender", func(c *twilio.Config) { c.From = "" }, "from or messaging_service_sid"},
		{"negative timeout", func(c *twilio.Config) { c.Timeout = -1 }, "timeout"},
		{"base url without scheme", func(c *twilio.Config) { c.BaseURL = "127.0.0.1:4010" }, "base_url"},
		{"base url ftp", func(c *twilio.Config) { c.BaseURL = "ftp://x" }, "base_url"},
		{"public url without host", func(c *twilio.Config) { c.PublicURL = "https://" }, "public_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			p, err := twilio.New(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.Name() != cfg.Name || p.AuthToken() != cfg.AuthToken {
					t.Errorf("Name %q AuthToken %q", p.Name(), p.AuthToken())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error %v, want one about %q", err, tc.wantErr)
			}
		})
	}
}

// A status callback made by the double passes our own signature check: the
// round trip other packages' webhook tests rely on.
func TestStatusCallbackRoundTrip(t *testing.T) {
	srv := twiliotest.NewServer(t)
	type seen struct {
		params map[string]string
		valid  bool
	}
	var got atomic.Value
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		// PublicURL is this server's URL, so the URL Twilio signed is ours.
		full := "http://" + r.Host + r.URL.RequestURI()
		got.Store(seen{params, twilio.ValidSignature(srv.AuthToken, full, params, r.Header.Get("X-Twilio-Signature"))})
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()

	p := newProvider(t, srv, func(c *twilio.Config) { c.PublicURL = app.URL })
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	m := srv.Messages()[0]
	resp, err := srv.PostStatus(context.Background(), m, "undelivered", "30003")
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PostStatus: %v %v", resp, err)
	}
	s := got.Load().(seen)
	if !s.valid {
		t.Error("callback signature did not validate")
	}
	if s.params["MessageSid"] != m.Sid || s.params["MessageStatus"] != "undelivered" || s.params["ErrorCode"] != "30003" {
		t.Errorf("callback form %v", s.params)
	}
	if st := twilio.MapStatus(s.params["MessageStatus"]); st != providers.DeliveryUndelivered {
		t.Errorf("MapStatus = %q", st)
	}
	u, _ := url.Parse(m.StatusCallback)
	if u.Query().Get("m") != msg.MessageID {
		t.Errorf("callback m=%q, want %q", u.Query().Get("m"), msg.MessageID)
	}
}

// TestSendUnreadableAcceptance: Twilio answered 2xx, but not with a
// message we can name. The SMS may be out, so the error is temporary and
// never a success.
func TestSendUnreadableAcceptance(t *testing.T) {
	for _, tc := range []struct {
		name, body    string
		wantAmbiguous bool
	}{
		{"not JSON", "<html>accepted</html>", true},
		{"no sid", `{"status": "queued", "to": "+919876543210"}`, false},
		{"empty sid", `{"sid": "", "status": "queued"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			p, err := twilio.New(twilio.Config{Name: "primary", AccountSID: "AC" + strings.Repeat("0", 32), AuthToken: "token",
				From: "+15005550006", BaseURL: srv.URL, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := p.Send(context.Background(), msg)
			if err == nil {
				t.Fatalf("sent as %+v from an answer without a sid", rec)
			}
			checkErr(t, err, "bad_response", true)
			if providers.Ambiguous(err) != tc.wantAmbiguous {
				t.Errorf("ambiguous %v, want %v", providers.Ambiguous(err), tc.wantAmbiguous)
			}
		})
	}
}
