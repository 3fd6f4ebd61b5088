// Package twiliotest is a stand-in for Twilio's Messages API in tests: an
// httptest server that authenticates, validates and answers like
// api.twilio.com, so tests send real HTTP through the real twilio-go client
// (point twilio.Config.BaseURL at Server.URL), and that posts signed status
// callbacks back like Twilio does.
package twiliotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"sandesh/providers/twilio/smsdouble"
)

// APIVersion is the only Twilio REST API version the double serves.
const APIVersion = smsdouble.APIVersion

// Message is one message the double accepted.
type Message = smsdouble.Message

// Failure is how the double answers one create request instead of accepting
// it (see Server.Respond).
type Failure struct {
	Status     int           // HTTP status; 0 accepts the message (after Delay)
	Code       int           // Twilio error code in a JSON body; 0 sends a non-JSON body, like a proxy's error page
	Message    string        // "" → Twilio's usual text for Code
	RetryAfter string        // Retry-After header, if set
	Delay      time.Duration // wait before answering
	Hang       bool          // never answer: block until the client gives up or the server closes
}

// FailAll answers every create request with status and Twilio code.
func FailAll(status, code int) func(n int, form url.Values) *Failure {
	return func(int, url.Values) *Failure { return &Failure{Status: status, Code: code} }
}

// FailFirst answers the first k create requests with f and accepts the rest.
func FailFirst(k int, f Failure) func(n int, form url.Values) *Failure {
	return func(n int, _ url.Values) *Failure {
		if n <= k {
			return &f
		}
		return nil
	}
}

// Server is a running Twilio double. Its methods are safe for concurrent use.
type Server struct {
	URL        string // base URL, for twilio.Config.BaseURL
	AccountSID string // "AC" + 32 hex
	AuthToken  string // 32 hex

	srv    *httptest.Server
	client *http.Client  // for PostStatus
	done   chan struct{} // closed on shutdown: releases hung handlers

	mu      sync.Mutex
	calls   int
	msgs    []Message
	respond func(n int, form url.Values) *Failure
	changed chan struct{} // closed and replaced whenever a message is accepted
}

// NewServer starts a double with a random account SID and auth token. It is
// closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AccountSID: smsdouble.NewSID("AC"),
		AuthToken:  smsdouble.RandomHex(16),
		done:       make(chan struct{}),
		changed:    make(chan struct{}),
		client:     &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /"+APIVersion+"/Accounts/{AccountSid}/Messages.json", s.create)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		smsdouble.WriteError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	close(s.done)
	s.srv.Close() // waits for every handler to return
	s.client.CloseIdleConnections()
}

// Respond sets how the double answers create requests: f gets the 1-based
// number of the call and its form, and returns nil to accept the message or
// a Failure. f runs on the server's handler goroutines, concurrently. nil
// accepts everything (the default).
func (s *Server) Respond(f func(n int, form url.Values) *Failure) {
	s.mu.Lock()
	s.respond = f
	s.mu.Unlock()
}

// Messages returns the accepted messages in the order they were accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages were accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Calls returns how many create requests arrived, failed ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// WaitCount waits until at least n messages were accepted and fails the
// test (t.Fatalf: call it from the test goroutine) if that takes longer
// than timeout.
func (s *Server) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, ch := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("twiliotest: %d messages accepted within %v, want %d", s.Count(), timeout, n)
			return
		}
	}
}

// PostStatus posts Twilio's status callback for m to m.StatusCallback,
// signed with AuthToken over that URL, and returns the response. Its body
// is already read into memory: closing it is optional.
func (s *Server) PostStatus(ctx context.Context, m Message, status string, errorCode string) (*http.Response, error) {
	if m.StatusCallback == "" {
		return nil, errors.New("twiliotest: message " + m.Sid + " has no StatusCallback")
	}
	params := smsdouble.StatusParams(s.AccountSID, m, status, errorCode)
	req, err := smsdouble.SignedRequest(ctx, s.AuthToken, m.StatusCallback, params)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// create serves POST /2010-04-01/Accounts/{AccountSid}/Messages.json.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	n, respond := s.calls, s.respond
	s.mu.Unlock()

	if smsdouble.ReadCreate(w, r, s.AccountSID, s.AuthToken) != nil {
		return // answered
	}
	form := r.PostForm

	if respond != nil {
		if f := respond(n, form); f != nil {
			if !s.wait(r.Context(), f) {
				// Client gone or server closing: drop the connection
				// without an answer, as a dead upstream would.
				panic(http.ErrAbortHandler)
			}
			if f.Status != 0 {
				if f.Code == 0 {
					if f.RetryAfter != "" {
						w.Header().Set("Retry-After", f.RetryAfter)
					}
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(f.Status)
					fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status))
					return
				}
				smsdouble.WriteError(w, f.Status, f.Code, f.Message, f.RetryAfter)
				return
			}
		}
	}

	m, code := smsdouble.ParseMessage(form)
	if code != 0 {
		smsdouble.WriteError(w, http.StatusBadRequest, code, "", "")
		return
	}
	m.Sid = smsdouble.NewSID("SM")
	m.At = time.Now()
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(smsdouble.NewResource(s.AccountSID, m))
}

// wait applies f's Delay or Hang. It reports false when the request should
// be dropped without an answer.
func (s *Server) wait(ctx context.Context, f *Failure) bool {
	if f.Hang {
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		return false
	}
	if f.Delay <= 0 {
		return true
	}
	t := time.NewTimer(f.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// Inbound is an SMS a handset sends to one of our Twilio numbers.
type Inbound struct {
	Sid, From, To, Body string
}

// PostInbound delivers in to webhookURL the way Twilio does: the documented
// form fields of an incoming message, signed with the account's auth token.
func (s *Server) PostInbound(ctx context.Context, webhookURL string, in Inbound) (*http.Response, error) {
	segments := "1"
	if n := len([]rune(in.Body)); n > 160 {
		segments = strconv.Itoa((n + 152) / 153)
	}
	params := map[string]string{
		"ToCountry": "IN", "ToState": "", "ToCity": "", "ToZip": "",
		"FromCountry": "IN", "FromState": "", "FromCity": "", "FromZip": "",
		"SmsMessageSid": in.Sid, "SmsSid": in.Sid, "MessageSid": in.Sid, "SmsStatus": "received",
		"NumMedia": "0", "NumSegments": segments, "Body": in.Body,
		"To": in.To, "From": in.From, "AccountSid": s.AccountSID, "ApiVersion": APIVersion,
	}
	req, err := smsdouble.SignedRequest(ctx, s.AuthToken, webhookURL, params)
	if err != nil {
		return nil, err
	}
	return s.client.Do(req)
}
