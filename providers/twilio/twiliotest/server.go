// Package twiliotest is a stand-in for Twilio's Messages API in tests: an
// httptest server that authenticates, validates and answers like
// api.twilio.com, so tests send real HTTP through the real twilio-go client
// (point twilio.Config.BaseURL at Server.URL), and that posts signed status
// callbacks back like Twilio does.
package twiliotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/providers/twilio"
)

// APIVersion is the only Twilio REST API version the double serves.
const APIVersion = "2010-04-01"

// Message is one message the double accepted.
type Message struct {
	Sid                 string
	To                  string
	From                string
	MessagingServiceSid string
	Body                string
	StatusCallback      string
	At                  time.Time
}

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
		AccountSID: "AC" + randomHex(16),
		AuthToken:  randomHex(16),
		done:       make(chan struct{}),
		changed:    make(chan struct{}),
		client:     &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /"+APIVersion+"/Accounts/{AccountSid}/Messages.json", s.create)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
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
	params := map[string]string{
		"MessageSid":    m.Sid,
		"SmsSid":        m.Sid,
		"MessageStatus": status,
		"SmsStatus":     status,
		"AccountSid":    s.AccountSID,
		"From":          m.From,
		"To":            m.To,
		"ApiVersion":    APIVersion,
	}
	if m.MessagingServiceSid != "" {
		params["MessagingServiceSid"] = m.MessagingServiceSid
	}
	if errorCode != "" {
		params["ErrorCode"] = errorCode
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(s.AuthToken, m.StatusCallback, params))
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

	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || subtle.ConstantTimeCompare([]byte(pass), []byte(s.AuthToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "", "")
		return
	}
	if r.PathValue("AccountSid") != s.AccountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 21620, "Invalid request body: "+err.Error(), "")
		return
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
				writeError(w, f.Status, f.Code, f.Message, f.RetryAfter)
				return
			}
		}
	}

	to, body := form.Get("To"), form.Get("Body")
	from, service := form.Get("From"), form.Get("MessagingServiceSid")
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "", "")
		return
	case body == "" && form.Get("MediaUrl") == "" && form.Get("ContentSid") == "":
		writeError(w, http.StatusBadRequest, 21602, "", "")
		return
	case from == "" && service == "":
		writeError(w, http.StatusBadRequest, 21603, "", "")
		return
	}

	m := Message{
		Sid:                 "SM" + randomHex(16),
		To:                  to,
		From:                from,
		MessagingServiceSid: service,
		Body:                body,
		StatusCallback:      form.Get("StatusCallback"),
		At:                  time.Now(),
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(s.resource(m))
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

// resource is Twilio's Message resource as the create call returns it.
type resource struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func (s *Server) resource(m Message) resource {
	uri := "/" + APIVersion + "/Accounts/" + s.AccountSID + "/Messages/" + m.Sid
	date := m.At.UTC().Format(time.RFC1123Z) // RFC 2822, as Twilio writes it
	res := resource{
		AccountSid:      s.AccountSID,
		APIVersion:      APIVersion,
		Body:            m.Body,
		DateCreated:     date,
		DateUpdated:     date,
		Direction:       "outbound-api",
		NumMedia:        "0",
		NumSegments:     strconv.Itoa(segments(m.Body)),
		PriceUnit:       "USD",
		Sid:             m.Sid,
		Status:          "queued",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"},
		To:              m.To,
		URI:             uri + ".json",
	}
	if m.From != "" {
		res.From = &m.From
	}
	if m.MessagingServiceSid != "" {
		res.MessagingServiceSid = &m.MessagingServiceSid
		if m.From == "" {
			// Like Twilio: the service has not picked a sender yet, so the
			// message is only "accepted" and its segments are not counted.
			res.Status = "accepted"
			res.NumSegments = "0"
		}
	}
	return res
}

// twilioError is Twilio's error body.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// messages are Twilio's texts for the codes the double is asked for most.
var messages = map[int]string{
	20003: "Authenticate",
	20005: "Account not active",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "Internal Server Error",
	20503: "Service Unavailable",
	21211: "Invalid 'To' Phone Number",
	21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
	21602: "Message body is required.",
	21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
	21604: "A 'To' phone number is required.",
	21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
	21610: "Attempt to send to unsubscribed recipient",
	21612: "The 'To' phone number is not currently reachable via SMS",
	21614: "'To' number is not a valid mobile number",
	21617: "The concatenated message body exceeds the 1600 character limit.",
}

func writeError(w http.ResponseWriter, status, code int, msg, retryAfter string) {
	if msg == "" {
		msg = messages[code]
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(twilioError{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// gsm7 is the GSM 03.38 basic character set; gsm7ext costs two septets.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7ext = "^{}\\[~]|€\f"
)

// segments counts SMS segments as Twilio would for body: GSM-7 when every
// character has a septet (160 in one segment, 153 per part), else UCS-2
// (70, or 67 per part in UTF-16 code units).
func segments(body string) int {
	septets, units, gsm := 0, 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7ext, r):
			septets += 2
		default:
			gsm = false
		}
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
	}
	single, part, n := 160, 153, septets
	if !gsm {
		single, part, n = 70, 67, units
	}
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
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
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(s.AuthToken, webhookURL, params))
	return s.client.Do(req)
}
