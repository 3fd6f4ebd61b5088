package providers

import (
	"net/url"
	"regexp"
	"strings"
)

// Report takes one problem with a provider's config key: the key as written
// under the provider in sandesh.yaml ("account_sid") and what is wrong. A
// message never quotes a value that may be secret.
type Report func(key, format string, args ...any)

// E164 is the rule every provider's config uses for a phone number: "+", no
// leading zero, 7 to 15 digits.
var E164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// CheckHTTPURL describes what is wrong with an absolute http(s) URL, "" when
// nothing is. The URL is not quoted back: it may carry credentials.
func CheckHTTPURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL"
	case u.Host == "":
		return "must include a host"
	case u.RawQuery != "" || u.Fragment != "":
		return "must not have a query or fragment"
	case strings.HasSuffix(u.Path, "/"):
		return "must not end with a slash"
	}
	return ""
}

// CheckBaseURL trims a trailing slash from a provider's base_url and reports
// what else is wrong with it; "" (the provider's public API) is fine.
func CheckBaseURL(base *string, bad Report) {
	if *base == "" {
		return
	}
	*base = strings.TrimSuffix(*base, "/")
	if msg := CheckHTTPURL(*base); msg != "" {
		bad("base_url", "%s", msg)
	}
}
