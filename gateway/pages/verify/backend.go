package verify

import (
	"context"
	"errors"
	"fmt"
)

// Session is a signed-in verifier.
type Session struct {
	ID       string // opaque, random; the cookie value
	Verifier string // display name of the verifier key
	CSRF     string // random token bound to the session
}

// Result is what a verifier learns.
type Result struct {
	Status       string // NOT_VACCINATED | PARTIALLY_VACCINATED | FULLY_VACCINATED
	Name         string
	BirthYear    int
	Gender       string
	Doses        int
	LastDoseDate string // YYYY-MM-DD or ""
	CardURL      string // the shareable status card (a path on this site), "" for none
	Vaccine      string
}

// ErrorKind is one of the errors the page shows to the verifier.
type ErrorKind string

// Error kinds the page shows to the verifier.
const (
	ErrUnauthorized  ErrorKind = "unauthorized"   // key unknown or not a verifier/admin key; session unknown or expired
	ErrInvalidInput  ErrorKind = "invalid_input"  // name empty or not a name
	ErrInvalidMobile ErrorKind = "invalid_mobile" // mobile not a valid number
	ErrRateLimited   ErrorKind = "rate_limited"   // too many requests of the verifier or for the mobile
	ErrOTPMismatch   ErrorKind = "otp_mismatch"   // AttemptsLeft says how many remain
	ErrOTPExpired    ErrorKind = "otp_expired"    // expired, used or burnt
	ErrUnavailable   ErrorKind = "unavailable"    // anything else: try again later
)

// Error is an error of a kind the page explains to the verifier.
type Error struct {
	Kind         ErrorKind
	AttemptsLeft int // for ErrOTPMismatch
}

func (e *Error) Error() string {
	if e.Kind == ErrOTPMismatch {
		return fmt.Sprintf("verify: %s (%d attempts left)", e.Kind, e.AttemptsLeft)
	}
	return "verify: " + string(e.Kind)
}

// Backend is what the page needs; the gateway implements it over its
// flows. Any error that is not *Error is shown as ErrUnavailable.
type Backend interface {
	// SignIn exchanges a verifier's API key for a session.
	SignIn(ctx context.Context, apiKey string) (Session, error)
	// Session returns the session of id; ErrUnauthorized when unknown or expired.
	Session(ctx context.Context, id string) (Session, error)
	// SignOut ends the session of id.
	SignOut(ctx context.Context, id string) error
	// RequestOTP starts a check of the person with name and mobile.
	RequestOTP(ctx context.Context, s Session, name, mobile string) (txnID string, err error)
	// Confirm finishes the check of txnID with the OTP the person gave.
	Confirm(ctx context.Context, s Session, txnID, otp string) (Result, error)
}

// kindOf is the kind of err the page shows: an *Error's own, else unavailable.
func kindOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	return &Error{Kind: ErrUnavailable}
}
