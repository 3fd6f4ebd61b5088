package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"sandesh/store"
)

// Caller is who is acting, as their API key says.
type Caller struct {
	KeyID    string
	Name     string
	Role     store.Role
	CenterID string
}

// resendsPerHour bounds resends per appointment (or beneficiary).
const resendsPerHour = 3

// RateLimitedError asks the caller to come back after RetryAfter.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s", e.RetryAfter)
}

// ResendRequest is a support agent's resend.
type ResendRequest struct {
	AppointmentID string `json:"appointment_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	What          string `json:"what"`
	Regenerate    bool   `json:"regenerate"`
	// Reason is why support resends, for the audit trail; the console
	// requires it.
	Reason string `json:"reason"`
}

// maxReason bounds a reason in the audit trail.
const maxReason = 500

// Resend sends again what a citizen lost: the security code or slip of a
// booked appointment (the same code, or a new one that also lifts a lock),
// or the confirmation of the last dose.
func (g *Gateway) Resend(ctx context.Context, who Caller, r ResendRequest) (store.Message, error) {
	return g.ResendOnce(ctx, who, r, nil)
}

// ResendOnce is Resend with idem. The resend is one step after one read
// of what it sends (see store.Resend): the limit spent, a new code, the
// message recorded and, with idem, the answers (202 with the message id;
// 409 not_active or no_dose) kept, so a repeat gets a
// *store.AnsweredError with the first and sends nothing.
func (g *Gateway) ResendOnce(ctx context.Context, who Caller, r ResendRequest, idem *store.IdempotencyKey) (store.Message, error) {
	var subject, detail string
	switch r.What {
	case "security_code", "slip":
		if r.BeneficiaryID != "" {
			return store.Message{}, invalid("beneficiary_id", "give appointment_id, not beneficiary_id, to resend a %s.", r.What)
		}
		if !recordID.MatchString(r.AppointmentID) {
			return store.Message{}, invalid("appointment_id", "appointment_id is required and must be an appointment id.")
		}
		subject, detail = "appt:"+r.AppointmentID, r.What
	case "confirmation":
		if r.AppointmentID != "" || r.Regenerate {
			return store.Message{}, invalid("what", "a confirmation is resent by beneficiary_id alone.")
		}
		if !beneficiaryID.MatchString(r.BeneficiaryID) {
			return store.Message{}, invalid("beneficiary_id", "beneficiary_id is required and must be 14 digits.")
		}
		subject, detail = "ben:"+r.BeneficiaryID, r.What
	default:
		return store.Message{}, invalid("what", "what must be security_code, slip or confirmation.")
	}
	if r.Regenerate {
		detail += " (new code)"
	}
	reason, err := reasonText(r.Reason)
	if err != nil {
		return store.Message{}, err
	}
	of := store.ResendOf{AppointmentID: r.AppointmentID, BeneficiaryID: r.BeneficiaryID, Subject: subject,
		PerHour: resendsPerHour, Idempotency: idem}
	refusal := store.ErrNotActive
	if r.What == "confirmation" {
		refusal = ErrNoDose
	}
	if r.Regenerate {
		if of.NewCode, err = newSecurityCode(); err != nil {
			return store.Message{}, fmt.Errorf("resend: %w", err)
		}
	}
	var mobile string
	res, err := g.store.Resend(ctx, of, func(src store.ResendSource) (store.NewMessage, error) {
		o, err := g.resent(ctx, r.What, src)
		mobile = o.To
		if err != nil {
			return store.NewMessage{}, err
		}
		return g.render(o)
	}, keptAs(http.StatusAccepted, refusal, func(id string) any { return map[string]string{"message_id": id} }))
	switch {
	case errors.Is(err, ErrNoDose):
		return store.Message{}, fmt.Errorf("resend: %w", err)
	case err != nil:
		return store.Message{}, codeErr("resend", err)
	case res.RetryAfter > 0:
		return store.Message{}, &RateLimitedError{RetryAfter: res.RetryAfter}
	}
	m := res.Message
	g.queued(ctx, m.ID, m.Template)
	g.audit(ctx, who, auditNote{action: "resend", target: subject, detail: detail + " → message " + m.ID, reason: reason, mobile: mobile})
	return m, nil
}

// resent is the SMS a resend of what sends, rendered from src: the
// confirmation of the last dose, or the appointment's code or slip (the
// beneficiary and the centre usually from the process's memory: neither
// changes).
func (g *Gateway) resent(ctx context.Context, what string, src store.ResendSource) (Outgoing, error) {
	if what == "confirmation" {
		b := src.Beneficiary
		return g.confirmation(b, b.Doses[len(b.Doses)-1], VaccinationStatus(b.Doses)), nil
	}
	a := src.Appointment
	p, err := g.store.Profile(ctx, a.BeneficiaryID)
	if err != nil {
		return Outgoing{}, err
	}
	c, err := g.store.KnownCenter(ctx, a.CenterID)
	if err != nil {
		return Outgoing{}, err
	}
	template := "security_code"
	if what == "slip" {
		template = "appointment_slip"
	}
	return g.slip(template, p.Beneficiary(), c, a, src.Code), nil
}

// SupportMessages is a citizen's message history for support, newest first.
func (g *Gateway) SupportMessages(ctx context.Context, who Caller, mobile string) ([]store.Message, error) {
	e164, err := NormalizeMobile(mobile, g.region)
	if err != nil {
		return nil, err
	}
	msgs, err := g.store.MessagesByMobile(ctx, e164, 0)
	if err != nil {
		return nil, storeErr("support messages", err)
	}
	g.audit(ctx, who, auditNote{action: "read_messages", target: MaskMobile(e164), detail: fmt.Sprintf("%d messages", len(msgs)), mobile: e164})
	return msgs, nil
}

// SupportMessage is one message record for support.
func (g *Gateway) SupportMessage(ctx context.Context, who Caller, id string) (store.Message, error) {
	m, err := g.Message(ctx, id)
	if err != nil {
		return m, err
	}
	citizen := m.To
	if m.Direction == "in" {
		citizen = m.From
	}
	g.audit(ctx, who, auditNote{action: "read_message", target: id, mobile: citizen})
	return m, nil
}

// auditNote is what an audit entry says beyond who wrote it.
type auditNote struct {
	action, target, detail, reason string
	mobile                         string // E.164 of the citizen concerned, "" for none
}

// audit records a support action. A lost audit entry must not undo what
// the citizen already received, so failures are logged loudly, not returned.
func (g *Gateway) audit(ctx context.Context, who Caller, n auditNote) {
	e := store.AuditEntry{
		ActorID: who.KeyID, ActorName: who.Name, Role: who.Role, Action: n.action, Target: n.target,
		Detail: n.detail, Reason: n.reason, MobileE164: n.mobile,
	}
	if n.mobile != "" {
		e.Mobile = MaskMobile(n.mobile)
	}
	if err := g.store.Audit(context.WithoutCancel(ctx), e); err != nil {
		g.log.Error("audit entry lost", "actor", who.KeyID, "action", n.action, "target", n.target, "err", err)
	}
}

// reasonText is a resend's reason, trimmed; at most maxReason characters
// of text a person writes (no control characters but newlines).
func reasonText(raw string) (string, error) {
	r := strings.TrimSpace(raw)
	if utf8.RuneCountInString(r) > maxReason || !utf8.ValidString(r) ||
		strings.ContainsFunc(r, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\r' && c != '\t' }) {
		return "", invalid("reason", "reason must be text of at most %d characters.", maxReason)
	}
	return r, nil
}

// KeyRequest asks for a new API key.
type KeyRequest struct {
	Role     string `json:"role"`
	Name     string `json:"name"`
	CenterID string `json:"center_id"`
}

// CreateKey issues an API key; the clear key is returned once.
func (g *Gateway) CreateKey(ctx context.Context, r KeyRequest) (store.APIKey, string, error) {
	role := store.Role(r.Role)
	if !role.Valid() {
		return store.APIKey{}, "", invalid("role", "role must be admin, registry, center, verifier or support.")
	}
	name, err := labelName("name", r.Name, 100)
	if err != nil {
		return store.APIKey{}, "", err
	}
	if (role == store.RoleCenter) != (r.CenterID != "") {
		return store.APIKey{}, "", invalid("center_id", "center_id is required for, and only for, the center role.")
	}
	if role == store.RoleCenter {
		if err := matches("center_id", r.CenterID, centerIDPattern, "a centre id"); err != nil {
			return store.APIKey{}, "", err
		}
		// A key for a centre that does not exist (a typo) would record
		// doses nobody can place: register the centre first.
		if err := g.store.CenterExists(ctx, r.CenterID); err != nil {
			return store.APIKey{}, "", storeErr("create key: centre "+r.CenterID, err)
		}
	}
	k, clear, err := g.store.CreateAPIKey(ctx, store.APIKey{Role: role, Name: name, CenterID: r.CenterID})
	if err != nil {
		return store.APIKey{}, "", storeErr("create key", err)
	}
	if g.keys != nil {
		// Other processes learn of the key from the version poll; this
		// one must take it at once, even if it was presented before.
		g.keys.Forget()
	}
	return k, clear, nil
}

// Keys lists every key issued, revoked ones too, oldest first.
func (g *Gateway) Keys(ctx context.Context) ([]store.APIKey, error) {
	keys, err := g.store.AllAPIKeys(ctx)
	if err != nil {
		return nil, storeErr("list keys", err)
	}
	return keys, nil
}

// RevokeKey ends key id: 401 on every route and page in every process
// within a second (each process's key cache polls the version the
// revocation bumps; this one forgets at once), and its web sessions end
// on their next request. Revoking twice is no error; an id that was
// never issued is ErrNotFound.
func (g *Gateway) RevokeKey(ctx context.Context, who Caller, id string) error {
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("revoke key: %w", ErrNotFound)
	}
	if err := g.store.RevokeAPIKey(ctx, id); err != nil {
		return storeErr("revoke key", err)
	}
	if g.keys != nil {
		g.keys.Forget()
	}
	g.audit(ctx, who, auditNote{action: "key_revoked", target: id})
	return nil
}

// keyIDPattern is the shape of the ids CreateAPIKey gives.
var keyIDPattern = regexp.MustCompile(`^key_[0-9a-f]{12}$`)

// Authenticate finds the caller behind a presented API key: in memory
// when the gateway has a key cache, else in Redis.
func (g *Gateway) Authenticate(ctx context.Context, key string) (Caller, error) {
	lookup := g.store.APIKeyBySecret
	if g.keys != nil {
		lookup = g.keys.APIKeyBySecret
	}
	k, err := lookup(ctx, key)
	if err != nil {
		return Caller{}, storeErr("authenticate", err)
	}
	return Caller{KeyID: k.ID, Name: k.Name, Role: k.Role, CenterID: k.CenterID}, nil
}
