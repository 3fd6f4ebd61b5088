package webpagetest

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	hiddenRe    = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	fieldRe     = regexp.MustCompile(`<(?:input|select|textarea) [^>]*>`)
	idRe        = regexp.MustCompile(` id="([^"]+)"`)
	langRe      = regexp.MustCompile(`<html lang="([a-z]+)">`)
	forbiddenRe = regexp.MustCompile(`<script|<style|\sstyle=|\son[a-z]+=|https?://`)
	errorRe     = regexp.MustCompile(`<p class="error" id="error" role="alert">([^<]*)</p>`)
)

// Hidden is the value of the hidden field name of a page, unescaped; ""
// when none.
func Hidden(body, name string) string {
	for _, m := range hiddenRe.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// ErrorText is the page's error message, unescaped; "" when none.
func ErrorText(body string) string {
	m := errorRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// Lang is the language of the page, from <html lang>; "" when none.
func Lang(body string) string {
	if m := langRe.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// Fields are the tags of a page's form fields: input, select, textarea.
func Fields(body string) []string { return fieldRe.FindAllString(body, -1) }

// InvalidFields are the ids of the fields marked aria-invalid, each
// described by the error.
func InvalidFields(body string) []string {
	var out []string
	for _, f := range Fields(body) {
		if strings.Contains(f, `aria-invalid="true" aria-describedby="error"`) {
			if m := idRe.FindStringSubmatch(f); m != nil {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// CheckResponse holds for every response of a page: the security headers;
// HTML that is UTF-8, a whole page with a lang, a skip link to the main
// content, a label for each field, an error for each field marked invalid,
// no script, inline style or outside URL, and is not stored; and never any
// of secrets, in a header or the body.
func CheckResponse(t testing.TB, what string, r Response, secrets ...string) {
	t.Helper()
	for _, kv := range [][2]string{
		// webpage.NoScriptCSP, spelled out so that changing it changes a test.
		{"Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
		{"X-Frame-Options", "DENY"},
		{"X-Content-Type-Options", "nosniff"},
		{"Referrer-Policy", "no-referrer"},
	} {
		if got := r.Header.Get(kv[0]); got != kv[1] {
			t.Errorf("%s: %s = %q, want %q", what, kv[0], got, kv[1])
		}
	}
	for _, secret := range secrets {
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, secret) {
					t.Errorf("%s: header %s has an API key", what, name)
				}
			}
		}
		if strings.Contains(r.Body, secret) {
			t.Errorf("%s: body has an API key", what)
		}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		return
	}
	checkPage(t, what, r)
}

// checkPage holds for every HTML response.
func checkPage(t testing.TB, what string, r Response) {
	t.Helper()
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
	if r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type = %q", what, r.Header.Get("Content-Type"))
	}
	if !utf8.ValidString(r.Body) {
		t.Errorf("%s: body is not UTF-8", what)
	}
	if !strings.HasPrefix(r.Body, "<!DOCTYPE html>\n<html lang=\"") || !strings.HasSuffix(r.Body, "</html>\n") {
		t.Errorf("%s: not a whole HTML page:\n%s", what, r.Body)
	}
	if m := forbiddenRe.FindString(r.Body); m != "" {
		t.Errorf("%s: page has %q (script, inline style or an outside URL)", what, m)
	}
	if !strings.Contains(r.Body, `<a class="skip" href="#main">`) || !strings.Contains(r.Body, `<main id="main"`) {
		t.Errorf("%s: no skip link to the main content", what)
	}
	for _, f := range Fields(r.Body) {
		if strings.Contains(f, `type="hidden"`) {
			continue
		}
		m := idRe.FindStringSubmatch(f)
		if m == nil || !strings.Contains(r.Body, `<label for="`+m[1]+`">`) {
			t.Errorf("%s: field without a label: %s", what, f)
		}
	}
	if n := len(InvalidFields(r.Body)); n > 0 && ErrorText(r.Body) == "" {
		t.Errorf("%s: %d fields marked invalid with no error to describe them", what, n)
	}
}
