// Package attest is a stand-in for Africa's Talking's SMS API in tests: an
// httptest server that authenticates, validates and answers like
// POST https://api.africastalking.com/version1/messaging (point
// africastalking.Config.BaseURL at Server.URL), that can be told to fail
// in AT's ways, and that posts delivery reports like AT does.
package attest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sandesh/internal/doubletest"
	"strings"
	"testing"
	"time"
)

// Path is the messaging endpoint the double serves.
const Path = "/version1/messaging"

// Cost is what the double charges per message, in AT's notation.
const Cost = "KES 0.8000"

// AuthFailed is AT's plain-text answer (HTTP 401) to a wrong apiKey or
// username.
const AuthFailed = "The supplied authentication is invalid"

// StatusNames are AT's per-recipient status texts by statusCode.
var StatusNames = map[int]string{
	100: "Processed",
	101: "Success", // AT's answer says "Success" for 101 Sent
	102: "Queued",
	401: "RiskHold",
	402: "InvalidSenderId",
	403: "InvalidPhoneNumber",
	404: "UnsupportedNumberType",
	405: "InsufficientBalance",
	406: "UserInBlacklist",
	407: "CouldNotRoute",
	409: "DoNotDisturbRejection",
	500: "InternalServerError",
	501: "GatewayError",
	502: "RejectedByGateway",
}

// Message is one message the double accepted (one per recipient).
type Message struct {
	To         string
	From       string // "" when the request had no from
	Message    string
	Enqueue    bool // enqueue=1
	MessageID  string
	StatusCode int        // the statusCode answered: 101, or 100/102 when told
	Form       url.Values // the request's form as it arrived
	At         time.Time
}

// Failure is how the double answers one request instead of accepting it
// (see Server.Respond). Set one of its ways.
type Failure struct {
	// Status answers with this HTTP status, Header and Body as they are
	// (Content-Type text/plain unless Header sets one): 401, 429 with a
	// Retry-After header, 503, or a 201 whose Body is broken.
	Status int
	Header http.Header
	Body   string
	// StatusCode answers AT's usual 201 JSON with this per-recipient
	// statusCode and status text (StatusText "" for StatusNames'). 100,
	// 101 and 102 accept the message; others carry messageId "None".
	StatusCode int
	StatusText string
	// Hang never answers: the handler waits until the client gives up or
	// the server closes.
	Hang bool
	// Drop reads the whole request and closes the connection without an
	// answer; Reset does the same with a TCP reset.
	Drop  bool
	Reset bool
}

// NoRecipients is AT's 201 answer with an empty Recipients list and message
// as its Message, e.g. "InvalidPhoneNumber".
func NoRecipients(message string) Failure {
	b, _ := json.Marshal(answer{Data: answerData{Message: message, Recipients: []recipient{}}})
	return Failure{Status: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}}, Body: string(b)}
}

// FailAll answers every request with f.
func FailAll(f Failure) func(n int, form url.Values) *Failure {
	return func(int, url.Values) *Failure { return &f }
}

// FailFirst answers the first k requests with f and accepts the rest.
func FailFirst(k int, f Failure) func(n int, form url.Values) *Failure {
	return func(n int, _ url.Values) *Failure {
		if n <= k {
			return &f
		}
		return nil
	}
}

// Server is a running AT double. Its methods are safe for concurrent use.
type Server struct {
	URL      string // base URL, for africastalking.Config.BaseURL
	Username string // the app username requests must carry
	APIKey   string // the apiKey header requests must carry

	srv *httptest.Server
	// Client sends the reports the double posts (PostReport); a test may
	// wrap its Transport to check what the gateway answers.
	Client *http.Client
	done   chan struct{} // closed on shutdown: releases hung handlers

	// The messages accepted, the calls taken and the answers scripted:
	// Respond, Messages, Count, Calls and WaitCount.
	*doubletest.Log[Message, Failure]
}

// NewServer starts a double with username "sandbox" and a random API key.
// It is closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Username: "sandbox",
		APIKey:   "atsk_" + randomHex(32),
		done:     make(chan struct{}),
		Log:      doubletest.NewLog[Message, Failure]("attest"),
		Client:   &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Path, s.messaging)
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		plain(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusNotFound, "Not Found")
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

// CloseClientConnections closes every connection clients hold to the
// double, as a load balancer dropping idle keep-alive connections would.
func (s *Server) CloseClientConnections() { s.srv.CloseClientConnections() }

// PostReport posts AT's delivery-report form (id, status, phoneNumber,
// networkCode, failureReason when not "", retryCount) to callbackURL and
// returns the response. phoneNumber is the accepted message's To when id
// is one of the double's. The response body is already read into memory:
// closing it is optional.
func (s *Server) PostReport(ctx context.Context, callbackURL string, id, status, failureReason string) (*http.Response, error) {
	form := url.Values{
		"id":          {id},
		"status":      {status},
		"phoneNumber": {""},
		"networkCode": {"63902"}, // Safaricom
		"retryCount":  {"0"},
	}
	for _, m := range s.Messages() {
		if m.MessageID == id {
			form.Set("phoneNumber", m.To)
		}
	}
	if failureReason != "" {
		form.Set("failureReason", failureReason)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

// AT's answer to a send, in JSON and (without Accept: application/json)
// XML.
type answer struct {
	XMLName xml.Name   `json:"-" xml:"AfricasTalkingResponse"`
	Data    answerData `json:"SMSMessageData" xml:"SMSMessageData"`
}

type answerData struct {
	Message    string      `json:"Message" xml:"Message"`
	Recipients []recipient `json:"Recipients" xml:"Recipients>Recipient"`
}

type recipient struct {
	StatusCode int    `json:"statusCode" xml:"statusCode"`
	Number     string `json:"number" xml:"number"`
	Status     string `json:"status" xml:"status"`
	Cost       string `json:"cost" xml:"cost"`
	MessageID  string `json:"messageId" xml:"messageId"`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// messaging serves POST /version1/messaging.
func (s *Server) messaging(w http.ResponseWriter, r *http.Request) {
	n := s.Call()

	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		plain(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		plain(w, http.StatusBadRequest, "Request body could not be read")
		return
	}
	form := r.PostForm
	if r.Header.Get("apiKey") != s.APIKey || form.Get("username") != s.Username {
		plain(w, http.StatusUnauthorized, AuthFailed)
		return
	}
	for _, field := range []string{"to", "message"} {
		if form.Get(field) == "" {
			plain(w, http.StatusBadRequest, "Request is missing required form field '"+field+"'")
			return
		}
	}

	var recipients []recipient
	if f := s.Failure(n, form); f != nil {
		switch {
		case f.Hang:
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
			panic(http.ErrAbortHandler) // no answer
		case f.Drop, f.Reset:
			drop(w, f.Reset)
			return
		case f.Status != 0:
			for k, vs := range f.Header {
				w.Header()[k] = vs
			}
			if w.Header().Get("Content-Type") == "" {
				w.Header().Set("Content-Type", "text/plain")
			}
			w.WriteHeader(f.Status)
			io.WriteString(w, f.Body)
			return
		case f.StatusCode != 0:
			recipients = []recipient{s.recipient(form, strings.TrimSpace(form.Get("to")), f.StatusCode, f.StatusText)}
		}
	}
	if recipients == nil {
		for _, to := range strings.Split(form.Get("to"), ",") {
			to = strings.TrimSpace(to)
			code := 101
			if !e164.MatchString(to) {
				code = 403
			}
			recipients = append(recipients, s.recipient(form, to, code, ""))
		}
	}

	sent, total := 0, len(recipients)
	for _, rc := range recipients {
		if rc.StatusCode < 200 {
			sent++
		}
	}
	cost := "0"
	if sent > 0 {
		cost = Cost // one recipient in practice; the double does not add up
	}
	a := answer{Data: answerData{
		Message:    fmt.Sprintf("Sent to %d/%d Total Cost: %s", sent, total, cost),
		Recipients: recipients,
	}}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		// AT's default is XML.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, xml.Header)
		xml.NewEncoder(w).Encode(a)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(a)
}

// recipient answers for one number with statusCode code, recording the
// message when code accepts it.
func (s *Server) recipient(form url.Values, to string, code int, text string) recipient {
	if text == "" {
		text = StatusNames[code]
	}
	if code < 100 || code > 199 {
		return recipient{StatusCode: code, Number: to, Status: text, Cost: "0", MessageID: "None"}
	}
	m := Message{
		To: to, From: form.Get("from"), Message: form.Get("message"), Enqueue: form.Get("enqueue") == "1",
		MessageID: "ATXid_" + randomHex(16), StatusCode: code, Form: cloneForm(form), At: time.Now(),
	}
	s.Accept(m)
	return recipient{StatusCode: code, Number: to, Status: text, Cost: Cost, MessageID: m.MessageID}
}

// drop closes the request's connection without an answer, with a TCP
// reset when reset is set. The request was read in full.
func drop(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	conn.Close()
}

func cloneForm(f url.Values) url.Values {
	c := make(url.Values, len(f))
	for k, vs := range f {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
