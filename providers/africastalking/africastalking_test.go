package africastalking_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/africastalking"
	"sandesh/providers/africastalking/attest"
)

func newProvider(t testing.TB, srv *attest.Server, edit func(*africastalking.Config)) *africastalking.Provider {
	t.Helper()
	cfg := africastalking.Config{
		Name:     "primary",
		Username: srv.Username,
		APIKey:   srv.APIKey,
		BaseURL:  srv.URL,
		Timeout:  5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := africastalking.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var msg = providers.Outbound{MessageID: "01J9Z0", To: "+254711000000", Body: "Your OTP is 123456", Encoding: "GSM-7", Segments: 1}

// checkErr checks err's class. It also checks that the API key is in no
// error string.
func checkErr(t *testing.T, err error, apiKey, wantCode string, wantTemporary, wantAmbiguous bool) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	if pe.Provider != "primary" || pe.Code != wantCode || pe.Temporary != wantTemporary || pe.Ambiguous != wantAmbiguous {
		t.Errorf("got provider %q code %q temporary %v ambiguous %v, want primary %q %v %v (%v)",
			pe.Provider, pe.Code, pe.Temporary, pe.Ambiguous, wantCode, wantTemporary, wantAmbiguous, err)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, apiKey) {
			t.Errorf("error shows the API key: %s", s)
		}
	}
	return pe
}

func TestSend(t *testing.T) {
	hindi := "आपका ओटीपी 123456 है। कृपया इसे किसी के साथ साझा न करें।"
	for _, tc := range []struct {
		name     string
		from     string
		enqueue  bool
		body     string
		wantForm func(username string) url.Values
	}{
		{"account default sender", "", false, msg.Body, func(u string) url.Values {
			return url.Values{"username": {u}, "to": {msg.To}, "message": {msg.Body}}
		}},
		{"short code sender", "20414", false, msg.Body, func(u string) url.Values {
			return url.Values{"username": {u}, "to": {msg.To}, "message": {msg.Body}, "from": {"20414"}}
		}},
		{"sender id and enqueue", "SANDESH", true, msg.Body, func(u string) url.Values {
			return url.Values{"username": {u}, "to": {msg.To}, "message": {msg.Body}, "from": {"SANDESH"}, "enqueue": {"1"}}
		}},
		{"UCS-2 Hindi text", "", false, hindi, func(u string) url.Values {
			return url.Values{"username": {u}, "to": {msg.To}, "message": {hindi}}
		}},
		{"form-significant characters", "", false, "a+b=c&d%e #1\nline 2", func(u string) url.Values {
			return url.Values{"username": {u}, "to": {msg.To}, "message": {"a+b=c&d%e #1\nline 2"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := attest.NewServer(t)
			p := newProvider(t, srv, func(c *africastalking.Config) { c.From, c.Enqueue = tc.from, tc.enqueue })
			m := msg
			m.Body = tc.body
			r, err := p.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("double accepted %d messages, want 1", len(got))
			}
			dm := got[0]
			if r.Provider != "primary" || r.ProviderMessageID != dm.MessageID || !strings.HasPrefix(dm.MessageID, "ATXid_") {
				t.Errorf("receipt %+v, double's messageId %q", r, dm.MessageID)
			}
			if dm.To != m.To || dm.Message != tc.body || dm.From != tc.from || dm.Enqueue != tc.enqueue {
				t.Errorf("double got %+v", dm)
			}
			if want := tc.wantForm(srv.Username); !equalForm(dm.Form, want) {
				t.Errorf("form %v, want exactly %v", dm.Form, want)
			}
		})
	}
}

func equalForm(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, vs := range a {
		if strings.Join(vs, "\x00") != strings.Join(b[k], "\x00") || len(b[k]) != len(vs) {
			return false
		}
	}
	return true
}

// TestWireFormat reads the request off the wire: method, path, header
// names as AT documents them, and the urlencoded body.
func TestWireFormat(t *testing.T) {
	for _, tc := range []struct {
		name, suffix, wantPath string
	}{
		{"host only", "", "/version1/messaging"},
		{"trailing slash", "/", "/version1/messaging"},
		{"path prefix", "/at", "/at/version1/messaging"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := newRawServer(t, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				`{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":101,"number":"+254711000000","status":"Success","cost":"KES 0.8000","messageId":"ATXid_1"}]}}`)
			p, err := africastalking.New(africastalking.Config{Name: "primary", Username: "myapp", APIKey: "atsk_secret",
				From: "SANDESH", Enqueue: true, BaseURL: raw.url + tc.suffix})
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Send(context.Background(), msg)
			if err != nil || r.ProviderMessageID != "ATXid_1" {
				t.Fatalf("Send = %+v, %v", r, err)
			}
			req := <-raw.requests
			if want := "POST " + tc.wantPath + " HTTP/1.1"; req.line != want {
				t.Errorf("request line %q, want %q", req.line, want)
			}
			for _, h := range []string{"apiKey: atsk_secret", "Accept: application/json", "Content-Type: application/x-www-form-urlencoded"} {
				if !req.headers[h] {
					t.Errorf("no header line %q in %v", h, req.headers)
				}
			}
			form, err := url.ParseQuery(req.body)
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"username": {"myapp"}, "to": {"+254711000000"}, "message": {msg.Body}, "from": {"SANDESH"}, "enqueue": {"1"}}
			if !equalForm(form, want) {
				t.Errorf("body %q, want the form %v", req.body, want)
			}
		})
	}
}

type rawRequest struct {
	line    string
	headers map[string]bool
	body    string
}

type rawServer struct {
	url      string
	requests chan rawRequest
}

// newRawServer answers every request on a connection with answer (a
// format taking the body's length and the body) and reports what came.
func newRawServer(t *testing.T, answer, body string) *rawServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	rs := &rawServer{url: "http://" + l.Addr().String(), requests: make(chan rawRequest, 16)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					req := rawRequest{line: strings.TrimRight(line, "\r\n"), headers: map[string]bool{}}
					n := 0
					for {
						h, err := br.ReadString('\n')
						if err != nil {
							return
						}
						h = strings.TrimRight(h, "\r\n")
						if h == "" {
							break
						}
						req.headers[h] = true
						if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "Content-Length") {
							n, _ = strconv.Atoi(strings.TrimSpace(v))
						}
					}
					b := make([]byte, n)
					if _, err := io.ReadFull(br, b); err != nil {
						return
					}
					req.body = string(b)
					rs.requests <- req
					fmt.Fprintf(c, answer, len(body), body)
				}
			}()
		}
	}()
	return rs
}

func TestSendRecipientStatus(t *testing.T) {
	for _, tc := range []struct {
		code          int
		wantAccepted  bool
		wantTemporary bool
		wantAmbiguous bool
		wantOptedOut  bool
	}{
		{code: 100, wantAccepted: true},
		{code: 101, wantAccepted: true},
		{code: 102, wantAccepted: true},
		{code: 401, wantTemporary: true}, // RiskHold
		{code: 402, wantTemporary: true}, // InvalidSenderId: our config, fail over
		{code: 403},                      // InvalidPhoneNumber
		{code: 404},                      // UnsupportedNumberType
		{code: 405, wantTemporary: true}, // InsufficientBalance: fail over
		{code: 406, wantOptedOut: true},  // UserInBlacklist
		{code: 407, wantTemporary: true}, // CouldNotRoute
		{code: 409},                      // DoNotDisturbRejection
		{code: 500, wantTemporary: true}, // InternalServerError
		{code: 501, wantTemporary: true}, // GatewayError
		{code: 502, wantTemporary: true}, // RejectedByGateway
		// Codes AT may add: a failure is retried, an accepted-range one
		// may have been sent.
		{code: 408, wantTemporary: true},
		{code: 103, wantTemporary: true, wantAmbiguous: true},
	} {
		name := attest.StatusNames[tc.code]
		t.Run(strconv.Itoa(tc.code)+" "+name, func(t *testing.T) {
			srv := attest.NewServer(t)
			srv.Respond(attest.FailAll(attest.Failure{StatusCode: tc.code}))
			p := newProvider(t, srv, nil)
			r, err := p.Send(context.Background(), msg)
			if tc.wantAccepted {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				got := srv.Messages()
				if len(got) != 1 || r.ProviderMessageID != got[0].MessageID || got[0].StatusCode != tc.code {
					t.Errorf("receipt %+v, double accepted %+v", r, got)
				}
				return
			}
			pe := checkErr(t, err, srv.APIKey, strconv.Itoa(tc.code), tc.wantTemporary, tc.wantAmbiguous)
			if pe.OptedOut != tc.wantOptedOut {
				t.Errorf("OptedOut %v, want %v", pe.OptedOut, tc.wantOptedOut)
			}
			if name != "" && !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name AT's status %q", err, name)
			}
		})
	}
}

func TestSendNoRecipients(t *testing.T) {
	for _, tc := range []struct {
		message       string
		wantCode      string
		wantTemporary bool
	}{
		{"InvalidPhoneNumber", "no_recipient", false},
		{"", "no_recipient", false},
		{"Sent to 0/1 Total Cost: 0", "no_recipient", false},
		{"UserInBlacklist", "no_recipient", false},
		{"InsufficientBalance", "405", true},
		{"Insufficient Balance", "405", true},
		{"InvalidSenderId", "402", true},
		{"RiskHold", "401", true},
		{"CouldNotRoute", "407", true},
		{"GatewayError", "501", true},
	} {
		t.Run(tc.message, func(t *testing.T) {
			srv := attest.NewServer(t)
			srv.Respond(attest.FailAll(attest.NoRecipients(tc.message)))
			p := newProvider(t, srv, nil)
			_, err := p.Send(context.Background(), msg)
			checkErr(t, err, srv.APIKey, tc.wantCode, tc.wantTemporary, false)
		})
	}
}

func TestSendHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		fail           attest.Failure
		wantCode       string
		wantRetryAfter time.Duration
	}{
		{"401 bad key", attest.Failure{Status: 401, Body: attest.AuthFailed}, "http_401", 0},
		{"429 Retry-After 3", attest.Failure{Status: 429, Header: http.Header{"Retry-After": {"3"}}}, "http_429", 3 * time.Second},
		{"429 without Retry-After", attest.Failure{Status: 429}, "http_429", time.Second},
		{"429 garbage Retry-After", attest.Failure{Status: 429, Header: http.Header{"Retry-After": {"soon"}}}, "http_429", time.Second},
		{"429 Retry-After 0", attest.Failure{Status: 429, Header: http.Header{"Retry-After": {"0"}}}, "http_429", time.Second},
		{"500", attest.Failure{Status: 500, Body: "Internal Server Error"}, "http_500", 0},
		{"503", attest.Failure{Status: 503, Header: http.Header{"Retry-After": {"30"}}}, "http_503", 0},
		{"502 proxy page", attest.Failure{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>Bad Gateway</html>"}, "http_502", 0},
		{"400 missing field", attest.Failure{Status: 400, Body: "Request is missing required form field 'to'"}, "http_400", 0},
		{"301 wrong base url", attest.Failure{Status: 301, Header: http.Header{"Location": {"https://elsewhere.example/"}}}, "http_301", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := attest.NewServer(t)
			srv.Respond(attest.FailAll(tc.fail))
			p := newProvider(t, srv, nil)
			_, err := p.Send(context.Background(), msg)
			checkErr(t, err, srv.APIKey, tc.wantCode, true, false)
			if got := providers.RetryAfter(err); got != tc.wantRetryAfter {
				t.Errorf("RetryAfter %v, want %v", got, tc.wantRetryAfter)
			}
			if srv.Calls() != 1 || srv.Count() != 0 {
				t.Errorf("calls %d accepted %d, want 1 and 0", srv.Calls(), srv.Count())
			}
		})
	}
}

func TestSendWrongCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*africastalking.Config)
	}{
		{"api key", func(c *africastalking.Config) { c.APIKey = "atsk_wrong" }},
		{"username", func(c *africastalking.Config) { c.Username = "otherapp" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := attest.NewServer(t)
			p := newProvider(t, srv, tc.edit)
			_, err := p.Send(context.Background(), msg)
			checkErr(t, err, srv.APIKey, "http_401", true, false)
			checkErr(t, err, "atsk_wrong", "http_401", true, false)
			if !strings.Contains(err.Error(), attest.AuthFailed) {
				t.Errorf("error %q does not carry AT's explanation", err)
			}
		})
	}
}

// TestSendAmbiguous: AT may have taken the message.
func TestSendAmbiguous(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		ctx      func() (context.Context, context.CancelFunc)
		fail     attest.Failure
		wantCode string
		wantIs   error
	}{
		{name: "our timeout", timeout: 50 * time.Millisecond, fail: attest.Failure{Hang: true},
			wantCode: "timeout", wantIs: context.DeadlineExceeded},
		{name: "caller deadline", fail: attest.Failure{Hang: true}, wantCode: "timeout", wantIs: context.DeadlineExceeded,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			}},
		{name: "caller cancels while AT works", fail: attest.Failure{Hang: true}, wantCode: "canceled", wantIs: context.Canceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			}},
		{name: "connection closed after the request", fail: attest.Failure{Drop: true}, wantCode: "network"},
		{name: "connection reset after the request", fail: attest.Failure{Reset: true}, wantCode: "network"},
		{name: "unreadable 201", fail: attest.Failure{Status: 201, Body: `{"SMSMessageData":{"Recipients":[{"statusCode":101`},
			wantCode: "bad_response"},
		{name: "201 in XML", fail: attest.Failure{Status: 201, Body: `<?xml version="1.0"?><AfricasTalkingResponse/>`},
			wantCode: "bad_response"},
		{name: "200 HTML", fail: attest.Failure{Status: 200, Body: "<html>OK</html>"}, wantCode: "bad_response"},
		{name: "201 empty object", fail: attest.Failure{Status: 201, Body: `{}`}, wantCode: "bad_response"},
		{name: "201 body cut short", fail: attest.Failure{Status: 201, Header: http.Header{"Content-Length": {"500"}},
			Body: `{"SMSMessageData":`}, wantCode: "bad_response"},
		{name: "statusCode not a number", fail: attest.Failure{Status: 201,
			Body: `{"SMSMessageData":{"Recipients":[{"statusCode":"Sent","messageId":"ATXid_1"}]}}`}, wantCode: "bad_response"},
		{name: "two recipients, none ours", fail: attest.Failure{Status: 201,
			Body: `{"SMSMessageData":{"Recipients":[{"statusCode":101,"number":"+2547","messageId":"a"},{"statusCode":101,"number":"+2548","messageId":"b"}]}}`},
			wantCode: "bad_response"},
		{name: "accepted without messageId", fail: attest.Failure{Status: 201,
			Body: `{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":101,"number":"+254711000000","status":"Success","cost":"KES 0.8000"}]}}`},
			wantCode: "no_message_id"},
		{name: "accepted with messageId None", fail: attest.Failure{Status: 201,
			Body: `{"SMSMessageData":{"Recipients":[{"statusCode":101,"number":"+254711000000","status":"Success","messageId":"None"}]}}`},
			wantCode: "no_message_id"},
		{name: "accepted with a control character in messageId", fail: attest.Failure{Status: 201,
			Body: `{"SMSMessageData":{"Recipients":[{"statusCode":102,"number":"+254711000000","status":"Queued","messageId":"ATXid_\n1"}]}}`},
			wantCode: "no_message_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := attest.NewServer(t)
			srv.Respond(attest.FailAll(tc.fail))
			p := newProvider(t, srv, func(c *africastalking.Config) {
				if tc.timeout != 0 {
					c.Timeout = tc.timeout
				}
			})
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			_, err := p.Send(ctx, msg)
			checkErr(t, err, srv.APIKey, tc.wantCode, true, true)
			if !providers.Ambiguous(err) || !providers.Temporary(err) {
				t.Errorf("Ambiguous %v Temporary %v, want both", providers.Ambiguous(err), providers.Temporary(err))
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			if srv.Calls() != 1 {
				t.Errorf("%d calls reached the double, want 1", srv.Calls())
			}
		})
	}
}

// TestSendNotSent: failures before the request left us are temporary and
// not ambiguous, so the router may fail over at once. (TestWriteTracking
// covers a request that failed half-written.)
func TestSendNotSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	t.Run("connection refused", func(t *testing.T) {
		p, err := africastalking.New(africastalking.Config{Name: "primary", Username: "app", APIKey: "atsk_k", BaseURL: closedURL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Send(context.Background(), msg)
		checkErr(t, err, "atsk_k", "network", true, false)
	})
	t.Run("already cancelled", func(t *testing.T) {
		srv := attest.NewServer(t)
		p := newProvider(t, srv, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := p.Send(ctx, msg)
		checkErr(t, err, srv.APIKey, "canceled", true, false)
		if !errors.Is(err, context.Canceled) || srv.Calls() != 0 {
			t.Errorf("err %v, %d calls", err, srv.Calls())
		}
	})
	t.Run("not E.164", func(t *testing.T) {
		srv := attest.NewServer(t)
		p := newProvider(t, srv, nil)
		for _, to := range []string{"", "254711000000", "0711000000", "+0711000000", "+2547", "+2547110000001234", "+254 711 000000", "+254711000000,+254722000000"} {
			m := msg
			m.To = to
			_, err := p.Send(context.Background(), m)
			checkErr(t, err, srv.APIKey, "invalid_to", false, false)
		}
		if srv.Calls() != 0 {
			t.Errorf("%d calls reached the double, want 0", srv.Calls())
		}
	})
}

func TestSendAccepts200(t *testing.T) {
	srv := attest.NewServer(t)
	srv.Respond(attest.FailAll(attest.Failure{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: UGX 25.0000","Recipients":[{"statusCode":101,"number":"+256772000000","status":"Success","cost":"UGX 25.0000","messageId":"ATXid_ug1"}]}}`}))
	p := newProvider(t, srv, nil)
	m := msg
	m.To = "+256772000000"
	r, err := p.Send(context.Background(), m)
	if err != nil || r.ProviderMessageID != "ATXid_ug1" || r.Provider != "primary" {
		t.Fatalf("Send = %+v, %v", r, err)
	}
}

// TestAPIKeyNeverShown: not in errors, even when an answer echoes it, nor
// when the provider itself is printed.
func TestAPIKeyNeverShown(t *testing.T) {
	srv := attest.NewServer(t)
	key := srv.APIKey
	fails := []attest.Failure{
		{Status: 500, Body: "upstream said: apiKey=" + key},
		{Status: 401, Body: key},
		{Status: 201, Body: "not json " + key},
		{StatusCode: 403, StatusText: "InvalidPhoneNumber " + key},
		attest.NoRecipients("InvalidPhoneNumber " + key),
	}
	srv.Respond(func(n int, _ url.Values) *attest.Failure { return &fails[(n-1)%len(fails)] })
	p := newProvider(t, srv, nil)
	for range fails {
		_, err := p.Send(context.Background(), msg)
		if err == nil {
			t.Fatal("Send succeeded")
		}
		if s := err.Error(); strings.Contains(s, key) {
			t.Errorf("error shows the API key: %s", s)
		}
	}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p)} {
		if strings.Contains(s, key) {
			t.Errorf("printed provider shows the API key: %s", s)
		}
	}
	_, err := africastalking.New(africastalking.Config{Name: "x", Username: "u", APIKey: "secret key"})
	if err == nil || strings.Contains(err.Error(), "secret key") {
		t.Errorf("New error %v", err)
	}
}

// TestConnectionReuse: answers, errors included, leave the connection
// pooled. A POST on a pooled connection the far end has just closed can
// fail (the client cannot tell whether AT read it): it must then be
// ambiguous, never a failure the router would fail over at once.
func TestConnectionReuse(t *testing.T) {
	var newConns atomic.Int64
	var n atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, attest.AuthFailed)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"SMSMessageData":{"Recipients":[{"statusCode":101,"messageId":"ATXid_1"}]}}`)
	}))
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	p, err := africastalking.New(africastalking.Config{Name: "primary", Username: "app", APIKey: "atsk_k", BaseURL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		p.Send(context.Background(), msg)
	}
	if got := newConns.Load(); got != 1 {
		t.Errorf("20 sequential sends opened %d connections, want 1", got)
	}

	srv := attest.NewServer(t)
	p = newProvider(t, srv, nil)
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	if _, err := p.Send(context.Background(), msg); err != nil && !providers.Ambiguous(err) {
		t.Errorf("send after the pooled connection was closed: %v, want success or an ambiguous error", err)
	}
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Errorf("send on a fresh connection: %v", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := attest.NewServer(t)
	p := newProvider(t, srv, nil)
	const workers, each = 20, 10
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := p.Send(context.Background(), msg)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- r.ProviderMessageID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("duplicate messageId %s", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each || srv.Count() != workers*each {
		t.Errorf("%d receipts, double accepted %d, want %d", len(seen), srv.Count(), workers*each)
	}
}

func TestNew(t *testing.T) {
	ok := africastalking.Config{Name: "primary", Username: "sandbox", APIKey: "atsk_0123abcd"}
	for _, tc := range []struct {
		name    string
		edit    func(*africastalking.Config)
		wantErr string
	}{
		{"valid", func(*africastalking.Config) {}, ""},
		{"sandbox", func(c *africastalking.Config) { c.BaseURL = africastalking.SandboxBaseURL }, ""},
		{"from and enqueue", func(c *africastalking.Config) { c.From, c.Enqueue = "SANDESH", true }, ""},
		{"base url with a path", func(c *africastalking.Config) { c.BaseURL = "http://127.0.0.1:4010/at/" }, ""},
		{"empty name", func(c *africastalking.Config) { c.Name = "" }, "name"},
		{"upper-case name", func(c *africastalking.Config) { c.Name = "Primary" }, "name"},
		{"empty username", func(c *africastalking.Config) { c.Username = "" }, "username is required"},
		{"username with a space", func(c *africastalking.Config) { c.Username = "my app" }, "username"},
		{"empty api key", func(c *africastalking.Config) { c.APIKey = "" }, "api_key is required"},
		{"api key with a newline", func(c *africastalking.Config) { c.APIKey = "abc\nX-Evil: 1" }, "api_key"},
		{"from with a control character", func(c *africastalking.Config) { c.From = "A\rB" }, "from"},
		{"negative timeout", func(c *africastalking.Config) { c.Timeout = -time.Second }, "timeout"},
		{"base url without scheme", func(c *africastalking.Config) { c.BaseURL = "api.africastalking.com" }, "base_url"},
		{"base url relative", func(c *africastalking.Config) { c.BaseURL = "/version1" }, "base_url"},
		{"base url ftp", func(c *africastalking.Config) { c.BaseURL = "ftp://api.africastalking.com" }, "base_url"},
		{"base url without host", func(c *africastalking.Config) { c.BaseURL = "https://" }, "base_url"},
		{"base url with a query", func(c *africastalking.Config) { c.BaseURL = "https://api.africastalking.com?x=1" }, "base_url"},
		{"base url with an empty query", func(c *africastalking.Config) { c.BaseURL = "https://api.africastalking.com/?" }, "base_url"},
		{"base url with a fragment", func(c *africastalking.Config) { c.BaseURL = "https://api.africastalking.com#x" }, "base_url"},
		{"base url with credentials", func(c *africastalking.Config) { c.BaseURL = "https://u:pw@api.africastalking.com" }, "base_url"},
		{"base url unparsable", func(c *africastalking.Config) { c.BaseURL = "http://[::1" }, "base_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			p, err := africastalking.New(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.Name() != cfg.Name {
					t.Errorf("Name %q", p.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error %v, want one about %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Errorf("New error shows the base URL's password: %v", err)
			}
		})
	}
}

var _ providers.Provider = (*africastalking.Provider)(nil)
