package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"sort"

	"github.com/twilio/twilio-go/client"
)

// ValidSignature reports whether signature is Twilio's X-Twilio-Signature
// for a POST of params to fullURL (scheme, host, path and query exactly as
// Twilio called it). The URL is accepted with or without its default port,
// as Twilio signs either way. Repeated form keys must be collapsed to one
// value beforehand; SMS webhooks do not repeat keys.
func ValidSignature(authToken, fullURL string, params map[string]string, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// Sign computes the X-Twilio-Signature Twilio sends for a POST of params to
// fullURL: base64(HMAC-SHA1(authToken, fullURL + key1 + value1 + key2 + …))
// with the keys in byte order. Test doubles use it to sign callbacks.
func Sign(authToken, fullURL string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		mac.Write([]byte(k))
		mac.Write([]byte(params[k]))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
