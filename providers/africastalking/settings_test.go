package africastalking

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
		{"minimal", Settings{Username: "sandbox", APIKey: "atsk-0123"}, nil},
		{"every key", Settings{Username: "sandesh-ke", APIKey: "atsk-0123", From: "+254711082000", Enqueue: true,
			BaseURL: "https://api.sandbox.africastalking.com/", WebhookToken: "at-callback-token-0123456789"}, nil},
		{"nothing set", Settings{}, []string{"username", "api_key"}},
		{"bad username", Settings{Username: "a b", APIKey: "k"}, []string{"username"}},
		{"long sender id", Settings{Username: "sandbox", APIKey: "k", From: "SANDESHINDIA"}, []string{"from"}},
		{"short webhook token", Settings{Username: "sandbox", APIKey: "k", WebhookToken: "short"}, []string{"webhook_token"}},
		{"base_url", Settings{Username: "sandbox", APIKey: "k", BaseURL: "ftp://h"}, []string{"base_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			tc.s.Check(func(key, format string, args ...any) { got = append(got, key) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems with %q, want %q", got, tc.want)
			}
			if tc.want == nil {
				if _, err := New(tc.s.Config("africa")); err != nil {
					t.Errorf("New refuses settings that passed Check: %v", err)
				}
			}
		})
	}
}
