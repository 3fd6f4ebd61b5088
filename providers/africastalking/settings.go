package africastalking

import (
	"sandesh/providers"
)

// Settings are the keys of a provider of kind africastalking in sandesh.yaml.
type Settings struct {
	Username string `yaml:"username"` // the AT app's username
	APIKey   string `yaml:"api_key" redact:"true"`
	From     string `yaml:"from"`     // sender id, short code or E.164 number; empty: the account's default
	Enqueue  bool   `yaml:"enqueue"`  // AT's queueing for bulk sends
	BaseURL  string `yaml:"base_url"` // empty: AT's public API
	// WebhookToken, when set, is required as ?token= on the delivery-report URL.
	WebhookToken string `yaml:"webhook_token" redact:"true"`
}

// minWebhookToken is the shortest accepted webhook_token: it is all that
// stands between a forged report and a citizen's opt-out.
const minWebhookToken = 16

// Check reports every problem with s through bad and trims a trailing slash
// from base_url.
func (s *Settings) Check(bad providers.Report) {
	switch {
	case s.Username == "":
		bad("username", "required for kind africastalking")
	case !usernameRe.MatchString(s.Username):
		bad("username", "must be letters, digits, '.', '_' or '-', at most 64")
	}
	if s.APIKey == "" {
		bad("api_key", "required for kind africastalking")
	}
	if s.From != "" && len(s.From) > 11 && !providers.E164.MatchString(s.From) {
		bad("from", "a sender id of up to 11 characters, a short code or an E.164 number")
	}
	if s.WebhookToken != "" && len(s.WebhookToken) < minWebhookToken {
		bad("webhook_token", "at least %d characters when set", minWebhookToken)
	}
	providers.CheckBaseURL(&s.BaseURL, bad)
}

// Config is the Config of the provider called name.
func (s Settings) Config(name string) Config {
	return Config{Name: name, Username: s.Username, APIKey: s.APIKey, From: s.From, Enqueue: s.Enqueue, BaseURL: s.BaseURL}
}
