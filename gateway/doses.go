package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sandesh/langs"
	"sandesh/store"
	"sandesh/templates"
	"sandesh/vaccines"
)

// Vaccination statuses, as verifiers and the confirmation SMS show them.
const (
	NotVaccinated       = "NOT_VACCINATED"
	PartiallyVaccinated = "PARTIALLY_VACCINATED"
	FullyVaccinated     = "FULLY_VACCINATED"
)

// courseLength is the full course of the vaccine a person started with.
func courseLength(doses []store.Dose) int {
	if len(doses) == 0 {
		return 0
	}
	return vaccines.Course(doses[0].Vaccine)
}

// VaccinationStatus derives a person's status from their doses.
func VaccinationStatus(doses []store.Dose) string {
	switch {
	case len(doses) == 0:
		return NotVaccinated
	case len(doses) >= courseLength(doses):
		return FullyVaccinated
	}
	return PartiallyVaccinated
}

func precaution(doses []store.Dose, number int) bool { return number > courseLength(doses) }

// VerifyCode checks a security code at a centre ("" for admin: any centre)
// without using the appointment up. Wrong codes count towards the lock.
func (g *Gateway) VerifyCode(ctx context.Context, centerID, apptID, code string) error {
	if !recordID.MatchString(apptID) {
		return ErrNotFound
	}
	code = langs.ASCIIDigits(code) // a vaccinator's keyboard may be set to her language
	if err := matches("code", code, codePattern, "4 digits"); err != nil {
		return err
	}
	err := g.store.VerifyCode(ctx, store.CodeCheck{
		AppointmentID: apptID, CenterID: centerID, Code: code, Today: g.today(),
	})
	return codeErr("verify code", err)
}

// codeErr keeps the code and schedule rules' answers as they are and
// wraps the rest.
func codeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var mismatch *store.CodeMismatchError
	var answered *store.AnsweredError
	var early *store.TooEarlyError
	if errors.As(err, &mismatch) || errors.As(err, &answered) || errors.As(err, &early) {
		return err
	}
	return storeErr(op, err)
}

// DoseInput is a dose a centre records. Without AppointmentID it is a walk-in.
type DoseInput struct {
	BeneficiaryID string `json:"beneficiary_id"`
	AppointmentID string `json:"appointment_id"`
	Code          string `json:"code"`
	Vaccine       string `json:"vaccine"`
	Batch         string `json:"batch"`
	CenterID      string `json:"center_id"`
}

// DoseResult is the answer to a recorded dose.
type DoseResult struct {
	Dose          int    `json:"dose"`
	CertificateID string `json:"certificate_id"`
	Status        string `json:"status"`
	BeneficiaryID string `json:"beneficiary_id"`
	AppointmentID string `json:"appointment_id,omitempty"`
	Vaccine       string `json:"vaccine"`
	Date          string `json:"date"`
	Precaution    bool   `json:"precaution"`
	MessageID     string `json:"message_id,omitempty"`
	// Replayed: the outcome of an earlier request with the same
	// Idempotency-Key, given again.
	Replayed bool `json:"-"`
}

// RecordDose records a dose given at centerID (a centre key's own centre;
// "" for admin, who names it in the input). A booked dose needs the
// appointment's code, checked with the same counters as VerifyCode, and
// completes the appointment. The confirmation SMS follows. With idem set,
// a repeat of the request gets the first outcome (Replayed set) and
// changes nothing.
func (g *Gateway) RecordDose(ctx context.Context, centerID string, in DoseInput, idem *store.IdempotencyKey) (DoseResult, error) {
	return g.recordDose(ctx, centerID, in, g.today(), idem)
}

// recordDose is RecordDose of a dose given on date: today, except for the
// demo's (and tests') history.
func (g *Gateway) recordDose(ctx context.Context, centerID string, in DoseInput, date string, idem *store.IdempotencyKey) (DoseResult, error) {
	if err := matches("beneficiary_id", in.BeneficiaryID, beneficiaryID, "14 digits"); err != nil {
		return DoseResult{}, err
	}
	vaccine := strings.ToUpper(strings.TrimSpace(in.Vaccine))
	if !vaccines.Known(vaccine) {
		return DoseResult{}, invalid("vaccine", "vaccine must be one of %s.", strings.Join(vaccines.Names(), ", "))
	}
	if err := matches("batch", in.Batch, batchPattern, "1 to 20 letters, digits or -"); err != nil {
		return DoseResult{}, err
	}
	if in.CenterID != "" {
		if err := matches("center_id", in.CenterID, centerIDPattern, "a centre id"); err != nil {
			return DoseResult{}, err
		}
		if centerID != "" && in.CenterID != centerID {
			return DoseResult{}, ErrForbidden
		}
	}
	nd := store.NewDose{BeneficiaryID: in.BeneficiaryID, Vaccine: vaccine, Batch: in.Batch, Date: date,
		Idempotency: idem}
	if in.AppointmentID != "" {
		if !recordID.MatchString(in.AppointmentID) {
			return DoseResult{}, invalid("appointment_id", "appointment_id is not an appointment id.")
		}
		in.Code = langs.ASCIIDigits(in.Code)
		if err := matches("code", in.Code, codePattern, "4 digits"); err != nil {
			return DoseResult{}, err
		}
		// The step checks the appointment's centre against the caller's
		// (or the one an admin named) and records the dose there.
		nd.Check = &store.CodeCheck{AppointmentID: in.AppointmentID, BeneficiaryID: in.BeneficiaryID,
			CenterID: cmp.Or(centerID, in.CenterID), Code: in.Code, Today: nd.Date}
	} else {
		if in.Code != "" {
			return DoseResult{}, invalid("code", "a walk-in has no code; give appointment_id with the code.")
		}
		// An admin recording a walk-in may leave the centre out.
		nd.CenterID = cmp.Or(centerID, in.CenterID)
		if nd.CenterID != "" {
			if err := g.store.CenterExists(ctx, nd.CenterID); err != nil {
				return DoseResult{}, storeErr("record dose: centre", err)
			}
		}
	}
	// The registration never changes, so this read is usually served by
	// the process's cache; the step itself is the one round trip.
	p, err := g.store.Profile(ctx, in.BeneficiaryID)
	if err != nil {
		return DoseResult{}, storeErr("record dose: beneficiary", err)
	}
	nd.Mobile = p.Mobile
	// The certificate id is in the confirmation and is the step's to pick:
	// a collision (13 random digits) retries the whole step.
	out, err := g.store.RecordDose(ctx, nd, func(cert string) (store.Confirmation, store.Confirmation, error) {
		return g.confirmations(p, vaccine, cert)
	})
	if err != nil {
		return DoseResult{Replayed: out.Replayed}, codeErr("record dose", err)
	}
	res := doseResult(out, in.BeneficiaryID)
	switch {
	case out.Owed:
		// A dose number the step could not write in (four digits) left the
		// confirmation owed under a reserved id. Pay it now, the message and
		// the debt cleared in one step — on a replay, if still owed: the
		// process that did the step may have died first.
		paid, err := g.payConfirmation(ctx, p, out, res.Status)
		if err != nil {
			g.log.Error("dose confirmation not queued; the sweeper sends it", "beneficiary", p.ID, "err", err)
		} else if !paid {
			g.dispatch.Queue(ctx, out.MessageID, store.PriorityTransactional)
		}
	case out.Replayed:
		// The process that did the step may have died before queuing the
		// confirmation. A message queued twice is sent once.
		g.dispatch.Queue(ctx, out.MessageID, store.PriorityTransactional)
	default:
		g.queued(ctx, out.MessageID, "dose_confirmation")
	}
	return res, nil
}

// payConfirmation records and queues the confirmation a dose left owed,
// under its reserved id, clearing the debt in the same step; paid is false
// when another paid it first. A replayed dose pays only if it can take the
// debt first, so that it and a sweeper never both do; and the reserved id
// makes a second payment change nothing anyway.
func (g *Gateway) payConfirmation(ctx context.Context, p store.Profile, out store.DoseOutcome, status string) (paid bool, err error) {
	debt := store.ConfirmationNotification(p.ID, out.CertificateID, out.MessageID)
	if out.Replayed {
		ok, err := g.store.ClaimNotification(ctx, debt, g.now().Add(time.Hour), sweepLease)
		if err != nil || !ok {
			return false, err
		}
	}
	o := g.confirmation(p.Beneficiary(), out.Dose, status)
	o.ID = out.MessageID
	if _, err := g.sendSettling(ctx, debt, o); err != nil {
		return false, err
	}
	return true, nil
}

func doseResult(out store.DoseOutcome, beneficiaryID string) DoseResult {
	status := PartiallyVaccinated
	if out.Number >= out.Course {
		status = FullyVaccinated
	}
	return DoseResult{
		Dose: out.Number, CertificateID: out.CertificateID, Status: status,
		BeneficiaryID: beneficiaryID, AppointmentID: out.AppointmentID, Vaccine: out.Vaccine, Date: out.Date,
		Precaution: out.Number > out.Course, MessageID: out.MessageID, Replayed: out.Replayed,
	}
}

// doseSlot stands for the dose number while a confirmation is rendered
// for the dose step, which writes the number in (store.Confirmation). A
// private-use character: nothing a person typed or a template holds.
const doseSlot = "\uE000"

// confirmations renders the confirmation of certificate cert, partial and
// completing the course, with the dose number left for the dose step.
func (g *Gateway) confirmations(p store.Profile, vaccine, cert string) (partial, full store.Confirmation, err error) {
	b := p.Beneficiary()
	for _, status := range []string{PartiallyVaccinated, FullyVaccinated} {
		o := g.confirmation(b, store.Dose{Vaccine: vaccine, CertificateID: cert}, status)
		o.Vars["dose"] = doseSlot
		nm, err := g.render(o)
		if err != nil {
			return partial, full, err
		}
		prefix, suffix, ok := strings.Cut(nm.Body, doseSlot)
		if !ok || strings.Contains(suffix, doseSlot) {
			return partial, full, fmt.Errorf("confirmation in %s: the dose number must appear once", nm.Language)
		}
		c := store.Confirmation{NewMessage: nm, Prefix: prefix, Suffix: suffix}
		c.Body, c.Masked = "", ""
		// A digit is one unit in either encoding and never changes it, so
		// when the longest dose number fits one SMS the shorter ones do too.
		longest := templates.CountText(prefix + strings.Repeat("0", len(c.ByDigits)) + suffix)
		for k := range c.ByDigits {
			n := longest
			if longest.Segments > 1 && k < len(c.ByDigits)-1 {
				n = templates.CountText(prefix + strings.Repeat("0", k+1) + suffix)
			}
			c.ByDigits[k].Encoding, c.ByDigits[k].Segments = n.Encoding, n.Segments
		}
		if status == FullyVaccinated {
			full = c
		} else {
			partial = c
		}
	}
	return partial, full, nil
}

// confirmation is the dose's SMS, the status in the beneficiary's words
// ("partially vaccinated", "आंशिक टीकाकरण"), not the API's enum.
func (g *Gateway) confirmation(b store.Beneficiary, d store.Dose, status string) Outgoing {
	return Outgoing{
		To: b.Mobile, Template: "dose_confirmation", Language: b.Language, Priority: store.PriorityTransactional,
		Vars: templates.Vars{"name": b.Name, "dose": strconv.Itoa(d.Number), "vaccine": d.Vaccine,
			"certificate_id": d.CertificateID, "status": g.templates.Word(g.language(b.Language), strings.ToLower(status))},
	}
}
