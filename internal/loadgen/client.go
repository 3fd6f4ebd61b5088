package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody is the most of an answer the generator reads.
const maxBody = 1 << 20

// NewHTTPClient is the one client a run uses: keep-alive, enough idle
// connections per host for concurrency requests in flight (so that
// connections are reused, not opened and closed under load), HTTP/1.1, and
// timeout per request.
func NewHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil, // a drill talks to the gateway directly
			DialContext:           dialer.DialContext,
			MaxIdleConns:          2*concurrency + 16,
			MaxIdleConnsPerHost:   concurrency + 16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     false,
		},
	}
}

// result is one request's outcome, timed from just before it was sent to
// the end of its answer's body.
type result struct {
	status int // 0: no answer (err is set)
	body   []byte
	sent   time.Time
	took   time.Duration
	err    error
}

// ok reports whether the request was answered with want.
func (r result) ok(want int) bool { return r.err == nil && r.status == want }

// statusKey is how a result is counted: the status code, or "error" for a
// request that got no answer (refused, reset, timed out).
func (r result) statusKey() string {
	if r.err != nil {
		return "error"
	}
	return strconv.Itoa(r.status)
}

// describe is the result for an error message: the status and the start
// of the body, or the transport error.
func (r result) describe() string {
	if r.err != nil {
		return r.err.Error()
	}
	body := strings.TrimSpace(string(r.body))
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("%d %s", r.status, body)
}

// client sends requests to one base URL.
type client struct {
	base string
	hc   *http.Client
}

// do sends one request and reads its whole answer.
func (c *client) do(ctx context.Context, method, path string, header http.Header, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return result{err: err, sent: time.Now()}
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	for k, v := range header {
		req.Header[k] = v
	}
	r := result{sent: time.Now()}
	resp, err := c.hc.Do(req)
	if err != nil {
		r.err, r.took = err, time.Since(r.sent)
		return r
	}
	r.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	r.took = time.Since(r.sent)
	r.status = resp.StatusCode
	if err != nil {
		r.err = fmt.Errorf("reading the answer: %w", err)
	}
	return r
}

// postJSON posts v as JSON with a bearer key.
func (c *client) postJSON(ctx context.Context, path, key string, v any) result {
	body, err := json.Marshal(v)
	if err != nil {
		return result{err: err, sent: time.Now()}
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return c.do(ctx, http.MethodPost, path, h, body)
}

// postForm posts a form with extra headers.
func (c *client) postForm(ctx context.Context, path string, form url.Values, header http.Header) result {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for k, v := range header {
		h[k] = v
	}
	return c.do(ctx, http.MethodPost, path, h, []byte(form.Encode()))
}

// get reads path.
func (c *client) get(ctx context.Context, path, key string) result {
	h := http.Header{}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return c.do(ctx, http.MethodGet, path, h, nil)
}
