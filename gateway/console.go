package gateway

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"sandesh/gateway/keywords"
	"sandesh/gateway/pages/support"
	"sandesh/store"
)

// consoleIdle is how long the support console stays signed in without a
// request.
const consoleIdle = 8 * time.Hour

// ussdSessionTimeout is how long operators keep a USSD session open
// without an answer; a session not ended by us is over after it.
const ussdSessionTimeout = 3 * time.Minute

// MobileLookup is what support sees of one mobile: who is registered on
// it, what was sent and received, and the USSD sessions dialled from it.
type MobileLookup struct {
	Mobile   string
	People   []SupportPerson
	Messages []store.Message     // both ways, newest first
	USSD     []store.USSDSession // newest first
}

// SupportPerson is a beneficiary with their active appointment and the
// resends left of the hourly limit.
type SupportPerson struct {
	store.Beneficiary
	Appointment             *store.Appointment // booked and not past, or nil
	Center                  store.Center
	AppointmentResendsLeft  int
	ConfirmationResendsLeft int
}

// LookUpMobile finds everything support needs about a mobile typed in any
// usual format. The read is audited: a citizen's history is personal.
func (g *Gateway) LookUpMobile(ctx context.Context, who Caller, mobile string) (MobileLookup, error) {
	e164, err := NormalizeMobile(mobile, g.region)
	if err != nil {
		return MobileLookup{}, err
	}
	out := MobileLookup{Mobile: e164}
	people, err := g.store.BeneficiariesByMobile(ctx, e164)
	if err != nil {
		return MobileLookup{}, storeErr("look up mobile", err)
	}
	for _, b := range people {
		p := SupportPerson{Beneficiary: b}
		if p.Appointment, p.Center, err = g.activeAppointment(ctx, b); err != nil {
			return MobileLookup{}, err
		}
		if p.Appointment != nil {
			if p.AppointmentResendsLeft, err = g.store.ResendsLeft(ctx, "appt:"+p.Appointment.ID, resendsPerHour); err != nil {
				return MobileLookup{}, storeErr("look up mobile", err)
			}
		}
		if p.ConfirmationResendsLeft, err = g.store.ResendsLeft(ctx, "ben:"+b.ID, resendsPerHour); err != nil {
			return MobileLookup{}, storeErr("look up mobile", err)
		}
		out.People = append(out.People, p)
	}
	if out.Messages, err = g.store.MessagesByMobile(ctx, e164, 0); err != nil {
		return MobileLookup{}, storeErr("look up mobile", err)
	}
	if out.USSD, err = g.store.USSDSessions(ctx, e164, 0); err != nil {
		return MobileLookup{}, storeErr("look up mobile", err)
	}
	g.audit(ctx, who, auditNote{action: "search", target: MaskMobile(e164), mobile: e164,
		detail: plural(len(out.People), "beneficiary", "beneficiaries") + ", " + plural(len(out.Messages), "message", "messages")})
	return out, nil
}

// StaffKeys lists the keys of the roles that use the support console,
// revoked ones too (with RevokedAt): their trail stays readable.
func (g *Gateway) StaffKeys(ctx context.Context) ([]store.APIKey, error) {
	keys, err := g.store.AllAPIKeys(ctx)
	if err != nil {
		return nil, storeErr("staff keys", err)
	}
	return slices.DeleteFunc(keys, func(k store.APIKey) bool { return !staffRole(k.Role) }), nil
}

// AuditSearch reads the audit trail by staff key and mobile (as typed).
func (g *Gateway) AuditSearch(ctx context.Context, keyID, mobile string, limit int) ([]store.AuditEntry, error) {
	if limit < 1 || limit > 1000 {
		return nil, invalid("limit", "limit must be from 1 to 1000.")
	}
	if len(keyID) > 64 {
		return nil, invalid("key_id", "key_id is not a key id.")
	}
	q := store.AuditQuery{ActorID: keyID, Limit: limit}
	if mobile != "" {
		e164, err := NormalizeMobile(mobile, g.region)
		if err != nil {
			return nil, err
		}
		q.Mobile = e164
	}
	e, err := g.store.AuditSearch(ctx, q)
	if err != nil {
		return nil, storeErr("audit trail", err)
	}
	return e, nil
}

func staffRole(r store.Role) bool { return r == store.RoleSupport || r == store.RoleAdmin }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// consoleBackend gives the support console the flows, acting as the
// staff key that signed the session in.
type consoleBackend struct{ s *server }

func (b consoleBackend) SignIn(ctx context.Context, apiKey string) (support.Staff, error) {
	who, err := b.s.authenticateKey(ctx, apiKey)
	if err != nil {
		return support.Staff{}, consoleErr(err)
	}
	if !staffRole(who.Role) {
		return support.Staff{}, &support.Error{Kind: support.ErrUnauthorized}
	}
	ws, err := b.s.gw.store.CreateWebSession(ctx, store.WebSession{KeyID: who.KeyID, Name: who.Name, Role: who.Role}, consoleIdle)
	if err != nil {
		return support.Staff{}, consoleErr(storeErr("sign in", err))
	}
	b.s.gw.audit(ctx, who, auditNote{action: "sign_in", target: "support console"})
	return staff(ws), nil
}

func (b consoleBackend) Session(ctx context.Context, id string) (support.Staff, error) {
	_, st, err := b.session(ctx, id)
	return st, err
}

// session is the staff member behind a session id, as the flows know
// callers. A session of another page's role (a verifier's) is refused.
func (b consoleBackend) session(ctx context.Context, id string) (Caller, support.Staff, error) {
	ws, err := b.s.gw.store.WebSession(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Caller{}, support.Staff{}, consoleErr(storeErr("session", err))
	}
	if err != nil || !staffRole(ws.Role) {
		return Caller{}, support.Staff{}, &support.Error{Kind: support.ErrUnauthorized}
	}
	return Caller{KeyID: ws.KeyID, Name: ws.Name, Role: ws.Role}, staff(ws), nil
}

func staff(ws store.WebSession) support.Staff {
	return support.Staff{SessionID: ws.ID, Name: ws.Name, Admin: ws.Role == store.RoleAdmin, CSRF: ws.CSRF}
}

func (b consoleBackend) SignOut(ctx context.Context, id string) error {
	return consoleErr(b.s.gw.store.EndWebSession(ctx, id))
}

func (b consoleBackend) Search(ctx context.Context, s support.Staff, mobile string) (support.Lookup, error) {
	who, _, err := b.session(ctx, s.SessionID)
	if err != nil {
		return support.Lookup{}, err
	}
	l, err := b.s.gw.LookUpMobile(ctx, who, mobile)
	if err != nil {
		return support.Lookup{}, consoleErr(err)
	}
	out := support.Lookup{Mobile: l.Mobile}
	for _, p := range l.People {
		out.People = append(out.People, consolePerson(p))
	}
	for _, m := range l.Messages {
		out.History = append(out.History, consoleEntry(m))
	}
	now := b.s.gw.now()
	for _, u := range l.USSD {
		status := "open"
		if u.Ended || now.Sub(u.UpdatedAt) > ussdSessionTimeout {
			status = "ended"
		}
		out.History = append(out.History, support.Entry{Kind: support.KindUSSD, ID: u.ID, At: u.StartedAt,
			Body: u.Text, Status: status, ServiceCode: u.ServiceCode, Steps: u.Steps})
	}
	slices.SortStableFunc(out.History, func(a, b support.Entry) int { return b.At.Compare(a.At) })
	return out, nil
}

func consolePerson(p SupportPerson) support.Person {
	out := support.Person{
		BeneficiaryID: p.ID, MaskedID: maskRef(p.ID), Name: p.Name, Status: VaccinationStatus(p.Doses),
		Doses: len(p.Doses), ConfirmationResendsLeft: p.ConfirmationResendsLeft,
	}
	if n := len(p.Doses); n > 0 {
		out.LastVaccine, out.LastDoseDate = p.Doses[n-1].Vaccine, p.Doses[n-1].Date
		out.NextDue, out.RemindedDose, out.RemindedOn = p.NextDue, p.RemindedDose, p.RemindedOn
	}
	if a := p.Appointment; a != nil {
		out.Appointment = &support.Appointment{ID: a.ID, CenterID: a.CenterID, CenterName: cmp.Or(p.Center.Name, a.CenterID),
			Date: a.Date, Slot: a.Slot, Dose: a.Dose, Locked: a.Locked(), ResendsLeft: p.AppointmentResendsLeft}
	}
	return out
}

// consoleEntry is a stored message as the console lists it.
func consoleEntry(m store.Message) support.Entry {
	e := support.Entry{Kind: support.KindOutbound, ID: m.ID, At: m.CreatedAt, Template: m.Template, Language: m.Language,
		Body: m.Body, Status: string(m.Status), Provider: m.Provider, Segments: m.Segments, ErrorCode: m.ErrorCode}
	if m.Direction == "in" && m.Channel == "call" {
		e.Kind = support.KindCall
		return e
	}
	if m.Direction == "in" {
		e.Kind = support.KindInbound
		if k := keywords.Parse(m.Body).Keyword; k != keywords.Unknown && k != keywords.Empty {
			e.Keyword = strings.ToUpper(string(k))
		}
		return e
	}
	for st, at := range m.StatusTimes {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			e.Changes = append(e.Changes, support.Change{Status: string(st), At: t})
		}
	}
	slices.SortFunc(e.Changes, func(a, b support.Change) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(statusOrder(a.Status), statusOrder(b.Status)))
	})
	return e
}

func statusOrder(s string) int {
	return slices.Index([]store.Status{store.StatusQueued, store.StatusSending, store.StatusSent,
		store.StatusDelivered, store.StatusUndelivered, store.StatusFailed}, store.Status(s))
}

// maskRef shows the last four digits of a reference id, as the card does.
func maskRef(id string) string {
	if len(id) <= 4 {
		return strings.Repeat("*", len(id))
	}
	return strings.Repeat("*", len(id)-4) + id[len(id)-4:]
}

func (b consoleBackend) Act(ctx context.Context, s support.Staff, a support.Action) (string, error) {
	who, _, err := b.session(ctx, s.SessionID)
	if err != nil {
		return "", err
	}
	r := ResendRequest{What: a.What, AppointmentID: a.AppointmentID, BeneficiaryID: a.BeneficiaryID, Reason: a.Reason}
	if a.What == support.ActRegenerate {
		r.What, r.Regenerate = support.ActSecurityCode, true
	}
	if strings.TrimSpace(a.Reason) == "" {
		return "", &support.Error{Kind: support.ErrInvalidInput, Field: "reason"}
	}
	m, err := b.s.gw.Resend(ctx, who, r)
	if err != nil {
		return "", consoleErr(err)
	}
	return m.ID, nil
}

func (b consoleBackend) StaffKeys(ctx context.Context, s support.Staff) ([]support.StaffKey, error) {
	if _, _, err := b.admin(ctx, s); err != nil {
		return nil, err
	}
	keys, err := b.s.gw.StaffKeys(ctx)
	if err != nil {
		return nil, consoleErr(err)
	}
	out := make([]support.StaffKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, support.StaffKey{ID: k.ID, Name: k.Name, Role: string(k.Role), Revoked: !k.RevokedAt.IsZero()})
	}
	return out, nil
}

func (b consoleBackend) Audit(ctx context.Context, s support.Staff, f support.AuditFilter) ([]support.AuditEntry, error) {
	if _, _, err := b.admin(ctx, s); err != nil {
		return nil, err
	}
	entries, err := b.s.gw.AuditSearch(ctx, f.StaffKeyID, f.Mobile, f.Limit)
	if err != nil {
		return nil, consoleErr(err)
	}
	out := make([]support.AuditEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, support.AuditEntry{At: e.At, Staff: e.ActorName, StaffID: e.ActorID, Role: string(e.Role),
			Action: e.Action, Target: e.Target, Mobile: e.Mobile, Detail: e.Detail, Reason: e.Reason})
	}
	return out, nil
}

func (b consoleBackend) DeadLetters(ctx context.Context, s support.Staff) (support.DeadLetters, error) {
	if _, _, err := b.admin(ctx, s); err != nil {
		return support.DeadLetters{}, err
	}
	list, total, err := b.s.gw.DeadLetters(ctx, deadLettersShown)
	if err != nil {
		return support.DeadLetters{}, consoleErr(err)
	}
	out := support.DeadLetters{Total: total}
	for _, d := range list {
		l := support.DeadLetter{ID: d.ID, Kind: d.Kind, Template: d.Template, Ref: d.Ref, Reason: d.Reason, Tries: d.Tries, At: d.At}
		if d.To != "" {
			l.Mobile = MaskMobile(d.To)
		}
		out.Letters = append(out.Letters, l)
	}
	return out, nil
}

// deadLettersShown is how many of the newest dead letters the console lists.
const deadLettersShown = 200

func (b consoleBackend) RetryDeadLetter(ctx context.Context, s support.Staff, id string) (string, error) {
	who, _, err := b.admin(ctx, s)
	if err != nil {
		return "", err
	}
	msgID, err := b.s.gw.RetryDeadLetter(ctx, who, id)
	return msgID, consoleErr(err)
}

// admin is the session's caller when it is an administrator's.
func (b consoleBackend) admin(ctx context.Context, s support.Staff) (Caller, support.Staff, error) {
	who, st, err := b.session(ctx, s.SessionID)
	if err == nil && who.Role != store.RoleAdmin {
		err = &support.Error{Kind: support.ErrForbidden}
	}
	return who, st, err
}

// consoleErr translates the flows' errors into what the console shows.
func consoleErr(err error) error {
	if err == nil {
		return nil
	}
	var inv *InvalidError
	var limited *RateLimitedError
	switch {
	case errors.As(err, new(*support.Error)):
		return err
	case errors.As(err, &inv) && inv.Code == "invalid_mobile":
		return &support.Error{Kind: support.ErrInvalidMobile}
	case errors.As(err, &inv):
		return &support.Error{Kind: support.ErrInvalidInput, Field: inv.Field}
	case errors.As(err, &limited):
		return &support.Error{Kind: support.ErrRateLimited, RetryAfter: limited.RetryAfter}
	case errors.Is(err, store.ErrNotActive):
		return &support.Error{Kind: support.ErrNotActive}
	case errors.Is(err, ErrNoDose):
		return &support.Error{Kind: support.ErrNoDose}
	case errors.Is(err, ErrExpired):
		return &support.Error{Kind: support.ErrExpired}
	case errors.Is(err, ErrNotFound), errors.Is(err, store.ErrNotFound):
		return &support.Error{Kind: support.ErrNotFound}
	case isUnauthorized(err):
		return &support.Error{Kind: support.ErrUnauthorized}
	}
	return &support.Error{Kind: support.ErrUnavailable}
}
