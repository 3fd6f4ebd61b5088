// Package twilio sends SMS through Twilio's Messages API with the official
// twilio-go client, classifies every failure for retry and failover, maps
// Twilio's delivery statuses, and checks X-Twilio-Signature on webhooks.
package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"

	"sandesh/providers"
)

// DefaultTimeout bounds one request to Twilio when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxIdleConnsPerHost keeps a worker's ~100 concurrent sends (and bursts
// above that) on warm connections to api.twilio.com instead of paying a
// TCP+TLS handshake per message.
const maxIdleConnsPerHost = 256

// maxErrorBody bounds how much of an error response we buffer.
const maxErrorBody = 64 << 10

// Config is one configured Twilio account.
type Config struct {
	Name                string        // configured provider name, [a-z0-9-]+
	AccountSID          string        // letters and digits
	AuthToken           string        // letters and digits
	From                string        // E.164 sender, or
	MessagingServiceSID string        // a Messaging Service that picks the sender
	BaseURL             string        // "" = Twilio's public API; else e.g. "http://127.0.0.1:4010" of a test double
	PublicURL           string        // our public base URL, e.g. "https://sms.example.org"; "" = no status callbacks
	Timeout             time.Duration // per request; 0 → DefaultTimeout
}

// Provider sends messages through one Twilio account. It is safe for
// concurrent use; all sends share one pooled HTTP transport.
type Provider struct {
	name       string
	accountSID string
	authToken  string
	from       string
	serviceSID string
	publicURL  string
	timeout    time.Duration
	creds      *client.Credentials
	base       *url.URL // nil: Twilio's public API
	transport  http.RoundTripper
	// messagesURL is the Messages resource of the account on Twilio's
	// public API; the per-call RoundTripper rewrites it to base.
	messagesURL string
}

var (
	nameRe  = regexp.MustCompile(`^[a-z0-9-]+$`)
	alnumRe = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// New validates cfg and builds a Provider.
func New(cfg Config) (*Provider, error) {
	if !nameRe.MatchString(cfg.Name) {
		return nil, fmt.Errorf("twilio: provider name %q must be [a-z0-9-]+", cfg.Name)
	}
	// twilio-go refuses anything else at send time (its codes 21222/21224);
	// say so at startup instead.
	if !alnumRe.MatchString(cfg.AccountSID) {
		return nil, fmt.Errorf("twilio %s: account_sid must be letters and digits", cfg.Name)
	}
	if !alnumRe.MatchString(cfg.AuthToken) {
		return nil, fmt.Errorf("twilio %s: auth_token must be letters and digits", cfg.Name)
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, fmt.Errorf("twilio %s: from or messaging_service_sid is required", cfg.Name)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("twilio %s: timeout must not be negative", cfg.Name)
	}
	p := &Provider{
		name:       cfg.Name,
		accountSID: cfg.AccountSID,
		authToken:  cfg.AuthToken,
		from:       cfg.From,
		serviceSID: cfg.MessagingServiceSID,
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		timeout:    cfg.Timeout,
		creds:      client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		transport:  newTransport(),

		messagesURL: "https://api.twilio.com/2010-04-01/Accounts/" + cfg.AccountSID + "/Messages.json",
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if cfg.BaseURL != "" {
		u, err := parseBase(cfg.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("twilio %s: base_url: %w", cfg.Name, err)
		}
		p.base = u
	}
	if p.publicURL != "" {
		if _, err := parseBase(p.publicURL); err != nil {
			return nil, fmt.Errorf("twilio %s: public_url: %w", cfg.Name, err)
		}
	}
	return p, nil
}

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL with a host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdleConnsPerHost,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.name }

// AuthToken returns the account's auth token, the key of X-Twilio-Signature
// on this provider's webhooks.
func (p *Provider) AuthToken() string { return p.authToken }

// Send hands m to Twilio. It returns Twilio's message sid, or a
// *providers.Error that says whether to retry (see classify). ctx
// cancellation and deadline abort the HTTP request; each request is also
// bounded by Config.Timeout.
func (p *Provider) Send(ctx context.Context, m providers.Outbound) (providers.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	// twilio-go builds every request with context.Background() and has no
	// base-URL option, so each Send gets a few small values of its own: a
	// RoundTripper that attaches ctx, rewrites the host and records the
	// response status and Retry-After (twilio-go drops both). The pooled
	// transport underneath is shared. This costs a handful of allocations,
	// where twilio.NewRestClientWithParams would build ~60 API services per
	// call (see BenchmarkClientPerCall). No http.Client.Timeout: for a custom
	// RoundTripper it would start a timer goroutine per request; the ctx
	// deadline above does the same job.
	rt := &call{ctx: ctx, base: p.base, next: p.transport}
	tc := &client.Client{
		Credentials: p.creds,
		HTTPClient: &http.Client{
			Transport:     rt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	tc.SetAccountSid(p.accountSID)
	// A RequestHandler of our own, not client.NewRequestHandler: that one
	// reads TWILIO_EDGE/TWILIO_REGION from the environment on every call.
	handler := &client.RequestHandler{Client: tc}

	// The form openapi.ApiService.CreateMessage posts, through twilio-go's
	// request handler (credentials, headers, Twilio's error body), with
	// the answer read for its sid alone: CreateMessage decodes the whole
	// ApiV2010Message, some forty fields each allocated, which was a tenth
	// of the worker's CPU.
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if p.from != "" {
		form.Set("From", p.from)
	}
	if p.serviceSID != "" {
		form.Set("MessagingServiceSid", p.serviceSID)
	}
	if p.publicURL != "" {
		form.Set("StatusCallback", StatusCallbackURL(p.publicURL, p.name, m.MessageID))
	}
	resp, err := handler.Post(p.messagesURL, form, map[string]any{"Content-Type": "application/x-www-form-urlencoded"}, "")
	if err != nil {
		return providers.Receipt{}, p.classify(err, rt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		return providers.Receipt{}, p.classify(err, rt)
	}
	sid, err := messageSid(body)
	if err != nil {
		return providers.Receipt{}, p.classify(err, rt)
	}
	if sid == "" {
		// Twilio answered 2xx but we cannot tell which message it is.
		// Retrying may duplicate it; not retrying may lose it.
		return providers.Receipt{}, providers.TemporaryError(p.name, "bad_response",
			fmt.Errorf("HTTP %d without a message sid", rt.status))
	}
	return providers.Receipt{Provider: p.name, ProviderMessageID: sid}, nil
}

// messageSid reads the sid of the message resource Twilio answers with.
// The resource names it once, as the top-level key "sid" (the other sids
// are account_sid and messaging_service_sid, and no string value can hold
// an unescaped quote), and a sid is two letters and 32 hex digits, so one
// found that way is taken as it is: encoding/json's scan of the whole
// answer was a tenth of the worker's CPU. Anything else — a sid of another
// shape, an answer laid out otherwise — is decoded in full.
func messageSid(body []byte) (string, error) {
	if _, rest, ok := bytes.Cut(body, []byte(`"sid"`)); ok {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if v, ok := bytes.CutPrefix(rest, []byte(":")); ok {
			v = bytes.TrimLeft(v, " \t\r\n")
			if len(v) >= 36 && v[0] == '"' && v[35] == '"' && isSid(v[1:35]) {
				return string(v[1:35]), nil
			}
		}
	}
	var msg struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", err
	}
	return msg.Sid, nil
}

// isSid reports whether s is a Twilio sid: two capital letters, 32 hex digits.
func isSid(s []byte) bool {
	if len(s) != 34 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return false
	}
	for _, c := range s[2:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// call is the per-Send RoundTripper. Only the goroutine running Send uses
// it: http.Client calls RoundTrip synchronously.
type call struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper

	status     int    // HTTP status of the last response, 0 if none
	retryAfter string // its Retry-After header
}

func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.WithContext(c.ctx) // shallow copy; the URL is copied below before we change it
	if c.base != nil {
		u := *r.URL
		u.Scheme = c.base.Scheme
		u.Host = c.base.Host
		if c.base.Path != "" {
			u.Path = c.base.Path + u.Path
			u.RawPath = ""
		}
		r.URL = &u
		r.Host = ""
	}
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	c.status = resp.StatusCode
	c.retryAfter = resp.Header.Get("Retry-After")
	if resp.StatusCode >= 400 {
		// twilio-go decodes error bodies but never closes them, which would
		// keep the connection out of the pool for good. Buffer the body and
		// close the original so the connection is reused.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}
