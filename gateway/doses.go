package gateway

import (
	"cmp"
	"context"
	"strconv"
	"strings"

	"sandesh/store"
	"sandesh/templates"
)

// Vaccination statuses, as verifiers and the confirmation SMS show them.
const (
	NotVaccinated       = "NOT_VACCINATED"
	PartiallyVaccinated = "PARTIALLY_VACCINATED"
	FullyVaccinated     = "FULLY_VACCINATED"
)

// fullCourse is how many doses of each vaccine make a person fully
// vaccinated; doses after that are precaution doses.
var fullCourse = map[string]int{
	"COVISHIELD": 2, "COVAXIN": 2, "SPUTNIK_V": 2, "CORBEVAX": 2, "ZYCOV_D": 3, "SPUTNIK_LIGHT": 1,
}

// courseLength is the full course of the vaccine a person started with.
func courseLength(doses []store.Dose) int {
	if len(doses) == 0 {
		return 0
	}
	return fullCourse[doses[0].Vaccine]
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
	if err := matches("code", code, codePattern, "4 digits"); err != nil {
		return err
	}
	err := g.store.VerifyCode(ctx, store.CodeCheck{
		AppointmentID: apptID, CenterID: centerID, Code: code, Today: g.today(),
	})
	return codeErr("verify code", err)
}

// codeErr keeps the code rules' answers as they are and wraps the rest.
func codeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*store.CodeMismatchError); ok {
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
}

// RecordDose records a dose given at centerID (a centre key's own centre;
// "" for admin, who names it in the input). A booked dose needs the
// appointment's code, checked with the same counters as VerifyCode, and
// completes the appointment. The confirmation SMS follows.
func (g *Gateway) RecordDose(ctx context.Context, centerID string, in DoseInput) (DoseResult, error) {
	if err := matches("beneficiary_id", in.BeneficiaryID, beneficiaryID, "14 digits"); err != nil {
		return DoseResult{}, err
	}
	vaccine := strings.ToUpper(strings.TrimSpace(in.Vaccine))
	if _, ok := fullCourse[vaccine]; !ok {
		return DoseResult{}, invalid("vaccine", "vaccine must be one of COVISHIELD, COVAXIN, SPUTNIK_V, CORBEVAX, ZYCOV_D, SPUTNIK_LIGHT.")
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
	nd := store.NewDose{BeneficiaryID: in.BeneficiaryID, Vaccine: vaccine, Batch: in.Batch, Date: g.today()}
	if in.AppointmentID != "" {
		if !recordID.MatchString(in.AppointmentID) {
			return DoseResult{}, invalid("appointment_id", "appointment_id is not an appointment id.")
		}
		if err := matches("code", in.Code, codePattern, "4 digits"); err != nil {
			return DoseResult{}, err
		}
		a, err := g.store.Appointment(ctx, in.AppointmentID)
		if err != nil {
			return DoseResult{}, storeErr("record dose: appointment", err)
		}
		if in.CenterID != "" && in.CenterID != a.CenterID {
			return DoseResult{}, ErrForbidden
		}
		nd.CenterID = a.CenterID
		nd.Check = &store.CodeCheck{AppointmentID: a.ID, BeneficiaryID: in.BeneficiaryID,
			CenterID: centerID, Code: in.Code, Today: nd.Date}
	} else {
		if in.Code != "" {
			return DoseResult{}, invalid("code", "a walk-in has no code; give appointment_id with the code.")
		}
		// An admin recording a walk-in may leave the centre out.
		nd.CenterID = cmp.Or(centerID, in.CenterID)
	}
	if nd.CenterID != "" {
		if _, err := g.store.Center(ctx, nd.CenterID); err != nil {
			return DoseResult{}, storeErr("record dose: centre", err)
		}
	}
	d, err := g.store.RecordDose(ctx, nd)
	if err != nil {
		return DoseResult{}, codeErr("record dose", err)
	}
	b, err := g.store.Beneficiary(ctx, in.BeneficiaryID)
	if err != nil {
		return DoseResult{}, storeErr("record dose: beneficiary", err)
	}
	res := DoseResult{
		Dose: d.Number, CertificateID: d.CertificateID, Status: VaccinationStatus(b.Doses[:d.Number]),
		BeneficiaryID: b.ID, AppointmentID: d.AppointmentID, Vaccine: d.Vaccine, Date: d.Date,
		Precaution: precaution(b.Doses, d.Number),
	}
	m, err := g.Send(ctx, g.confirmation(b, d, res.Status))
	if err != nil {
		// The dose stands and its confirmation stays owed: the sweeper sends it.
		g.log.Error("dose confirmation not queued", "beneficiary", b.ID, "center", nd.CenterID, "err", err)
		return res, nil
	}
	g.settle(ctx, store.ConfirmationNotification(b.ID, d.CertificateID))
	res.MessageID = m.ID
	return res, nil
}

func (g *Gateway) confirmation(b store.Beneficiary, d store.Dose, status string) Outgoing {
	return Outgoing{
		To: b.Mobile, Template: "dose_confirmation", Language: b.Language, Priority: store.PriorityTransactional,
		Vars: templates.Vars{"name": b.Name, "dose": strconv.Itoa(d.Number), "vaccine": d.Vaccine,
			"certificate_id": d.CertificateID, "status": status},
	}
}
