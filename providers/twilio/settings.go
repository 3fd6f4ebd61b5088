package twilio

import (
	"regexp"

	"sandesh/providers"
)

// Settings are the keys of a provider of kind twilio in sandesh.yaml.
type Settings struct {
	AccountSID          string `yaml:"account_sid"`
	AuthToken           string `yaml:"auth_token" redact:"true"`
	From                string `yaml:"from"`                  // E.164 number or alphanumeric sender id
	MessagingServiceSID string `yaml:"messaging_service_sid"` // instead of From
	BaseURL             string `yaml:"base_url"`              // empty: Twilio's public API
}

var (
	accountSIDRe = regexp.MustCompile(`^AC[A-Za-z0-9]+$`)
	serviceSIDRe = regexp.MustCompile(`^MG[A-Za-z0-9]+$`)
	senderIDRe   = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	letterRe     = regexp.MustCompile(`[A-Za-z]`)
)

// Check reports every problem with s through bad and trims a trailing slash
// from base_url.
func (s *Settings) Check(bad providers.Report) {
	switch {
	case s.AccountSID == "":
		bad("account_sid", "required for kind twilio")
	case !accountSIDRe.MatchString(s.AccountSID):
		bad("account_sid", "must be letters and digits starting with AC")
	}
	switch {
	case s.AuthToken == "":
		bad("auth_token", "required for kind twilio")
	case !alnumRe.MatchString(s.AuthToken):
		bad("auth_token", "must be letters and digits")
	}
	switch {
	case s.From == "" && s.MessagingServiceSID == "":
		bad("from", "one of from or messaging_service_sid is required for kind twilio")
	case s.From != "" && s.MessagingServiceSID != "":
		bad("from", "set only one of from or messaging_service_sid")
	case s.From != "":
		if !providers.E164.MatchString(s.From) && !(senderIDRe.MatchString(s.From) && letterRe.MatchString(s.From)) {
			bad("from", "%q is neither an E.164 number (like +15005550006) nor an alphanumeric sender id of up to 11 characters", s.From)
		}
	default:
		if !serviceSIDRe.MatchString(s.MessagingServiceSID) {
			bad("messaging_service_sid", "must be letters and digits starting with MG")
		}
	}
	providers.CheckBaseURL(&s.BaseURL, bad)
}

// Config is the Config of the provider called name; status callbacks go to
// publicURL.
func (s Settings) Config(name, publicURL string) Config {
	return Config{
		Name: name, AccountSID: s.AccountSID, AuthToken: s.AuthToken,
		From: s.From, MessagingServiceSID: s.MessagingServiceSID,
		BaseURL: s.BaseURL, PublicURL: publicURL,
	}
}
