package twilio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/twilio/twilio-go/client"

	"sandesh/providers"
)

// codeUnsubscribed is Twilio's answer for a recipient who texted STOP.
const codeUnsubscribed = 21610

// permanentCodes fail the message at once: the message or its recipient is
// wrong, and no retry or other provider will change that.
var permanentCodes = map[int]string{
	21211:            "invalid 'To' number",
	21602:            "message body required",
	codeUnsubscribed: "recipient unsubscribed (STOP)",
	21612:            "'To' number not reachable via SMS",
	21614:            "'To' number is not a mobile number",
	21617:            "message body too long",
}

// temporaryCodes may succeed later or on another provider: the account or
// Twilio itself is the problem, not the message.
var temporaryCodes = map[int]string{
	20003: "authentication failed",
	20005: "account not active",
	20429: "too many requests",
	20500: "Twilio internal error",
	20503: "Twilio unavailable",
	// Our account or sender cannot reach this destination: another
	// provider (another account, another sender) may.
	21408: "region not enabled for SMS on this account",
	21606: "'From' number cannot send to this destination",
	21611: "'From' number has too many queued messages",
}

// temporary decides the retry meaning of an HTTP error response carrying
// Twilio error code (0 when the body had none).
func temporary(code, status int) bool {
	if _, ok := permanentCodes[code]; ok {
		return false
	}
	if _, ok := temporaryCodes[code]; ok {
		return true
	}
	switch {
	case status == http.StatusTooManyRequests, status >= 500:
		return true
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		// The account (or the account SID in the URL) is broken: every
		// message would fail the same way here, another provider may work.
		return true
	case status >= 400 && code != 0:
		// Any other rejection Twilio explains with a code is about the
		// message: retrying sends the same request again.
		return false
	default:
		// A 4xx without a Twilio body came from something in between (a
		// proxy, a wrong base_url): not evidence that the message is bad.
		return true
	}
}

// classify turns what twilio-go returned into a *providers.Error. rt holds
// the status and Retry-After of the response, which twilio-go does not
// surface: on an HTTP status >= 400 it returns *client.TwilioRestError
// decoded from the body (or a wrapped decode error for a non-JSON body), on
// a transport failure the *url.Error of http.Client.Do.
func (p *Provider) classify(err error, rt *call) *providers.Error {
	var re *client.TwilioRestError
	if errors.As(err, &re) {
		status := re.Status
		if status == 0 {
			status = rt.status
		}
		code := "http_" + strconv.Itoa(status)
		if re.Code != 0 {
			code = strconv.Itoa(re.Code)
		}
		e := &providers.Error{Provider: p.name, Code: code, Temporary: temporary(re.Code, status),
			OptedOut: re.Code == codeUnsubscribed, Err: err}
		if status == http.StatusTooManyRequests || re.Code == 20429 {
			e.RetryAfter = parseRetryAfter(rt.retryAfter, time.Now())
		}
		return e
	}
	if rt.status >= 400 {
		// An error status whose body was not Twilio's JSON.
		e := &providers.Error{Provider: p.name, Code: "http_" + strconv.Itoa(rt.status), Temporary: temporary(0, rt.status), Err: err}
		if rt.status == http.StatusTooManyRequests {
			e.RetryAfter = parseRetryAfter(rt.retryAfter, time.Now())
		}
		return e
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		// Twilio may have taken the message before the time ran out.
		return providers.AmbiguousError(p.name, "timeout", err)
	case errors.Is(err, context.Canceled):
		// The caller gave up (shutdown); whether Twilio got the message is
		// unknown, so it stays retryable.
		return providers.TemporaryError(p.name, "canceled", err)
	case rt.status >= 200 && rt.status < 300:
		// Accepted, but the body did not decode.
		return providers.AmbiguousError(p.name, "bad_response", err)
	default:
		return providers.TemporaryError(p.name, "network", err)
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
