package twilio

import (
	"slices"
	"testing"
)

func TestSettingsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want []string // keys reported
	}{
		{"number", Settings{AccountSID: "AC0123", AuthToken: "tok1", From: "+15005550006"}, nil},
		{"sender id", Settings{AccountSID: "AC0123", AuthToken: "tok1", From: "MoHFW 1"}, nil},
		{"service", Settings{AccountSID: "AC0123", AuthToken: "tok1", MessagingServiceSID: "MG0123"}, nil},
		{"nothing set", Settings{}, []string{"account_sid", "auth_token", "from"}},
		{"bad sids", Settings{AccountSID: "XY0123", AuthToken: "tok-1", MessagingServiceSID: "XX1"}, []string{"account_sid", "auth_token", "messaging_service_sid"}},
		{"both senders", Settings{AccountSID: "AC0123", AuthToken: "tok1", From: "+15005550006", MessagingServiceSID: "MG1"}, []string{"from"}},
		{"digits only sender", Settings{AccountSID: "AC0123", AuthToken: "tok1", From: "15005550006"}, []string{"from"}},
		{"long sender id", Settings{AccountSID: "AC0123", AuthToken: "tok1", From: "SANDESHINDIA"}, []string{"from"}},
		{"base_url", Settings{AccountSID: "AC0123", AuthToken: "tok1", From: "+15005550006", BaseURL: "localhost:1"}, []string{"base_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			tc.s.Check(func(key, format string, args ...any) { got = append(got, key) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems with %q, want %q", got, tc.want)
			}
			if tc.want == nil {
				if _, err := New(tc.s.Config("primary", "https://sms.example.org")); err != nil {
					t.Errorf("New refuses settings that passed Check: %v", err)
				}
			}
		})
	}
}
