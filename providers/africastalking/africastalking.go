// Package africastalking sends SMS through Africa's Talking's HTTP SMS API
// (POST /version1/messaging), classifies every failure for retry and
// failover, and reads AT's delivery reports.
package africastalking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"sandesh/providers"
)

// Base URLs of AT's SMS API.
const (
	DefaultBaseURL = "https://api.africastalking.com"
	SandboxBaseURL = "https://api.sandbox.africastalking.com"
)

// MessagingPath is the path of AT's bulk SMS endpoint under the base URL.
const MessagingPath = "/version1/messaging"

// DefaultTimeout bounds one request to AT when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxIdleConnsPerHost keeps a worker's concurrent sends on warm
// connections instead of paying a TCP+TLS handshake per message.
const maxIdleConnsPerHost = 256

// maxBody bounds how much of any answer we read. AT's answer for one
// recipient is a few hundred bytes.
const maxBody = 64 << 10

// Config is one configured Africa's Talking app.
type Config struct {
	Name     string // configured provider name, [a-z0-9-]+
	Username string // the AT app's username ("sandbox" in the sandbox)
	APIKey   string
	From     string // sender id or short code; "" for the account default
	Enqueue  bool   // ask AT to queue the message (AT's bulk mode)
	BaseURL  string // "" for DefaultBaseURL; SandboxBaseURL or a test double
	// Timeout bounds one call; 0 for DefaultTimeout.
	Timeout time.Duration
}

// Provider sends messages through one AT app. It is safe for concurrent
// use; all sends share one pooled HTTP transport.
type Provider struct {
	name     string
	username string
	apiKey   string
	from     string
	enqueue  bool
	endpoint string // base URL + MessagingPath
	timeout  time.Duration
	client   *http.Client
}

var (
	nameRe     = regexp.MustCompile(`^[a-z0-9-]+$`)
	usernameRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	// e164Re is the same rule the gateway's config uses: "+", no leading
	// zero, 7 to 15 digits.
	e164Re = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// New validates cfg and builds a Provider. Its errors never contain the
// API key.
func New(cfg Config) (*Provider, error) {
	if !nameRe.MatchString(cfg.Name) {
		return nil, fmt.Errorf("africastalking: provider name %q must be [a-z0-9-]+", cfg.Name)
	}
	if cfg.Username == "" {
		return nil, fmt.Errorf("africastalking %s: username is required", cfg.Name)
	}
	if !usernameRe.MatchString(cfg.Username) {
		return nil, fmt.Errorf("africastalking %s: username must be letters, digits, '.', '_' or '-', at most 64", cfg.Name)
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("africastalking %s: api_key is required", cfg.Name)
	}
	if !headerSafe(cfg.APIKey) {
		return nil, fmt.Errorf("africastalking %s: api_key must be printable ASCII without spaces", cfg.Name)
	}
	if strings.ContainsFunc(cfg.From, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("africastalking %s: from must not contain control characters", cfg.Name)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("africastalking %s: timeout must not be negative", cfg.Name)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := parseBase(base)
	if err != nil {
		return nil, fmt.Errorf("africastalking %s: base_url: %w", cfg.Name, err)
	}
	p := &Provider{
		name:     cfg.Name,
		username: cfg.Username,
		apiKey:   cfg.APIKey,
		from:     cfg.From,
		enqueue:  cfg.Enqueue,
		endpoint: u.String() + MessagingPath,
		timeout:  cfg.Timeout,
		client: &http.Client{
			Transport: newTransport(),
			// A redirect means a wrong base_url: answer with it, do not
			// post the message (and the key) somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			// No Timeout: the per-call context deadline bounds the call.
		},
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	return p, nil
}

// headerSafe reports whether s can travel as a header value as it is.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not carry credentials", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// newTransport is HTTP/1.1 only, on purpose: its RoundTrip returns an error
// only after the request writer finished, so the WroteRequest trace tells
// reliably whether AT can have received the whole request (see Send).
func newTransport() *http.Transport {
	var protos http.Protocols
	protos.SetHTTP1(true)
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		Protocols:           &protos,
		MaxIdleConns:        maxIdleConnsPerHost,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		// Below the idle timeouts of common load balancers (60 s and
		// more): a POST on a connection the far end closed just before
		// fails ambiguously (no retry), so we drop idle ones first.
		IdleConnTimeout:        30 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.name }

// String names the provider without its credentials, also for %v and %+v.
func (p *Provider) String() string { return "africastalking " + p.name }

// GoString keeps %#v from printing the API key.
func (p *Provider) GoString() string { return "africastalking.Provider(" + p.name + ")" }

// Send hands m to AT and returns AT's messageId, or a *providers.Error that
// says whether to retry or fail over (see errors.go). ctx cancellation and
// deadline abort the request; each call is also bounded by Config.Timeout.
func (p *Provider) Send(ctx context.Context, m providers.Outbound) (providers.Receipt, error) {
	if !e164Re.MatchString(m.To) {
		return providers.Receipt{}, providers.PermanentError(p.name, "invalid_to",
			errors.New("recipient is not an E.164 number (\"+\" and 7 to 15 digits)"))
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	// wrote says the whole request left us: after that AT may act on it
	// whatever happens to the answer. GetConn starts every attempt afresh
	// (the transport retries on a new connection when a pooled one died
	// before anything was written).
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn:      func(string) { wrote.Store(false) },
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	})

	form := url.Values{}
	form.Set("username", p.username)
	form.Set("to", m.To)
	form.Set("message", m.Body)
	if p.from != "" {
		form.Set("from", p.from)
	}
	if p.enqueue {
		form.Set("enqueue", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return p.fail(providers.TemporaryError(p.name, "request", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json") // else AT answers XML
	req.Header["apiKey"] = []string{p.apiKey}    // AT's spelling, as is

	resp, err := p.client.Do(req)
	if err != nil {
		return p.fail(p.transportError(err, wrote.Load()))
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return p.fail(p.httpError(resp, body))
	}
	if readErr != nil {
		// AT took the request and started answering: it may have sent it.
		code := "bad_response"
		if isTimeout(readErr) {
			code = "timeout"
		}
		return p.fail(providers.AmbiguousError(p.name, code,
			fmt.Errorf("HTTP %d, reading the answer: %w", resp.StatusCode, readErr)))
	}
	return p.answer(resp.StatusCode, body, m.To)
}

// sendResponse is AT's JSON answer to a send.
type sendResponse struct {
	SMSMessageData *struct {
		Message    string      `json:"Message"`
		Recipients []recipient `json:"Recipients"`
	} `json:"SMSMessageData"`
}

type recipient struct {
	StatusCode statusCode `json:"statusCode"`
	Number     string     `json:"number"`
	Status     string     `json:"status"`
	Cost       string     `json:"cost"`
	MessageID  string     `json:"messageId"`
}

// statusCode reads AT's statusCode, a JSON number (as a string too, to be
// lenient with gateways that quote it).
type statusCode int

func (c *statusCode) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v, err := n.Int64()
	if err != nil || v < 0 || v > 999 {
		return fmt.Errorf("statusCode %s is not a status code", b)
	}
	*c = statusCode(v)
	return nil
}

// answer reads a 2xx answer: AT took the request, so anything we cannot
// read is ambiguous.
func (p *Provider) answer(status int, body []byte, to string) (providers.Receipt, error) {
	var r sendResponse
	if err := json.Unmarshal(body, &r); err != nil || r.SMSMessageData == nil {
		if err == nil {
			err = errors.New("no SMSMessageData")
		}
		return p.fail(providers.AmbiguousError(p.name, "bad_response",
			fmt.Errorf("HTTP %d with an unreadable answer %s: %w", status, quote(p.text(string(body), 200)), err)))
	}
	data := r.SMSMessageData
	if len(data.Recipients) == 0 {
		return p.fail(p.noRecipient(data.Message))
	}
	rc, ok := pick(data.Recipients, to)
	if !ok {
		return p.fail(providers.AmbiguousError(p.name, "bad_response",
			fmt.Errorf("HTTP %d: %d recipients in the answer, none for the number sent to", status, len(data.Recipients))))
	}
	if e := p.recipientError(rc); e != nil {
		return p.fail(e)
	}
	return providers.Receipt{Provider: p.name, ProviderMessageID: rc.MessageID}, nil
}

// pick finds the answer's entry for the one number we sent to.
func pick(rs []recipient, to string) (recipient, bool) {
	if len(rs) == 1 {
		return rs[0], true
	}
	for _, r := range rs {
		if r.Number == to {
			return r, true
		}
	}
	return recipient{}, false
}
