package support

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Staff is a signed-in helpline agent (support key) or administrator
// (admin key).
type Staff struct {
	SessionID string // opaque, random; the cookie value
	Name      string // the key's name: shown, and written to the audit trail
	Admin     bool   // may read the audit page
	CSRF      string // random token bound to the session
}

// Lookup is what a search by mobile finds.
type Lookup struct {
	Mobile  string   // E.164, as normalised from what was typed
	People  []Person // the beneficiaries registered on the mobile
	History []Entry  // SMS both ways and USSD sessions, newest first
}

// Person is one beneficiary on the mobile.
type Person struct {
	BeneficiaryID string // the actions' target; only ever in hidden form fields
	MaskedID      string // shown instead of the id, e.g. "**********3210"
	Name          string
	Status        string // NOT_VACCINATED | PARTIALLY_VACCINATED | FULLY_VACCINATED
	Doses         int
	LastVaccine   string // "" without a dose
	LastDoseDate  string // YYYY-MM-DD, "" without a dose
	// NextDue is the day the next dose opens (YYYY-MM-DD), "" when none is
	// due; RemindedDose the dose the last due-dose reminder was for (0:
	// none), RemindedOn the date of its run.
	NextDue      string
	RemindedDose int
	RemindedOn   string
	Appointment  *Appointment
	// ConfirmationResendsLeft is how many of the hourly resends of the
	// dose confirmation are left; meaningful only with Doses > 0.
	ConfirmationResendsLeft int
}

// Appointment is a person's active (booked) appointment.
type Appointment struct {
	ID          string
	CenterID    string
	CenterName  string
	Date        string // YYYY-MM-DD
	Slot        string // "09:00-11:00"
	Dose        int
	Locked      bool // five wrong codes: only a new code unlocks it
	ResendsLeft int  // of the hourly resends of its code and slip
}

// Entry kinds.
const (
	KindOutbound = "sms_out" // an SMS we sent
	KindInbound  = "sms_in"  // an SMS the citizen sent
	KindUSSD     = "ussd"    // a USSD session the citizen dialled
	KindCall     = "call"    // a missed call, answered with the STATUS reply
)

// Entry is one item of a mobile's history.
type Entry struct {
	Kind     string
	ID       string
	At       time.Time // created (started, for USSD)
	Template string    // sms_out: appointment_slip, security_code, dose_confirmation, kyvs_otp, …
	Language string    // sms_out
	// Body is the text with codes and OTPs masked (****) as the API masks
	// it; sms_in: what the citizen sent; ussd: the answers typed, "1*2".
	Body string
	// Keyword is the command an inbound SMS was read as (STATUS, CODE, …),
	// "" when it was not understood.
	Keyword string
	// Status: queued | sending | sent | delivered | undelivered | failed
	// (sms_out), received (sms_in), open | ended (ussd).
	Status    string
	Changes   []Change // sms_out: each status reached, oldest first
	Provider  string
	Segments  int
	ErrorCode string // the provider's code (30003) or ours (expired, opted_out, http_503)
	// ServiceCode is the USSD code dialled, "*384*12#"; Steps the
	// answers given in the session.
	ServiceCode string
	Steps       int
}

// Change is a status and when the message reached it.
type Change struct {
	Status string
	At     time.Time
}

// What a support action sends.
const (
	ActSecurityCode = "security_code" // the same code again
	ActRegenerate   = "regenerate"    // a new code, which also lifts a lock
	ActSlip         = "slip"          // the appointment slip, with its code
	ActConfirmation = "confirmation"  // the confirmation of the last dose
)

// Action is a support action on a citizen's behalf.
type Action struct {
	What          string // one of the Act* constants
	AppointmentID string // for security_code, regenerate and slip
	BeneficiaryID string // for confirmation
	Reason        string // required free text, at most 500 characters
	Mobile        string // E.164 of the search the action was taken from
}

// AuditFilter narrows the audit page; empty fields match everything.
type AuditFilter struct {
	StaffKeyID string // a key id from StaffKeys
	Mobile     string // as typed; normalised by the backend
	Limit      int    // 1..500
}

// AuditEntry is one line of the audit trail.
type AuditEntry struct {
	At      time.Time
	Staff   string // the key's name
	StaffID string // the key's id
	Role    string
	Action  string // resend, read_messages, search, sign_in, …
	Target  string // appt:<id>, ben:<id>, or a masked mobile
	Mobile  string // masked, "+91******3210"; "" when the action had none
	Detail  string
	Reason  string
}

// StaffKey is a key of a role that may sign in to the console.
type StaffKey struct {
	ID, Name, Role string
	Revoked        bool // it no longer works; its trail is still there
}

// DeadLetter is an SMS the gateway gave up on: a message that failed for
// good, or an SMS owed for a change (a slip, a confirmation) that could
// not be built and queued.
type DeadLetter struct {
	ID       string // what RetryDeadLetter takes
	Kind     string // "message" or "debt"
	Template string // a message's; "" for a debt
	Ref      string // the message id, or what the debt owes ("slip:<appointment id>")
	Mobile   string // masked, "+91******3210"; "" for a debt
	Reason   string // the provider's or our error code; a debt's error
	Tries    int    // a debt's failed payments
	At       time.Time
}

// DeadLetters is the list: the newest, and how many wait in all.
type DeadLetters struct {
	Letters []DeadLetter
	Total   int64
}

// ErrorKind is one of the errors the page explains.
type ErrorKind string

// Error kinds.
const (
	ErrUnauthorized  ErrorKind = "unauthorized"   // key unknown, revoked or of another role; session unknown or expired
	ErrForbidden     ErrorKind = "forbidden"      // a support key on an admin-only page
	ErrInvalidInput  ErrorKind = "invalid_input"  // a field missing or malformed (Field names it)
	ErrInvalidMobile ErrorKind = "invalid_mobile" // not a mobile number
	ErrRateLimited   ErrorKind = "rate_limited"   // the hourly resends are spent; RetryAfter says when one frees up
	ErrNotActive     ErrorKind = "not_active"     // the appointment was cancelled or used
	ErrNoDose        ErrorKind = "no_dose"        // no dose to confirm
	ErrNotFound      ErrorKind = "not_found"      // no such appointment or beneficiary; a dead letter retried already
	ErrExpired       ErrorKind = "expired"        // a dead OTP past its minutes: sending it would help no one
	ErrUnavailable   ErrorKind = "unavailable"    // anything else: try again later
)

// Error is an error of a kind the page explains to the staff.
type Error struct {
	Kind       ErrorKind
	Field      string        // for ErrInvalidInput
	RetryAfter time.Duration // for ErrRateLimited
}

func (e *Error) Error() string {
	switch {
	case e.Kind == ErrRateLimited:
		return fmt.Sprintf("support: %s (retry after %s)", e.Kind, e.RetryAfter)
	case e.Field != "":
		return fmt.Sprintf("support: %s (%s)", e.Kind, e.Field)
	}
	return "support: " + string(e.Kind)
}

// kindOf is the *Error in err, else one of kind unavailable.
func kindOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	return &Error{Kind: ErrUnavailable}
}

// Backend is what the console needs; the gateway implements it over its
// flows and audits each call. Any error that is not *Error is shown as
// ErrUnavailable.
type Backend interface {
	// SignIn exchanges a support or admin API key for a session; any
	// other key is ErrUnauthorized.
	SignIn(ctx context.Context, apiKey string) (Staff, error)
	// Session returns the session of id and restarts its idle timeout;
	// ErrUnauthorized when unknown or expired.
	Session(ctx context.Context, id string) (Staff, error)
	// SignOut ends the session of id.
	SignOut(ctx context.Context, id string) error
	// Search finds the people and history of a mobile typed in any
	// format a person types; ErrInvalidMobile when it is not one.
	Search(ctx context.Context, s Staff, mobile string) (Lookup, error)
	// Act performs a support action and returns the id of the message it
	// queued.
	Act(ctx context.Context, s Staff, a Action) (messageID string, err error)
	// StaffKeys lists the keys of the roles that may sign in, revoked
	// ones too (admin only).
	StaffKeys(ctx context.Context, s Staff) ([]StaffKey, error)
	// Audit reads the audit trail, newest first (admin only: else ErrForbidden).
	Audit(ctx context.Context, s Staff, f AuditFilter) ([]AuditEntry, error)
	// DeadLetters lists the SMS given up on, newest first (admin only).
	DeadLetters(ctx context.Context, s Staff) (DeadLetters, error)
	// RetryDeadLetter tries one again once its cause is fixed (admin
	// only), audited; the id of the message queued, "" for a debt (owed
	// again, paid by the next sweep). ErrNotFound when it was retried
	// already; ErrExpired for an OTP past its minutes.
	RetryDeadLetter(ctx context.Context, s Staff, id string) (messageID string, err error)
}
