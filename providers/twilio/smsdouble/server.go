// Package smsdouble is a stand-in for Twilio's Messages API that runs as a
// process of its own (cmd/smsdouble) for load and fault drills: it accepts
// messages like api.twilio.com at thousands a second, fails on demand
// (latency, 500s, 429s, timeouts, an outage), posts signed status callbacks
// like Twilio, and records what it accepted so a drill can count lost and
// duplicated messages.
//
// Its HTTP endpoints:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json  Twilio's create call
//	GET  /control   the Faults in force: {"state":"up","latency":"0s","jitter":"0s","error_500":0,
//	                "error_429":0,"timeout":0,"hang":"30s","undelivered":0}
//	POST /control   change any of those fields, all or none: {"state":"down"}, {"error_500":0.1,"latency":"20ms"}
//	GET  /record    the Record as JSON
//	GET  /messages  the accepted messages as NDJSON, in accept order; ?since_unix_nano=T for later ones
//	POST /reset     forget the messages and zero the counters (the Faults stay)
//
// It also holds the wire format both Twilio doubles share (the message
// resource, error bodies, sids, signed callbacks); twiliotest serves it to
// in-process tests.
package smsdouble

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is how a Server starts.
type Config struct {
	AccountSID      string    // letters and digits; "" → a random "AC" sid
	AuthToken       string    // letters and digits; "" → a random one
	Faults          Faults    // at start; Hang 0 → DefaultHang
	Callbacks       Callbacks // statuses posted per accepted message; 0 → none
	CallbackWorkers int       // concurrent callback posts; 0 → DefaultCallbackWorkers
	CallbackQueue   int       // messages whose callbacks may wait; 0 → DefaultCallbackQueue
}

// Server is the double, an http.Handler. Its methods are safe for
// concurrent use.
type Server struct {
	account, authToken string
	mux                *http.ServeMux
	faults             atomic.Pointer[Faults]
	controlMu          sync.Mutex // serialises changes of faults
	ledger             *ledger
	rejected           rejections
	poster             *poster
	done               chan struct{} // closed by Close: releases waiting handlers
	closeOnce          sync.Once
}

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// New validates cfg and builds a Server whose callback senders run until
// Close.
func New(cfg Config) (*Server, error) {
	if cfg.AccountSID == "" {
		cfg.AccountSID = NewSID("AC")
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = RandomHex(16)
	}
	if !alnum.MatchString(cfg.AccountSID) || !alnum.MatchString(cfg.AuthToken) {
		return nil, errors.New("account SID and auth token must be letters and digits")
	}
	if cfg.Faults.Hang == 0 {
		cfg.Faults.Hang = DefaultHang
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	if cfg.CallbackWorkers < 0 || cfg.CallbackQueue < 0 {
		return nil, errors.New("callback workers and queue must not be negative")
	}
	if cfg.CallbackWorkers == 0 {
		cfg.CallbackWorkers = DefaultCallbackWorkers
	}
	if cfg.CallbackQueue == 0 {
		cfg.CallbackQueue = DefaultCallbackQueue
	}
	s := &Server{
		account:   cfg.AccountSID,
		authToken: cfg.AuthToken,
		mux:       http.NewServeMux(),
		ledger:    newLedger(),
		poster:    newPoster(cfg.AccountSID, cfg.AuthToken, cfg.Callbacks, cfg.CallbackWorkers, cfg.CallbackQueue),
		done:      make(chan struct{}),
	}
	s.faults.Store(&cfg.Faults)
	s.mux.HandleFunc("POST /"+APIVersion+"/Accounts/{AccountSid}/Messages.json", s.create)
	s.mux.HandleFunc("GET /control", s.getControl)
	s.mux.HandleFunc("POST /control", s.postControl)
	s.mux.HandleFunc("GET /record", s.record)
	s.mux.HandleFunc("GET /messages", s.messages)
	s.mux.HandleFunc("POST /reset", s.reset)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
	})
	return s, nil
}

// AccountSID is the account the double serves.
func (s *Server) AccountSID() string { return s.account }

// AuthToken is the account's auth token: the Basic auth password of create
// calls and the key of the callbacks' X-Twilio-Signature.
func (s *Server) AuthToken() string { return s.authToken }

// ServeHTTP serves the endpoints listed in the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return *s.faults.Load() }

// SetFaults puts f in force, unless it is out of range.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.controlMu.Lock()
	s.faults.Store(&f)
	s.controlMu.Unlock()
	return nil
}

// Record returns the counts since the start or the last Reset.
func (s *Server) Record() Record {
	var r Record
	s.ledger.summary(&r)
	r.Rejected = s.rejected.snapshot()
	r.Callbacks = s.poster.counts()
	return r
}

// Messages returns the messages accepted after sinceUnixNano (0: all), in
// accept order.
func (s *Server) Messages(sinceUnixNano int64) []Accepted {
	entries := s.ledger.since(sinceUnixNano)
	out := make([]Accepted, len(entries))
	for i := range entries {
		out[i] = entries[i].accepted()
	}
	return out
}

// Reset forgets the accepted messages and zeroes the counters; the faults
// stay as they are.
func (s *Server) Reset() {
	s.ledger.reset()
	s.rejected.reset()
	s.poster.reset()
}

// Close stops the callback senders and releases create requests that wait
// (latency, timeouts) by dropping their connections. Call it before the
// http.Server's Shutdown, which would otherwise wait for hung requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.poster.close()
	})
}

// create serves Twilio's create call: POST /2010-04-01/Accounts/{AccountSid}/Messages.json.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	f := s.faults.Load()
	if f.Down {
		s.rejected.down.Add(1)
		WriteError(w, http.StatusServiceUnavailable, 20503, "", "")
		return
	}
	if d := f.delay(); d > 0 && !s.wait(r.Context(), d) {
		panic(http.ErrAbortHandler) // client gone or double closing: drop the connection
	}

	switch err := ReadCreate(w, r, s.account, s.authToken); {
	case errors.Is(err, ErrAuth):
		s.rejected.auth.Add(1)
		return
	case err != nil:
		s.rejected.invalid.Add(1)
		return
	}
	m, code := ParseMessage(r.PostForm)
	if code != 0 {
		s.rejected.invalid.Add(1)
		WriteError(w, http.StatusBadRequest, code, "", "")
		return
	}

	switch f.draw() {
	case fault500:
		s.rejected.error500.Add(1)
		WriteError(w, http.StatusInternalServerError, 20500, "", "")
		return
	case fault429:
		s.rejected.error429.Add(1)
		WriteError(w, http.StatusTooManyRequests, 20429, "", "1")
		return
	case faultTimeout:
		s.rejected.timeout.Add(1)
		s.wait(r.Context(), f.Hang)
		panic(http.ErrAbortHandler) // answer nothing, as a dead upstream would
	}

	m.Sid = NewSID("SM")
	m.At = time.Now()
	s.ledger.add(m.At.UnixNano(), m.Sid, m.To, m.Body, messageID(m.StatusCallback))

	body, _ := json.Marshal(NewResource(s.account, m)) // cannot fail: strings, pointers and a map of strings
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusCreated)
	w.Write(body)
	// The client has its answer before the first callback can leave, as
	// with Twilio.
	http.NewResponseController(w).Flush()
	s.poster.enqueue(m, f.undelivered())
}

// messageID is the gateway's message id in a StatusCallback URL: its m
// query parameter (see twilio.StatusCallbackURL), "" if there is none.
func messageID(callback string) string {
	if callback == "" {
		return ""
	}
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get("m")
}

// wait waits for d and reports whether it passed before the client went
// away or the double closed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d): // collected when unreferenced (Go ≥ 1.23): no Stop needed
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

func (s *Server) getControl(w http.ResponseWriter, _ *http.Request) {
	f := s.Faults()
	writeJSON(w, http.StatusOK, controlOf(&f))
}

// postControl changes the fields of the faults the JSON body names, all
// or none of them.
func (s *Server) postControl(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"bad_request", err.Error()})
		return
	}
	s.controlMu.Lock()
	f, err := applyControl(*s.faults.Load(), body)
	if err == nil {
		s.faults.Store(&f)
	}
	s.controlMu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"invalid_control", err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, controlOf(&f))
}

func (s *Server) record(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Record())
}

// messages streams the accepted messages as NDJSON.
func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	var since int64
	if v := r.URL.Query().Get("since_unix_nano"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{"invalid_since", "since_unix_nano must be an integer of Unix nanoseconds"})
			return
		}
		since = n
	}
	entries := s.ledger.since(since)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w) // w buffers: one write per few kilobytes
	for i := range entries {
		if err := enc.Encode(entries[i].accepted()); err != nil {
			return // client gone
		}
	}
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// apiError is the body of an error on the double's own endpoints.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
