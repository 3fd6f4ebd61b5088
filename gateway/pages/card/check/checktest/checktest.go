// Package checktest checks the answers of the card check page, for the
// page's own tests and the gateway's.
package checktest

import (
	"net/http"
	"regexp"
	"testing"
)

// CSP is the page's Content-Security-Policy: nothing but its one
// stylesheet, allowed by its hash.
var CSP = regexp.MustCompile(`^default-src 'none'; style-src 'sha256-([A-Za-z0-9+/=]+)'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'$`)

// Headers fails t unless h are the page's headers: HTML, not stored, not
// framed, not sniffed, no referrer, and its CSP.
func Headers(t testing.TB, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !CSP.MatchString(csp) {
		t.Errorf("%s: Content-Security-Policy = %q", what, csp)
	}
}
