package gateway

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/store"
)

// apiErr is the JSON error body every 4xx/5xx carries.
type apiErr struct {
	Status  int            `json:"-"`
	Code    string         `json:"error"`
	Message string         `json:"message"`
	Extra   map[string]any `json:"-"`
	// RetryAfter, when set, becomes the Retry-After header (whole seconds).
	RetryAfter time.Duration `json:"-"`
}

func (e *apiErr) Error() string { return e.Code + ": " + e.Message }

func newAPIErr(status int, code, msg string) *apiErr {
	return &apiErr{Status: status, Code: code, Message: msg}
}

// domainErrors is the one mapping from flow errors to HTTP answers.
var domainErrors = []struct {
	err    error
	status int
	code   string
	msg    string
}{
	{ErrNotFound, http.StatusNotFound, "not_found", "No such record."},
	{ErrBadInput, http.StatusBadRequest, "bad_request", "The request is not valid."},
	{ErrForbidden, http.StatusForbidden, "forbidden", "This key may not do that."},
	{ErrNoDose, http.StatusConflict, "no_dose", "No dose is recorded for this beneficiary."},
	{store.ErrExists, http.StatusConflict, "exists", "A record with this id already exists."},
	{store.ErrMobileLimit, http.StatusConflict, "mobile_limit", "This mobile already has 4 beneficiaries, the most allowed."},
	{store.ErrAlreadyBooked, http.StatusConflict, "already_booked", "This beneficiary already has an active appointment."},
	{store.ErrWrongCenter, http.StatusForbidden, "forbidden", "The appointment is at another centre."},
	{store.ErrWrongPerson, http.StatusConflict, "wrong_beneficiary", "The appointment is for another beneficiary."},
	{store.ErrNotActive, http.StatusConflict, "not_active", "The appointment is cancelled or already used."},
	{store.ErrWrongDate, http.StatusConflict, "wrong_date", "The appointment is not for today."},
	{store.ErrDosedToday, http.StatusConflict, "already_dosed_today", "A dose is already recorded for this beneficiary today."},
	{store.ErrCodeLocked, http.StatusLocked, "code_locked", "Too many wrong codes; support can send a fresh code."},
	{store.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency_mismatch", "This Idempotency-Key was used with a different request."},
	{store.ErrIdempotencyRunning, http.StatusConflict, "in_progress", "A request with this Idempotency-Key is still running; retry shortly."},
	{store.ErrOTPExpired, http.StatusGone, "otp_expired", "The OTP has expired, was used, or too many wrong OTPs were tried; request a new one."},
	{store.ErrOTPOtherCaller, http.StatusForbidden, "forbidden", "This transaction belongs to another verifier key."},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "The store is unavailable; try again shortly."},
}

// apiError turns any error from a flow into the answer to send.
func apiError(err error) *apiErr {
	var ae *apiErr
	if errors.As(err, &ae) {
		return ae
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		e := newAPIErr(http.StatusBadRequest, inv.Code, inv.Message)
		e.Extra = map[string]any{"field": inv.Field}
		return e
	}
	var mismatch *store.CodeMismatchError
	if errors.As(err, &mismatch) {
		e := newAPIErr(http.StatusUnprocessableEntity, "code_mismatch", "The security code does not match.")
		e.Extra = map[string]any{"attempts_left": mismatch.AttemptsLeft}
		return e
	}
	var otpMismatch *store.OTPMismatchError
	if errors.As(err, &otpMismatch) {
		e := newAPIErr(http.StatusUnprocessableEntity, "otp_mismatch", "The OTP does not match.")
		e.Extra = map[string]any{"attempts_left": otpMismatch.AttemptsLeft}
		return e
	}
	var early *store.TooEarlyError
	if errors.As(err, &early) {
		e := newAPIErr(http.StatusConflict, "too_early", "The next dose opens on "+early.OpensOn+".")
		e.Extra = map[string]any{"opens_on": early.OpensOn}
		return e
	}
	var limited *RateLimitedError
	if errors.As(err, &limited) {
		e := newAPIErr(http.StatusTooManyRequests, "rate_limited", "Too many requests; try again later.")
		e.RetryAfter = limited.RetryAfter
		return e
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return newAPIErr(d.status, d.code, d.msg)
		}
	}
	return newAPIErr(http.StatusInternalServerError, "internal", "Something went wrong on our side.")
}

// writeError sends e as JSON.
func writeError(c *fiber.Ctx, e *apiErr) error {
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	return c.Status(e.Status).JSON(e.body())
}

// body is what the error's answer carries.
func (e *apiErr) body() fiber.Map {
	body := fiber.Map{"error": e.Code, "message": e.Message}
	for k, v := range e.Extra {
		body[k] = v
	}
	return body
}

// replay is the error's answer as an idempotent step keeps it: the same
// bytes fiber's JSON encoder (encoding/json) writes.
func (e *apiErr) replay() (store.Replay, error) {
	b, err := json.Marshal(e.body())
	return store.Replay{Status: e.Status, Body: b}, err
}

// fiberErrors maps the framework's own errors (routing, body limit) onto
// our JSON shape.
func fiberError(fe *fiber.Error) *apiErr {
	switch fe.Code {
	case http.StatusNotFound:
		return newAPIErr(fe.Code, "not_found", "No such route.")
	case http.StatusMethodNotAllowed:
		return newAPIErr(fe.Code, "method_not_allowed", "This route does not take that method.")
	case http.StatusRequestEntityTooLarge:
		return newAPIErr(fe.Code, "payload_too_large", "The request body is larger than 64 KiB.")
	case http.StatusRequestHeaderFieldsTooLarge:
		return newAPIErr(fe.Code, "headers_too_large", "The request headers or URL are too large.")
	case http.StatusBadRequest:
		return newAPIErr(fe.Code, "bad_request", "The request could not be read.")
	case http.StatusUnsupportedMediaType:
		return newAPIErr(fe.Code, "unsupported_media_type", "Send the body as the route expects.")
	}
	if fe.Code >= 500 {
		return newAPIErr(fe.Code, "internal", "Something went wrong on our side.")
	}
	return newAPIErr(fe.Code, "error", fe.Message)
}
