package loadgen

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"

	"sandesh/providers/twilio"
)

// TwilioNumber is the number inbound SMS are sent to, as Twilio's test
// credentials use it.
const TwilioNumber = "+15005550006"

// InboundPath is the gateway's path for Twilio inbound SMS of provider.
func InboundPath(provider string) string { return "/webhooks/twilio/" + provider + "/sms" }

// inboundSMS is a Twilio inbound SMS webhook as Twilio posts it.
type inboundSMS struct {
	path   string
	form   url.Values
	header http.Header
}

// newInboundSMS is the webhook for an SMS with body from mobile from,
// signed like Twilio signs it: X-Twilio-Signature over publicURL + path and
// the form, with authToken. sid is the MessageSid ("SM" + 32 hex), unique
// per message: the gateway handles one sid once.
func newInboundSMS(authToken, publicURL, provider, accountSID, sid, from, body string) inboundSMS {
	params := map[string]string{
		"MessageSid":  sid,
		"SmsSid":      sid,
		"AccountSid":  accountSID,
		"From":        from,
		"To":          TwilioNumber,
		"Body":        body,
		"NumSegments": "1",
		"NumMedia":    "0",
		"ApiVersion":  "2010-04-01",
	}
	path := InboundPath(provider)
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	return inboundSMS{
		path: path,
		form: form,
		header: http.Header{
			"X-Twilio-Signature": {twilio.Sign(authToken, publicURL+path, params)},
			"User-Agent":         {"TwilioProxy/1.1"},
		},
	}
}

// newSID is a Twilio-style id: prefix and 32 hex digits.
func newSID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
