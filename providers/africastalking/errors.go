package africastalking

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sandesh/providers"
)

// statusUserInBlacklist is AT's per-recipient answer for a citizen who
// blocked the sender.
const statusUserInBlacklist = 406

// recipientClass is what one of AT's per-recipient status codes means here.
type recipientClass struct {
	name      string // AT's status text for the code
	accepted  bool
	temporary bool
}

// recipientCodes are AT's documented per-recipient status codes. See
// https://developers.africastalking.com/docs/sms/sending/bulk
var recipientCodes = map[int]recipientClass{
	100: {name: "Processed", accepted: true},
	101: {name: "Sent", accepted: true},
	102: {name: "Queued", accepted: true},
	// Our account or sender is the problem, or AT's: another provider may
	// deliver it.
	401: {name: "RiskHold", temporary: true},
	402: {name: "InvalidSenderId", temporary: true},
	405: {name: "InsufficientBalance", temporary: true},
	407: {name: "CouldNotRoute", temporary: true},
	500: {name: "InternalServerError", temporary: true},
	501: {name: "GatewayError", temporary: true},
	502: {name: "RejectedByGateway", temporary: true},
	// The recipient is the problem: no retry or provider changes that.
	403:                   {name: "InvalidPhoneNumber"},
	404:                   {name: "UnsupportedNumberType"},
	statusUserInBlacklist: {name: "UserInBlacklist"},
	409:                   {name: "DoNotDisturbRejection"},
}

// temporaryCauses are the temporary codes of recipientCodes, in order.
var temporaryCauses = []int{401, 402, 405, 407, 500, 501, 502}

// recipientError is nil when AT accepted the message for rc, else the
// failure's *providers.Error; Code is AT's statusCode ("403").
func (p *Provider) recipientError(rc recipient) *providers.Error {
	code := int(rc.StatusCode)
	cls, known := recipientCodes[code]
	what := fmt.Sprintf("recipient status %d %s", code, p.text(rc.Status, 64))
	switch {
	case cls.accepted:
		if !validID(rc.MessageID) || rc.MessageID == "None" {
			// AT took it, but we could not match its delivery reports:
			// retrying may send it twice, giving up may lose it.
			return providers.AmbiguousError(p.name, "no_message_id",
				fmt.Errorf("%s without a usable messageId %s", what, quote(p.text(rc.MessageID, 100))))
		}
		return nil
	case !known && code >= 100 && code <= 199:
		// An accepted-range code AT added since: it may have taken it.
		return providers.AmbiguousError(p.name, strconv.Itoa(code), errors.New(what+" (unknown)"))
	case !known:
		// An unknown failure: losing the message is worse than trying
		// it again, here later or elsewhere.
		return providers.TemporaryError(p.name, strconv.Itoa(code), errors.New(what+" (unknown)"))
	}
	return &providers.Error{Provider: p.name, Code: strconv.Itoa(code), Temporary: cls.temporary,
		OptedOut: code == statusUserInBlacklist, Err: errors.New(what)}
}

// noRecipient classifies an answer without a recipient entry: AT says why
// in Message (e.g. "InvalidPhoneNumber"). It is permanent ("no_recipient")
// unless Message names one of the temporary causes above, which is then
// temporary with that cause's code.
func (p *Provider) noRecipient(message string) *providers.Error {
	err := fmt.Errorf("no recipient in the answer: %s", quote(p.text(message, 200)))
	squashed := strings.ToLower(strings.Join(strings.Fields(message), ""))
	for _, code := range temporaryCauses {
		if strings.Contains(squashed, strings.ToLower(recipientCodes[code].name)) {
			return providers.TemporaryError(p.name, strconv.Itoa(code), err)
		}
	}
	return providers.PermanentError(p.name, "no_recipient", err)
}

// httpError classifies a non-2xx answer. All are temporary: 401 is our
// username or key (another provider works), 429 asks us to slow down, 5xx
// is AT's trouble, a 3xx or other 4xx is a wrong base_url or a proxy, and
// none of them says anything about the citizen's number or text.
func (p *Provider) httpError(resp *http.Response, body []byte) *providers.Error {
	status := resp.StatusCode
	e := providers.TemporaryError(p.name, "http_"+strconv.Itoa(status),
		fmt.Errorf("HTTP %d: %s", status, quote(p.text(string(body), 200))))
	if status == http.StatusTooManyRequests {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// transportError classifies a request that got no answer. Until the whole
// request was written AT cannot have acted on it: temporary, another
// provider may take it. After that (a timeout waiting for the answer, a
// reset connection) AT may have sent the SMS: ambiguous.
func (p *Provider) transportError(err error, wrote bool) *providers.Error {
	code := "network"
	switch {
	case errors.Is(err, context.Canceled):
		code = "canceled"
	case isTimeout(err):
		code = "timeout"
	}
	if wrote {
		return providers.AmbiguousError(p.name, code, err)
	}
	return providers.TemporaryError(p.name, code, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// defaultRetryAfter is the wait after a 429 that did not say how long.
const defaultRetryAfter = time.Second

// retryAfter reads a Retry-After header (delay-seconds, or an HTTP date),
// defaultRetryAfter when it is absent, malformed or not in the future.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if s, err := strconv.Atoi(v); err == nil {
		if s > 0 {
			return time.Duration(s) * time.Second
		}
		return defaultRetryAfter
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return defaultRetryAfter
}

// text is what AT answered, for an error message: printable, at most max
// runes, and without the API key should AT or a proxy echo it.
func (p *Provider) text(s string, max int) string {
	return clean(strings.ReplaceAll(s, p.apiKey, redacted), max)
}

const redacted = "[api key]"

// fail returns e from Send, after a last check that nothing in it shows
// the API key.
func (p *Provider) fail(e *providers.Error) (providers.Receipt, error) {
	if e.Err != nil && strings.Contains(e.Err.Error(), p.apiKey) {
		// Keep the classification, lose the wrapped chain.
		e.Err = errors.New(strings.ReplaceAll(e.Err.Error(), p.apiKey, redacted))
	}
	return providers.Receipt{}, e
}

// clean makes s safe for an error message: control characters and invalid
// UTF-8 become spaces or U+FFFD, at most max runes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

func quote(s string) string { return strconv.Quote(s) }
