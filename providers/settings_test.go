package providers

import (
	"fmt"
	"testing"
)

func TestCheckBaseURL(t *testing.T) {
	for _, tc := range []struct {
		in, want, problem string
	}{
		{"", "", ""},
		{"http://127.0.0.1:4010/", "http://127.0.0.1:4010", ""},
		{"https://api.example.net/v1", "https://api.example.net/v1", ""},
		{"localhost:9999", "localhost:9999", "must be an absolute http:// or https:// URL"},
		{"ftp://h", "ftp://h", "must be an absolute http:// or https:// URL"},
		{"https:///x", "https:///x", "must include a host"},
		{"https://h/?x=1", "https://h/?x=1", "must not have a query or fragment"},
		{"https://h//", "https://h/", "must not end with a slash"},
	} {
		base, problem := tc.in, ""
		CheckBaseURL(&base, func(key, format string, args ...any) {
			if key != "base_url" {
				t.Errorf("%q: problem reported for %q", tc.in, key)
			}
			problem = fmt.Sprintf(format, args...)
		})
		if base != tc.want || problem != tc.problem {
			t.Errorf("CheckBaseURL(%q) = %q, %q; want %q, %q", tc.in, base, problem, tc.want, tc.problem)
		}
	}
}
