package gateway

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sandesh/gateway/keywords"
	"sandesh/store"
	"sandesh/templates"
)

// Loop protection: a bot answering our replies gets at most this many
// answers, then silence (its messages are still stored).
const (
	repliesPerWindow = 5
	replyWindow      = 10 * time.Minute
)

// maxInboundRunes is the longest SMS a provider delivers (10 segments).
const maxInboundRunes = 1600

// InboundSMS is a message a citizen sent, as a provider delivered it.
type InboundSMS struct {
	Provider   string
	MessageSID string
	From       string
	To         string
	Body       string
}

// replyLimit is the loop protection above, as the store applies it.
var replyLimit = store.ReplyLimit{Max: repliesPerWindow, Window: replyWindow}

// Inbound stores a citizen's SMS and answers its keyword through the
// outbound queue. A provider message id seen before is answered once only.
// A sender that is not a mobile (a short code, an alphanumeric sender:
// another bot) is stored and not answered. The message, the keyword's
// effect (STOP, START, LANG) and the reply spent under the loop limit are
// one step; so is the answer when it depends only on the language
// (HELP, STOP, LANG…: built before the step, see preparedReply). An answer
// about beneficiaries, or in a language the step had to find out, is left
// owed and recorded, its debt cleared, in a second step. If that fails,
// or the process dies between them, the sweeper answers later, so the
// provider's retry (deduplicated) loses nothing.
func (g *Gateway) Inbound(ctx context.Context, in InboundSMS) error {
	if in.MessageSID == "" || len(in.MessageSID) > 64 || in.From == "" {
		return invalid("MessageSid", "MessageSid and From are required.")
	}
	body := in.Body
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	if r := []rune(body); len(r) > maxInboundRunes {
		body = string(r[:maxInboundRunes])
	}
	mobile, err := g.normalizeMobile(in.From)
	sender := mobile
	if err != nil {
		sender = sanitizeSender(in.From)
	}
	cmd := keywords.Parse(body)
	eff := g.effect(cmd)
	c := templates.CountText(body)
	msg := store.Inbound{
		Provider: in.Provider, ProviderMessageID: in.MessageSID, From: sender, To: sanitizeSender(in.To),
		Body: maskDigits(body), Encoding: c.Encoding, Segments: c.Segments, OwesReply: mobile != "",
	}
	if mobile != "" {
		msg.Reply = g.preparedReply(ctx, mobile, in.Provider, cmd, eff)
	}
	return g.receive(ctx, msg, mobile, cmd, eff, replyLimit)
}

// receive stores msg and answers cmd under limit (see Inbound): the
// answer built before the step is queued, an answer left owed is built
// and recorded now.
func (g *Gateway) receive(ctx context.Context, msg store.Inbound, mobile string, cmd keywords.Command, eff store.Effect, limit store.ReplyLimit) error {
	got, err := g.store.Receive(ctx, msg, eff, limit)
	if err != nil {
		return storeErr("inbound", err)
	}
	switch {
	case got.Duplicate:
		g.log.Info("inbound message seen before", "provider", msg.Provider, "message_id", got.Message.ID)
	case mobile == "":
		g.log.Info("no reply to a sender that is not a mobile", "message_id", got.Message.ID)
	case got.Replies != nil:
		for _, m := range got.Replies {
			g.dispatch.Queue(ctx, m.ID, m.Priority)
			g.metrics.Status(m.Template, string(store.StatusQueued), "")
		}
	case got.Owed:
		if err := g.answer(ctx, mobile, msg.Provider, cmd, got, store.ReplyNotification(got.Message.ID)); err != nil {
			// Stored and owed: the sweeper answers it.
			g.log.Error("inbound message not answered yet", "message_id", got.Message.ID, "err", err)
		}
	case limit.Calls:
		g.log.Info("missed call within the call window of the last answer: not answered", "mobile", MaskMobile(mobile))
	default:
		if w := g.limitLogs.note(mobile, g.now()); w.first {
			g.log.Warn("reply limit reached: not answering; this mobile's next refusals in the reply window are not logged",
				"mobile", MaskMobile(mobile), "keyword", cmd.Keyword, "not_logged_before", max(w.prev-1, 0))
		}
	}
	return nil
}

// preparedReply builds, before the inbound step, the answer to a keyword
// that depends on nothing that step reads but the language: in the
// language the keyword itself chose, else in the default one, which is
// right for a mobile that chose none and registered no one (IfNoChoice).
// The step records it only when it is right; otherwise it is built again
// from what the step read. nil for the keywords that answer about
// beneficiaries.
func (g *Gateway) preparedReply(ctx context.Context, mobile, provider string, cmd keywords.Command, eff store.Effect) *store.PreparedReply {
	if eff.People {
		return nil
	}
	p := &store.PreparedReply{Language: eff.Language}
	if p.Language == "" {
		p.Language, p.IfNoChoice = g.languages[0], true
	}
	replies, err := g.replies(ctx, p.Language, cmd, store.Received{})
	if err != nil {
		return nil
	}
	for _, o := range addressed(replies, mobile, p.Language, provider) {
		nm, err := g.render(o)
		if err != nil {
			return nil // built again after the step, which reports it
		}
		p.Messages = append(p.Messages, nm)
	}
	return p
}

// addressed sends replies to mobile in lang, through the provider the
// citizen wrote to, on the transactional lane unless they say otherwise.
func addressed(replies []Outgoing, mobile, lang, provider string) []Outgoing {
	for i := range replies {
		r := &replies[i]
		r.To, r.Language, r.Prefer = mobile, lang, provider
		if r.Priority == "" {
			r.Priority = store.PriorityTransactional
		}
	}
	return replies
}

// answerOwed answers a stored inbound message whose answer was left owed,
// clearing debt in the same step as the answer is recorded.
func (g *Gateway) answerOwed(ctx context.Context, inboundID, debt string) (bool, error) {
	m, err := g.store.Message(ctx, inboundID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if m.Direction != "in" {
		return false, nil
	}
	cmd := keywords.Parse(m.Body)
	if m.Channel == "call" {
		cmd = callCommand
	}
	got, err := g.store.PrepareAnswer(ctx, m.From, g.effect(cmd))
	if err != nil {
		return false, storeErr("answer", err)
	}
	if err := g.answer(ctx, m.From, m.Provider, cmd, got, debt); err != nil {
		return false, err
	}
	return true, nil
}

// effect is what cmd changes for the sending mobile: a keyword in Hindi or
// Marathi chooses that language, LANG the one asked for, STOP and START
// the opt-out. Past the reply limit they still take effect.
func (g *Gateway) effect(cmd keywords.Command) store.Effect {
	var e store.Effect
	if cmd.Lang != "" && g.language(cmd.Lang) == cmd.Lang {
		e.Language = cmd.Lang
	}
	switch cmd.Keyword {
	case keywords.Stop, keywords.Start:
		out := cmd.Keyword == keywords.Stop
		e.OptOut = &out
	case keywords.Lang:
		if cmd.Arg != "" && g.language(cmd.Arg) == cmd.Arg {
			e.Language = cmd.Arg
		}
	case keywords.Status, keywords.Slip, keywords.Code, keywords.Cert, keywords.Card:
		e.People = true // answered about each beneficiary: read in the same step
	}
	return e
}

// answer builds the replies to cmd from what the inbound step read and
// records them in one step that also clears settle, then queues them.
// Past the reply limit nothing is built, so CODE spends no resend.
func (g *Gateway) answer(ctx context.Context, mobile, provider string, cmd keywords.Command, got store.Received, settle string) error {
	if !got.Allowed {
		g.log.Warn("reply limit reached: not answering", "mobile", MaskMobile(mobile), "keyword", cmd.Keyword)
		return g.settleNow(ctx, settle)
	}
	lang, err := g.replyLanguage(ctx, got)
	if err != nil {
		return err
	}
	replies, err := g.replies(ctx, lang, cmd, got)
	if err != nil {
		return err
	}
	_, err = g.sendSettling(ctx, settle, addressed(replies, mobile, lang, provider)...)
	return err
}

// settleNow clears a debt that needs no SMS (the reply limit was reached).
func (g *Gateway) settleNow(ctx context.Context, settle string) error {
	if settle == "" {
		return nil
	}
	_, err := g.sendSettling(ctx, settle)
	return err
}

// replyLanguage is mobileLanguage from what the inbound step read; the
// first beneficiary's registration, when the step did not read it, is
// usually in the process's cache.
func (g *Gateway) replyLanguage(ctx context.Context, got store.Received) (string, error) {
	var first []store.Beneficiary
	if len(got.People) > 0 {
		first = []store.Beneficiary{got.People[0].Beneficiary}
	} else if got.Prefs.Language == "" && len(got.BeneficiaryIDs) > 0 {
		p, err := g.store.Profile(ctx, got.BeneficiaryIDs[0])
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", storeErr("answer", err)
		}
		if err == nil {
			first = []store.Beneficiary{{ID: p.ID, Language: p.Language}}
		}
	}
	return g.mobileLanguage(got.Prefs, first), nil
}

// mobileLanguage is the language the mobile chose, else that of its first
// beneficiary, else the default.
func (g *Gateway) mobileLanguage(prefs store.MobilePrefs, people []store.Beneficiary) string {
	if prefs.Language != "" {
		return g.language(prefs.Language)
	}
	if len(people) > 0 {
		return g.language(people[0].Language)
	}
	return g.languages[0]
}

// replies builds the SMS a keyword is answered with, in lang, about the
// sending mobile's beneficiaries as the inbound step read them.
func (g *Gateway) replies(ctx context.Context, lang string, cmd keywords.Command, got store.Received) ([]Outgoing, error) {
	one := func(template string) []Outgoing { return []Outgoing{{Template: template}} }
	switch cmd.Keyword {
	case keywords.Stop:
		return one("kw_opted_out"), nil
	case keywords.Start:
		return one("kw_opted_in"), nil
	case keywords.Lang:
		if cmd.Arg == "" || g.language(cmd.Arg) != cmd.Arg {
			return one("kw_help"), nil
		}
		return one("kw_language"), nil
	case keywords.Unknown:
		return one("kw_unknown"), nil
	case keywords.Status, keywords.Slip, keywords.Code, keywords.Cert, keywords.Card:
		if len(got.People) == 0 {
			return one("kw_not_registered"), nil
		}
	default: // help, empty
		return one("kw_help"), nil
	}
	var out []Outgoing
	for _, p := range got.People {
		o, err := g.personReply(ctx, lang, cmd.Keyword, p)
		if err != nil {
			return nil, err
		}
		if o != nil {
			out = append(out, *o)
		}
	}
	return out, nil
}

// digitRuns finds what may be a code or an OTP a citizen typed: four or
// more digits of any script (Devanagari ७५५६, Bengali ৭৫৫৬, full-width
// ７５５６ all reach the keyword parser as digits), alone or grouped by single
// spaces, dots or hyphens ("75 56", "846-205").
var digitRuns = regexp.MustCompile(`\p{Nd}(?:[ .\-]?\p{Nd}){3,}`)

// maskDigits hides codes and OTPs in what a citizen sent before it is
// stored for support to read; keywords carry no such digits.
func maskDigits(body string) string { return digitRuns.ReplaceAllString(body, "****") }

// sanitizeSender keeps a non-phone sender id (a short code, "VM-CWNSMS",
// "whatsapp:+91…") printable and short.
func sanitizeSender(from string) string {
	var b strings.Builder
	for _, r := range from {
		if b.Len() >= 32 {
			break
		}
		if r > ' ' && r < 0x7f {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// personReply answers STATUS, SLIP, CODE or CERT for one beneficiary.
func (g *Gateway) personReply(ctx context.Context, lang string, kw keywords.Keyword, p store.PersonView) (*Outgoing, error) {
	b := p.Beneficiary
	name := b.Name
	switch kw {
	case keywords.Status:
		status := VaccinationStatus(b.Doses)
		return &Outgoing{Template: "kw_status", Vars: templates.Vars{
			"name": name, "status": g.templates.Word(lang, strings.ToLower(status)), "doses": strconv.Itoa(len(b.Doses))}}, nil
	case keywords.Card:
		return g.cardReply(ctx, b)
	case keywords.Cert:
		if len(b.Doses) == 0 {
			return &Outgoing{Template: "kw_no_cert", Vars: templates.Vars{"name": name}}, nil
		}
		return &Outgoing{Template: "kw_cert", Vars: templates.Vars{
			"name": name, "certificate_id": b.Doses[len(b.Doses)-1].CertificateID}}, nil
	}
	a, c, err := g.activeIn(p)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return &Outgoing{Template: "kw_no_appointment", Vars: templates.Vars{"name": name}}, nil
	}
	if kw == keywords.Slip {
		return &Outgoing{Template: "kw_slip", Vars: templates.Vars{
			"name": name, "center": c.Name, "date": smsDate(a.Date), "slot": a.Slot}}, nil
	}
	o, err := g.codeMessage(ctx, b, c, *a)
	if errors.As(err, new(*RateLimitedError)) {
		return &Outgoing{Template: "kw_code_limited", Vars: templates.Vars{"name": name}}, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// activeAppointment is b's booked appointment for today or later, with its
// centre; nil when there is none.
func (g *Gateway) activeAppointment(ctx context.Context, b store.Beneficiary) (*store.Appointment, store.Center, error) {
	if b.ActiveAppointment == "" || b.ActiveDate < g.today() {
		return nil, store.Center{}, nil
	}
	a, err := g.store.Appointment(ctx, b.ActiveAppointment)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.Status != store.AppointmentBooked) {
		return nil, store.Center{}, nil
	}
	if err != nil {
		return nil, store.Center{}, storeErr("appointment", err)
	}
	c, err := g.store.KnownCenter(ctx, a.CenterID)
	if err != nil {
		return nil, store.Center{}, storeErr("appointment centre", err)
	}
	return &a, c, nil
}

// codeMessage is the security-code SMS for a, counted against the resend
// limit support resends share.
func (g *Gateway) codeMessage(ctx context.Context, b store.Beneficiary, c store.Center, a store.Appointment) (Outgoing, error) {
	code, wait, err := g.store.ResendCode(ctx, a.ID, resendsPerHour)
	if err != nil {
		return Outgoing{}, storeErr("code", err)
	}
	if wait > 0 {
		return Outgoing{}, &RateLimitedError{RetryAfter: wait}
	}
	return g.slip("security_code", b, c, a, code), nil
}
