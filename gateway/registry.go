package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"sandesh/store"
	"sandesh/templates"
)

// maxPerMobile is the programme's limit of beneficiaries on one mobile.
const maxPerMobile = 4

// CenterInput is a centre to register.
type CenterInput struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	District string `json:"district"`
	State    string `json:"state"`
	Pincode  string `json:"pincode"`
}

// CreateCenter registers a vaccination centre.
func (g *Gateway) CreateCenter(ctx context.Context, in CenterInput) (store.Center, error) {
	return g.CreateCenterOnce(ctx, in, nil)
}

// CreateCenterOnce is CreateCenter with idem: the answers (201 with the
// centre, 409 exists) are kept in the same step and a repeat gets a
// *store.AnsweredError with the first.
func (g *Gateway) CreateCenterOnce(ctx context.Context, in CenterInput, idem *store.IdempotencyKey) (store.Center, error) {
	c := store.Center{ID: in.ID, Pincode: in.Pincode}
	err := matches("id", in.ID, centerIDPattern, "1 to 32 letters, digits, _ or -")
	if err == nil {
		c.Name, err = placeName("name", in.Name, 100)
	}
	if err == nil {
		c.District, err = placeName("district", in.District, 60)
	}
	if err == nil {
		c.State, err = placeName("state", in.State, 60)
	}
	if err == nil {
		err = matches("pincode", in.Pincode, pincodePattern, "6 digits, not starting with 0")
	}
	if err != nil {
		return store.Center{}, err
	}
	c, err = g.store.CreateCenterOnce(ctx, c, idem, keptAs(http.StatusCreated, store.ErrExists, func(c store.Center) any { return c }))
	if err != nil {
		return store.Center{}, codeErr("create centre", err)
	}
	return c, nil
}

// Center returns one centre.
func (g *Gateway) Center(ctx context.Context, id string) (store.Center, error) {
	if !centerIDPattern.MatchString(id) {
		return store.Center{}, ErrNotFound
	}
	c, err := g.store.Center(ctx, id)
	if err != nil {
		return c, storeErr("centre", err)
	}
	return c, nil
}

// Registration is a beneficiary to register.
type Registration struct {
	Name      string `json:"name"`
	Mobile    string `json:"mobile"`
	BirthYear int    `json:"birth_year"`
	Gender    string `json:"gender"`
	Language  string `json:"language"`
}

// BeneficiaryView is a beneficiary as the API shows them: status and doses,
// never a code.
type BeneficiaryView struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	Mobile              string     `json:"mobile"`
	BirthYear           int        `json:"birth_year"`
	Gender              string     `json:"gender"`
	Language            string     `json:"language"`
	Status              string     `json:"status"`
	Doses               int        `json:"doses"`
	Vaccine             string     `json:"vaccine,omitempty"`
	LastDoseDate        string     `json:"last_dose_date,omitempty"`
	ActiveAppointmentID string     `json:"active_appointment_id,omitempty"`
	Vaccinations        []DoseView `json:"vaccinations"`
	CreatedAt           time.Time  `json:"created_at"`
}

// DoseView is one recorded dose.
type DoseView struct {
	Dose          int    `json:"dose"`
	Vaccine       string `json:"vaccine"`
	Batch         string `json:"batch"`
	Date          string `json:"date"`
	CenterID      string `json:"center_id"`
	CertificateID string `json:"certificate_id"`
	Precaution    bool   `json:"precaution"`
}

// Register adds a beneficiary. It sends nothing: the booking system has
// already verified the mobile.
func (g *Gateway) Register(ctx context.Context, r Registration) (BeneficiaryView, error) {
	return g.RegisterOnce(ctx, r, nil)
}

// RegisterOnce is Register with idem: the answers (201 with the
// beneficiary, 409 mobile_limit) are kept in the same step and a repeat
// gets a *store.AnsweredError with the first.
func (g *Gateway) RegisterOnce(ctx context.Context, r Registration, idem *store.IdempotencyKey) (BeneficiaryView, error) {
	name, mobile, err := g.person(r.Name, r.Mobile)
	if err != nil {
		return BeneficiaryView{}, err
	}
	if thisYear := g.now().In(g.location).Year(); r.BirthYear < 1900 || r.BirthYear > thisYear {
		return BeneficiaryView{}, invalid("birth_year", "birth_year must be a year from 1900 to %d.", thisYear)
	}
	gender := strings.ToUpper(r.Gender)
	if gender != "M" && gender != "F" && gender != "O" {
		return BeneficiaryView{}, invalid("gender", "gender must be M, F or O.")
	}
	lang := r.Language
	if lang == "" {
		lang = g.languages[0]
	} else if g.language(lang) != lang {
		return BeneficiaryView{}, invalid("language", "language must be one of %s.", strings.Join(g.languages, ", "))
	}
	b, err := g.store.CreateBeneficiaryOnce(ctx, store.Beneficiary{
		Name: name, Mobile: mobile, BirthYear: r.BirthYear, Gender: gender, Language: lang,
	}, maxPerMobile, idem, keptAs(http.StatusCreated, store.ErrMobileLimit, func(b store.Beneficiary) any { return g.beneficiaryView(b) }))
	if err != nil {
		return BeneficiaryView{}, codeErr("register beneficiary", err)
	}
	return g.beneficiaryView(b), nil
}

// Beneficiary returns one beneficiary with status and doses.
func (g *Gateway) Beneficiary(ctx context.Context, id string) (BeneficiaryView, error) {
	b, err := g.store.Beneficiary(ctx, id)
	if err != nil {
		return BeneficiaryView{}, storeErr("beneficiary", err)
	}
	return g.beneficiaryView(b), nil
}

func (g *Gateway) beneficiaryView(b store.Beneficiary) BeneficiaryView {
	v := BeneficiaryView{
		ID: b.ID, Name: b.Name, Mobile: b.Mobile, BirthYear: b.BirthYear, Gender: b.Gender,
		Language: b.Language, Status: VaccinationStatus(b.Doses), Doses: len(b.Doses),
		Vaccinations: []DoseView{}, CreatedAt: b.CreatedAt,
	}
	if b.ActiveAppointment != "" && b.ActiveDate >= g.today() {
		v.ActiveAppointmentID = b.ActiveAppointment
	}
	for _, d := range b.Doses {
		v.Vaccinations = append(v.Vaccinations, DoseView{
			Dose: d.Number, Vaccine: d.Vaccine, Batch: d.Batch, Date: d.Date, CenterID: d.CenterID,
			CertificateID: d.CertificateID, Precaution: precaution(b.Doses, d.Number),
		})
	}
	if n := len(b.Doses); n > 0 {
		v.Vaccine, v.LastDoseDate = b.Doses[n-1].Vaccine, b.Doses[n-1].Date
	}
	return v
}

// Booking is an appointment to book.
type Booking struct {
	BeneficiaryID string `json:"beneficiary_id"`
	CenterID      string `json:"center_id"`
	Date          string `json:"date"`
	Slot          string `json:"slot"`
	Dose          int    `json:"dose"`
}

// AppointmentView is an appointment as the API shows it: never the code.
type AppointmentView struct {
	ID            string    `json:"id"`
	Status        string    `json:"status"`
	BeneficiaryID string    `json:"beneficiary_id"`
	CenterID      string    `json:"center_id"`
	Date          string    `json:"date"`
	Slot          string    `json:"slot"`
	Dose          int       `json:"dose"`
	AttemptsLeft  int       `json:"attempts_left"`
	Locked        bool      `json:"locked"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	MessageID     string    `json:"message_id,omitempty"`
}

func appointmentView(a store.Appointment) AppointmentView {
	return AppointmentView{
		ID: a.ID, Status: string(a.Status), BeneficiaryID: a.BeneficiaryID, CenterID: a.CenterID,
		Date: a.Date, Slot: a.Slot, Dose: a.Dose, AttemptsLeft: a.AttemptsLeft(), Locked: a.Locked(),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

// Book books an appointment, generates its security code and sends the
// appointment slip in the beneficiary's language. With idem, the answers
// are kept in the same step and a repeat gets a *store.AnsweredError with
// the first.
func (g *Gateway) Book(ctx context.Context, in Booking, idem *store.IdempotencyKey) (AppointmentView, error) {
	if err := matches("beneficiary_id", in.BeneficiaryID, beneficiaryID, "14 digits"); err != nil {
		return AppointmentView{}, err
	}
	if err := matches("center_id", in.CenterID, centerIDPattern, "a centre id"); err != nil {
		return AppointmentView{}, err
	}
	date, err := appointmentDate(in.Date, g.now().In(g.location))
	if err != nil {
		return AppointmentView{}, err
	}
	if err := validSlot(in.Slot); err != nil {
		return AppointmentView{}, err
	}
	if in.Dose < 1 || in.Dose > 10 {
		return AppointmentView{}, invalid("dose", "dose must be a whole number from 1 to 10.")
	}
	// Registrations and centres never change: both usually come from the
	// process's cache, and the booking with its slip is one step.
	p, err := g.store.Profile(ctx, in.BeneficiaryID)
	if err != nil {
		return AppointmentView{}, storeErr("book: beneficiary "+in.BeneficiaryID, err)
	}
	c, err := g.store.KnownCenter(ctx, in.CenterID)
	if err != nil {
		return AppointmentView{}, storeErr("book: centre "+in.CenterID, err)
	}
	code, err := newSecurityCode()
	if err != nil {
		return AppointmentView{}, fmt.Errorf("book: %w", err)
	}
	b := p.Beneficiary()
	a, msgID, err := g.store.Book(ctx, store.Appointment{
		BeneficiaryID: b.ID, CenterID: c.ID, Date: date, Slot: in.Slot, Dose: in.Dose,
	}, code, g.today(), func(a store.Appointment) (store.NewMessage, error) {
		return g.render(g.slip("appointment_slip", b, c, a, code))
	}, idem, keptAnswers(http.StatusCreated, store.ErrAlreadyBooked))
	if err != nil {
		return AppointmentView{}, codeErr("book", err)
	}
	g.queued(ctx, msgID, "appointment_slip")
	v := appointmentView(a)
	v.MessageID = msgID
	return v, nil
}

// slip is the appointment slip or security-code SMS for a.
func (g *Gateway) slip(template string, b store.Beneficiary, c store.Center, a store.Appointment, code string) Outgoing {
	return Outgoing{
		To: b.Mobile, Template: template, Language: b.Language, Priority: store.PriorityTransactional,
		Vars: templates.Vars{"center": c.Name, "date": smsDate(a.Date), "slot": a.Slot, "code": code},
	}
}

// smsDate writes a date as DD/MM: short, the same in every language, and
// never a four-digit run that could be mistaken for the code.
func smsDate(iso string) string {
	d, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return d.Format("02/01")
}

// newSecurityCode is 4 digits from crypto/rand, without a leading zero
// (feature-phone users and some vaccinator apps drop it).
func newSecurityCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9000))
	if err != nil {
		return "", fmt.Errorf("security code: %w", err)
	}
	return fmt.Sprintf("%04d", n.Int64()+1000), nil
}

// Appointment returns one appointment.
func (g *Gateway) Appointment(ctx context.Context, id string) (AppointmentView, error) {
	a, err := g.store.Appointment(ctx, id)
	if err != nil {
		return AppointmentView{}, storeErr("appointment", err)
	}
	return appointmentView(a), nil
}

// Cancel cancels a booked appointment and tells the citizen, in one step.
// With idem, the answers are kept in the same step and a repeat gets a
// *store.AnsweredError with the first.
func (g *Gateway) Cancel(ctx context.Context, id string, idem *store.IdempotencyKey) (AppointmentView, error) {
	a, msgID, err := g.store.Cancel(ctx, id, func(a store.Appointment) (store.NewMessage, error) {
		p, err := g.store.Profile(ctx, a.BeneficiaryID)
		if err != nil {
			return store.NewMessage{}, err
		}
		c, err := g.store.KnownCenter(ctx, a.CenterID)
		if err != nil {
			return store.NewMessage{}, err
		}
		return g.render(g.cancellation(p.Beneficiary(), c, a))
	}, idem, keptAnswers(http.StatusOK, store.ErrNotActive))
	if err != nil {
		return AppointmentView{}, codeErr("cancel", err)
	}
	g.queued(ctx, msgID, "cancellation")
	v := appointmentView(a)
	v.MessageID = msgID
	return v, nil
}

// keptAnswers renders what a booking or a cancel keeps for its key: the
// appointment with its SMS's id as answered with status, and the answer to
// refusal (see keptAs).
func keptAnswers(status int, refusal error) store.Answers {
	kept := keptAs(status, refusal, func(v AppointmentView) any { return v })
	return func(a store.Appointment, messageID string) (store.Replay, store.Replay, error) {
		v := appointmentView(a)
		v.MessageID = messageID
		return kept(v)
	}
}

func (g *Gateway) cancellation(b store.Beneficiary, c store.Center, a store.Appointment) Outgoing {
	return Outgoing{
		To: b.Mobile, Template: "cancellation", Language: b.Language, Priority: store.PriorityTransactional,
		Vars: templates.Vars{"center": c.Name, "date": smsDate(a.Date)},
	}
}

// today is the programme's date now.
func (g *Gateway) today() string { return g.daysAgo(0) }

// daysAgo is the programme's date n days before today.
func (g *Gateway) daysAgo(n int) string {
	return g.now().In(g.location).AddDate(0, 0, -n).Format(time.DateOnly)
}
