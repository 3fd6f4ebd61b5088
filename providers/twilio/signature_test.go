package twilio_test

import (
	"testing"

	"sandesh/providers/twilio"
)

const docURL = "https://mycompany.com/myapp.php?foo=1&bar=2"

func docParams(caller string) map[string]string {
	return map[string]string{
		"CallSid": "CA1234567890ABCDE",
		"Caller":  caller,
		"Digits":  "1234",
		"From":    caller,
		"To":      "+18005551212",
	}
}

func TestSignature(t *testing.T) {
	prefixKeys := map[string]string{"To": "+15005550006", "ToCity": "PUNE", "Body": "hi"}
	prefixLetters := map[string]string{"To": "Zed", "ToCity": "Alpha"}
	for _, tc := range []struct {
		name      string
		token     string
		signedURL string // URL the signature was made for ("" = checkURL)
		checkURL  string
		params    map[string]string
		check     map[string]string // params checked ("" = params)
		sig       string            // expected signature ("" = Sign's)
		wantValid bool
	}{
		// Published vectors, recomputed with
		// printf '%s' "$URL"CallSid…To+18005551212 | openssl dgst -sha1 -hmac 12345 -binary | base64
		{name: "Twilio docs (security guide)", token: "12345", checkURL: docURL,
			params: docParams("+14158675310"), sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: true},
		{name: "twilio-go's own test vector", token: "12345", checkURL: docURL,
			params: docParams("+14158675309"), sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", wantValid: true},
		{name: "Twilio ruby docs sample", token: "12345", checkURL: docURL,
			params: docParams("+12349013030"), sig: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", wantValid: true},
		// Sorting is by key, not by key+value: with To=Zed a sort of the
		// concatenated strings would put "ToCityAlpha" before "ToZed".
		{name: "keys prefixing each other", token: "abc123", checkURL: "https://sms.example.org/webhooks/twilio/p/sms",
			params: prefixLetters, sig: "", wantValid: true},
		{name: "keys prefixing each other, 3 keys", token: "abc123", checkURL: "https://sms.example.org/webhooks/twilio/p/sms",
			params: prefixKeys, wantValid: true},
		{name: "wrong token", token: "12345", checkURL: docURL,
			params: docParams("+14158675310"), sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: false},
		{name: "tampered param", token: "12345", checkURL: docURL,
			params: docParams("+14158675310"), check: map[string]string{"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310",
				"Digits": "9999", "From": "+14158675310", "To": "+18005551212"}, sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: false},
		{name: "extra param", token: "12345", checkURL: docURL,
			params: docParams("+14158675310"), check: map[string]string{"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310",
				"Digits": "1234", "From": "+14158675310", "To": "+18005551212", "Body": "x"}, sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: false},
		{name: "tampered URL", token: "12345", checkURL: docURL + "&x=1",
			params: docParams("+14158675310"), sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: false},
		{name: "http vs https", token: "12345", checkURL: "http://mycompany.com/myapp.php?foo=1&bar=2",
			params: docParams("+14158675310"), sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: false},
		{name: "signed without port, checked with :443", token: "12345", signedURL: docURL, checkURL: "https://mycompany.com:443/myapp.php?foo=1&bar=2",
			params: docParams("+14158675310"), sig: "GvWf1cFY/Q7PnoempGyD5oXAezc=", wantValid: true},
		{name: "signed with :443, checked without", token: "t0k3n", signedURL: "https://sms.example.org:443/webhooks/twilio/p/status?m=1",
			checkURL: "https://sms.example.org/webhooks/twilio/p/status?m=1", params: prefixKeys, wantValid: true},
		{name: "signed with :80, checked without", token: "t0k3n", signedURL: "http://sms.example.org:80/webhooks/twilio/p/status?m=1",
			checkURL: "http://sms.example.org/webhooks/twilio/p/status?m=1", params: prefixKeys, wantValid: true},
		{name: "non-default port is part of the URL", token: "t0k3n", signedURL: "https://sms.example.org:8443/webhooks/twilio/p/status?m=1",
			checkURL: "https://sms.example.org/webhooks/twilio/p/status?m=1", params: prefixKeys, wantValid: false},
		{name: "no params", token: "t0k3n", checkURL: "https://sms.example.org/x", params: map[string]string{}, wantValid: true},
		{name: "empty signature", token: "t0k3n", checkURL: "https://sms.example.org/x", params: map[string]string{}, sig: "-", wantValid: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signedURL := tc.signedURL
			if signedURL == "" {
				signedURL = tc.checkURL
			}
			sig := tc.sig
			switch sig {
			case "":
				sig = twilio.Sign(tc.token, signedURL, tc.params)
			case "-":
				sig = ""
			default:
				// A published vector: Sign must reproduce it exactly.
				if tc.wantValid {
					if got := twilio.Sign(tc.token, signedURL, tc.params); got != sig {
						t.Errorf("Sign = %q, want %q", got, sig)
					}
				}
			}
			check := tc.check
			if check == nil {
				check = tc.params
			}
			token := tc.token
			if tc.name == "wrong token" {
				token = "54321"
			}
			if got := twilio.ValidSignature(token, tc.checkURL, check, sig); got != tc.wantValid {
				t.Errorf("ValidSignature = %v, want %v", got, tc.wantValid)
			}
		})
	}
}

// The naive scheme (sort "key+value" strings) gives a different signature
// for the prefix case, so the row above really tests the order.
func TestSignatureSortsByKey(t *testing.T) {
	params := map[string]string{"To": "Zed", "ToCity": "Alpha"}
	byKey := twilio.Sign("abc123", "https://x.example/", params)
	naive := twilio.Sign("abc123", "https://x.example/ToCityAlphaToZed", nil)
	want := twilio.Sign("abc123", "https://x.example/ToZedToCityAlpha", nil)
	if byKey != want || byKey == naive {
		t.Errorf("Sign sorted wrongly: got %s, key order %s, naive %s", byKey, want, naive)
	}
}
