package gateway

import "testing"

func TestNormalizeMobile(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"9876543210", "+919876543210"},
		{"+91 98765 43210", "+919876543210"},
		{"(+91) 98765-43210", "+919876543210"},
		{"09876543210", "+919876543210"},
		{"+919876543210", "+919876543210"},
		{"+14155552671", "+14155552671"}, // US: fixed line or mobile
		{"+447911123456", "+447911123456"},
		{"02025501234", ""},     // a Pune landline
		{"+912025501234", ""},   // the same, international
		{"98765", ""},           // too short
		{"98765432101234", ""},  // too long
		{"+999876543210", ""},   // no such country code
		{"1800FLOWERS", ""},     // letters
		{"+91 98765 4321a", ""}, // a letter among digits
		{"", ""},
	} {
		got, err := NormalizeMobile(tc.raw, "IN")
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}
