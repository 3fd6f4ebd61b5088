package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"

	"sandesh/langs"
	"sandesh/store"
	"sandesh/templates"
)

// KYVS rules of API.md.
const (
	otpValidFor       = 180 * time.Second
	otpsPerMobileHour = 5
	// kyvsFloor is the least time an OTP request takes, so that a pair
	// that matches nobody (no SMS to queue) answers as slowly as one
	// that does.
	kyvsFloor = 40 * time.Millisecond
)

// OTPRequest is a verifier's request for a citizen's consent.
type OTPRequest struct {
	Name   string `json:"name"`
	Mobile string `json:"mobile"`
}

// OTPStarted is the same for every request, matched or not.
type OTPStarted struct {
	TxnID     string `json:"txn_id"`
	ExpiresIn int    `json:"expires_in"`
}

// RequestOTP starts a Know-Your-Vaccination-Status check: when name and
// mobile match a beneficiary, an OTP goes to that mobile with the
// verifier's name in it. The answer never says whether they matched.
func (g *Gateway) RequestOTP(ctx context.Context, who Caller, r OTPRequest) (OTPStarted, error) {
	start := time.Now()
	name, mobile, err := g.person(r.Name, r.Mobile)
	if err != nil {
		return OTPStarted{}, err
	}
	// Two steps: the verifier's limit spent with the mobile's beneficiaries
	// read; then, the name matched in process (registrations are in its
	// memory), the transaction with the OTP SMS and the mobile's budget.
	asked, err := g.store.AskAbout(ctx, "kyvs-verifier:"+who.KeyID, g.verifierPerHour, time.Hour, mobile)
	if err != nil {
		return OTPStarted{}, storeErr("kyvs otp", err)
	}
	if !asked.Allowed {
		return OTPStarted{}, &RateLimitedError{RetryAfter: asked.RetryAfter}
	}
	var match *store.Profile
	var people []store.Beneficiary // up to the match: the first's language is the fallback
	for _, id := range asked.BeneficiaryIDs {
		p, err := g.store.Profile(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return OTPStarted{}, storeErr("kyvs otp", err)
		}
		people = append(people, p.Beneficiary())
		if sameName(p.Name, name) {
			match = &p
			break
		}
	}
	otp, err := randomOTP()
	if err != nil {
		return OTPStarted{}, err
	}
	benID := ""
	var sms *store.NewMessage
	if match != nil {
		benID = match.ID
		nm, err := g.render(Outgoing{
			To: mobile, Template: "kyvs_otp", Language: g.mobileLanguage(asked.Prefs, people),
			Vars: templates.Vars{"verifier": who.Name, "otp": otp}, Priority: store.PriorityOTP, ValidFor: otpValidFor,
		})
		if err != nil {
			return OTPStarted{}, err
		}
		sms = &nm
	}
	txn, msgID, err := g.store.StartOTP(ctx, who.KeyID, benID, otp, otpValidFor, store.OTPBudget{Max: otpsPerMobileHour, Window: time.Hour}, sms)
	if err != nil {
		return OTPStarted{}, storeErr("kyvs otp", err)
	}
	if msgID != "" {
		g.dispatch.Queue(ctx, msgID, store.PriorityOTP) // and counted nowhere: see jobs.Metrics.Status
	}
	if rest := kyvsFloor - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	return OTPStarted{TxnID: txn, ExpiresIn: int(otpValidFor.Seconds())}, nil
}

// limit spends one event of a shared sliding-window limit.
func (g *Gateway) limit(ctx context.Context, name string, n int, window time.Duration) error {
	ok, wait, err := g.store.Allow(ctx, name, n, window)
	if err != nil {
		return storeErr("limit", err)
	}
	if !ok {
		return &RateLimitedError{RetryAfter: wait}
	}
	return nil
}

// sameName compares names as people type them: case, spacing and dots
// do not matter.
func sameName(a, b string) bool {
	norm := func(s string) string {
		return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return unicode.IsSpace(r) || r == '.'
		}), " ")
	}
	return norm(a) == norm(b)
}

func randomOTP() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("otp: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// VerifiedStatus is all a verifier learns: API.md lists it, nothing more.
type VerifiedStatus struct {
	Status       string `json:"status"`
	Name         string `json:"name"`
	BirthYear    int    `json:"birth_year"`
	Gender       string `json:"gender"`
	Doses        int    `json:"doses"`
	LastDoseDate string `json:"last_dose_date,omitempty"`
	Vaccine      string `json:"vaccine,omitempty"`

	beneficiaryID string // for the status card the /verify page links; never in JSON
}

// ConfirmOTP finishes a check with the OTP the citizen handed over. The
// verification is audited and the citizen is told who checked.
func (g *Gateway) ConfirmOTP(ctx context.Context, who Caller, txn, otp string) (VerifiedStatus, error) {
	otp = langs.ASCIIDigits(otp) // as the citizen read it out, in her script's digits perhaps
	if len(otp) != 6 || strings.Trim(otp, "0123456789") != "" {
		return VerifiedStatus{}, invalid("otp", "otp must be the 6 digits the citizen received.")
	}
	if len(txn) == 0 || len(txn) > 64 {
		return VerifiedStatus{}, invalid("txn_id", "txn_id is required.")
	}
	// The OTP's rules, the beneficiary and their mobile's choices: one step.
	got, err := g.store.ConfirmOTP(ctx, txn, who.KeyID, otp)
	if err != nil {
		if _, ok := err.(*store.OTPMismatchError); ok {
			return VerifiedStatus{}, err
		}
		return VerifiedStatus{}, storeErr("kyvs confirm", err)
	}
	b := got.Beneficiary
	v := VerifiedStatus{Status: VaccinationStatus(b.Doses), Name: b.Name, BirthYear: b.BirthYear,
		Gender: b.Gender, Doses: len(b.Doses), beneficiaryID: b.ID}
	if n := len(b.Doses); n > 0 {
		v.LastDoseDate, v.Vaccine = b.Doses[n-1].Date, b.Doses[n-1].Vaccine
	}
	g.audit(ctx, who, auditNote{action: "kyvs_verified", target: b.ID, detail: v.Status, mobile: b.Mobile})
	_, err = g.Send(ctx, Outgoing{To: b.Mobile, Template: "kyvs_checked", Language: g.mobileLanguage(got.Prefs, []store.Beneficiary{b}),
		Vars: templates.Vars{"verifier": who.Name}, Priority: store.PriorityBulk})
	if err != nil {
		// The verifier has the answer; the courtesy SMS is not worth failing it.
		g.log.Error("kyvs checked SMS not queued", "beneficiary", b.ID, "err", err)
	}
	return v, nil
}
