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
	"testing"
	"time"

	"sandesh/internal/doubletest"
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

	srv *httptest.Server
	// Client sends the webhooks the double posts (PostStatus, PostInbound);
	// a test may wrap its Transport to check what the gateway answers.
	Client *http.Client
	done   chan struct{} // closed on shutdown: releases hung handlers

	// The messages accepted, the calls taken and the answers scripted:
	// Respond, Messages, Count, Calls and WaitCount.
	*doubletest.Log[Message, Failure]
}

// NewServer starts a double with a random account SID and auth token. It is
// closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AccountSID: smsdouble.NewSID("AC"),
		AuthToken:  smsdouble.RandomHex(16),
		done:       make(chan struct{}),
		Log:        doubletest.NewLog[Message, Failure]("twiliotest"),
		Client:     &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
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
	s.Client.CloseIdleConnections()
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
	resp, err := s.Client.Do(req)
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
	n := s.Call()
	if smsdouble.ReadCreate(w, r, s.AccountSID, s.AuthToken) != nil {
		return // answered
	}
	form := r.PostForm

	if f := s.Failure(n, form); f != nil {
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

	m, code := smsdouble.ParseMessage(form)
	if code != 0 {
		smsdouble.WriteError(w, http.StatusBadRequest, code, "", "")
		return
	}
	m.Sid = smsdouble.NewSID("SM")
	m.At = time.Now()
	s.Accept(m)

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
	return s.Client.Do(req)
}

// Call is a call a handset makes to one of our Twilio numbers.
type Call struct {
	Sid, From, To string
}

// PostCall delivers c to webhookURL the way Twilio's incoming-call webhook
// does: the documented form fields of a ringing inbound call, signed with
// the account's auth token.
func (s *Server) PostCall(ctx context.Context, webhookURL string, c Call) (*http.Response, error) {
	params := map[string]string{
		"CallSid": c.Sid, "AccountSid": s.AccountSID, "ApiVersion": APIVersion,
		"From": c.From, "Caller": c.From, "To": c.To, "Called": c.To,
		"CallStatus": "ringing", "Direction": "inbound",
		"FromCountry": "IN", "FromState": "", "FromCity": "", "FromZip": "",
		"CallerCountry": "IN", "CallerState": "", "CallerCity": "", "CallerZip": "",
		"ToCountry": "US", "ToState": "", "ToCity": "", "ToZip": "",
		"CalledCountry": "US", "CalledState": "", "CalledCity": "", "CalledZip": "",
	}
	req, err := smsdouble.SignedRequest(ctx, s.AuthToken, webhookURL, params)
	if err != nil {
		return nil, err
	}
	return s.Client.Do(req)
}
