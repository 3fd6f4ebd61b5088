// Package providers sends SMS through external providers and decides, for
// every failure, whether it may succeed later or elsewhere.
package providers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Outbound is one message ready to leave: its body was rendered and counted
// when it was queued, so a provider only transmits it.
type Outbound struct {
	MessageID     string // our id; providers echo it in status callbacks
	To            string // E.164
	Body          string
	Encoding      string // "GSM-7" or "UCS-2"
	Segments      int
	DLTTemplateID string
	// Prefer names the provider to try first when it is healthy (a reply
	// goes back through the provider the citizen's message came in on).
	Prefer string
}

// Receipt is what a provider answered when it accepted a message.
type Receipt struct {
	Provider          string // the configured provider name that accepted it
	ProviderMessageID string // e.g. Twilio's SM… sid
}

// Provider transmits messages. Implementations are values built from their
// config; nothing registers itself.
type Provider interface {
	Name() string
	Send(ctx context.Context, m Outbound) (Receipt, error)
}

// Error is a provider failure with its retry meaning attached. Code is the
// provider's own error code where it gave one ("21211"), else a short
// description of the transport failure ("http_500", "timeout").
type Error struct {
	Provider  string
	Code      string
	Temporary bool
	// RetryAfter is set when the provider or our own rate cap said when to
	// come back; zero means "use the normal backoff".
	RetryAfter time.Duration
	// Ambiguous marks a temporary error after which the provider may have
	// taken the message (a timeout, an unreadable 2xx). It is retried later
	// but never failed over at once: that would send the SMS twice.
	Ambiguous bool
	// OptedOut marks a recipient who told the provider STOP: the gateway
	// records the opt-out so that non-essential messages stop too.
	OptedOut bool
	Err      error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s error %s: %v", e.Provider, kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s: %s error %s", e.Provider, kind, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// TemporaryError builds an error that may succeed on retry or on another provider.
func TemporaryError(provider, code string, err error) *Error {
	return &Error{Provider: provider, Code: code, Temporary: true, Err: err}
}

// AmbiguousError builds a temporary error whose outcome is unknown.
func AmbiguousError(provider, code string, err error) *Error {
	return &Error{Provider: provider, Code: code, Temporary: true, Ambiguous: true, Err: err}
}

// Ambiguous reports whether the provider may have taken the message despite err.
func Ambiguous(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Ambiguous
}

// PermanentError builds an error that fails the message at once.
func PermanentError(provider, code string, err error) *Error {
	return &Error{Provider: provider, Code: code, Temporary: false, Err: err}
}

// Temporary reports whether err may succeed on retry or on another provider.
// Permanent errors (invalid number, opted-out recipient) fail the message at
// once. Errors that carry no class (a bug, a cancelled context) count as
// temporary: losing a message is worse than trying it again.
func Temporary(err error) bool {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Temporary
	}
	return err != nil
}

// OptedOut reports whether err says the recipient opted out at the provider.
func OptedOut(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.OptedOut
}

// Code returns the provider error code carried by err, or "".
func Code(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// RetryAfter returns the wait the provider or a rate cap asked for, or 0.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// DeliveryStatus is a provider's delivery report translated into our terms.
type DeliveryStatus string

// The delivery statuses a provider report can move a message to. Ignore
// means the report says nothing new (e.g. Twilio's "queued" after we already
// recorded the hand-over).
const (
	DeliveryIgnore      DeliveryStatus = ""
	DeliverySent        DeliveryStatus = "sent"
	DeliveryDelivered   DeliveryStatus = "delivered"
	DeliveryUndelivered DeliveryStatus = "undelivered"
	DeliveryFailed      DeliveryStatus = "failed"
)
