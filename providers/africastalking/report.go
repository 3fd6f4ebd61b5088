package africastalking

import (
	"errors"
	"net/url"
	"strings"

	"sandesh/providers"
)

// Report is a delivery report as the gateway applies it.
type Report struct {
	ProviderMessageID string
	Status            providers.DeliveryStatus
	ErrorCode         string // "at_" + lower-case failureReason for failures ("at_absentsubscriber" when the status itself is the reason), "" otherwise
	OptedOut          bool   // failureReason UserInBlacklist
}

// reportStatuses maps AT's delivery-report statuses (lower-cased) to ours.
// See https://developers.africastalking.com/docs/sms/notifications
var reportStatuses = map[string]providers.DeliveryStatus{
	// Handed on towards the handset, not there yet.
	"sent":      providers.DeliverySent,
	"submitted": providers.DeliverySent,
	"buffered":  providers.DeliverySent,
	// The handset has it.
	"success": providers.DeliveryDelivered,
	// The network could not deliver it.
	"failed":           providers.DeliveryUndelivered,
	"absentsubscriber": providers.DeliveryUndelivered,
	"expired":          providers.DeliveryUndelivered,
	// AT or the network refused it.
	"rejected": providers.DeliveryFailed,
}

// maxReportID bounds a report's id, as validID checks it.
const maxReportID = 100

// ParseReport reads AT's delivery-report form; an error (a clear message)
// when id or status is missing or malformed (id: 1..100 printable ASCII
// characters). A well-formed status it does not know is DeliveryIgnore.
func ParseReport(form url.Values) (Report, error) {
	id := form.Get("id")
	switch {
	case id == "":
		return Report{}, errors.New("delivery report without an id")
	case len(id) > maxReportID:
		return Report{}, errors.New("delivery report id longer than 100 characters")
	case !validID(id):
		return Report{}, errors.New("delivery report id with characters other than printable ASCII")
	}
	status := form.Get("status")
	switch {
	case status == "":
		return Report{}, errors.New("delivery report without a status")
	case len(status) > 64 || !letters(status):
		return Report{}, errors.New("delivery report status is not a word of at most 64 letters")
	}
	key := strings.ToLower(status)
	r := Report{ProviderMessageID: id, Status: reportStatuses[key]}
	if r.Status != providers.DeliveryUndelivered && r.Status != providers.DeliveryFailed {
		return r, nil
	}
	reason := form.Get("failureReason")
	switch {
	case reason != "" && len(reason) <= 64 && word(reason):
		r.ErrorCode = "at_" + strings.ToLower(reason)
		r.OptedOut = strings.EqualFold(reason, "UserInBlacklist")
	case reason != "":
		// Not one of AT's names: do not store what it says.
		r.ErrorCode = "at_unknown"
	default:
		// No reason given: the status says why (AbsentSubscriber,
		// Expired) or is the best there is (Failed, Rejected).
		r.ErrorCode = "at_" + key
	}
	return r, nil
}

// validID reports whether id is 1..100 printable ASCII characters, the
// form of AT's message ids (e.g. "ATXid_3f2a…").
func validID(id string) bool {
	if id == "" || len(id) > maxReportID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func letters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower-case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// word reports whether s is ASCII letters, digits and '_' only, safe to
// store as an error code.
func word(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
