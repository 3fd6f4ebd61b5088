// Package gateway holds Sandesh's flows as plain Go and their HTTP binding.
// Flows apply the programme's rules over store, jobs and templates; handlers
// only translate HTTP to flows and domain errors to status codes.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"sandesh/gateway/pages/card"
	"sandesh/internal/memo"
	"sandesh/jobs"
	"sandesh/providers"
	"sandesh/store"
	"sandesh/templates"
)

// Gateway carries the dependencies every flow needs.
type Gateway struct {
	store     *store.Store
	keys      *store.KeyCache // nil: every key is looked up in Redis
	dispatch  *jobs.Dispatcher
	templates *templates.Set
	metrics   *jobs.Metrics
	log       *slog.Logger
	languages []string
	location  *time.Location
	region    string
	now       func() time.Time
	// verifierPerHour caps the OTPs one verifier key may request an hour.
	verifierPerHour int
	publicURL       string
	cards           *card.Renderer
	mobiles         *memo.Map[string] // numbers as typed → E.164
	limitLogs       *windows          // when "reply limit reached" is logged: first per mobile per reply window
	reminderOpts    ReminderOptions
	runner          string        // this process, in reminder runs' leases
	runs            atomic.Uint64 // reminder runs this process started
}

// Deps are what New needs; Metrics and Logger may be nil.
type Deps struct {
	Store     *store.Store
	Dispatch  *jobs.Dispatcher
	Templates *templates.Set
	Metrics   *jobs.Metrics
	Logger    *slog.Logger
	Languages []string       // first is the default
	Location  *time.Location // the programme's time zone, for "today"
	Region    string         // for mobiles written without a country code; default IN
	Now       func() time.Time
	// VerifierPerHour caps the KYVS OTPs one verifier key may request in an
	// hour, across processes; default 1000.
	VerifierPerHour int
	// PublicURL is where citizens reach the gateway (status-card links).
	PublicURL string
	// Keys verifies API keys in memory; nil looks every key up in Redis.
	// Its owner closes it.
	Keys *store.KeyCache
	// Reminders are the due-dose reminder settings.
	Reminders ReminderOptions
}

// New builds a Gateway.
func New(d Deps) *Gateway {
	cards, err := card.New()
	if err != nil {
		// Its fonts are embedded: this is a build defect.
		panic(fmt.Sprintf("status card renderer: %v", err))
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if len(d.Languages) == 0 {
		d.Languages = []string{"en"}
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Region == "" {
		d.Region = "IN"
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.VerifierPerHour <= 0 {
		d.VerifierPerHour = 1000
	}
	return &Gateway{
		store: d.Store, keys: d.Keys, dispatch: d.Dispatch, templates: d.Templates, metrics: d.Metrics,
		log: d.Logger, languages: d.Languages, location: d.Location, region: d.Region, now: d.Now, verifierPerHour: d.VerifierPerHour,
		publicURL: strings.TrimSuffix(d.PublicURL, "/"), cards: cards, mobiles: memo.New[string](mobilesKept),
		limitLogs: newWindows(replyWindow, mobilesKept), reminderOpts: d.Reminders, runner: newRunnerID(),
	}
}

// Domain errors. Handlers map them to status codes in one table (errors.go).
var (
	ErrNotFound    = errors.New("not found")
	ErrBadInput    = errors.New("bad input")
	ErrUnavailable = errors.New("store unavailable")
	ErrForbidden   = errors.New("forbidden")
	ErrNoDose      = store.ErrNoDose // the resend step finds it
)

// Outgoing is one message a flow wants sent.
type Outgoing struct {
	To       string // E.164
	Template string
	Language string // "" → the default language
	Vars     templates.Vars
	Priority store.Priority
	ValidFor time.Duration // OTPs: their validity
	Prefer   string        // provider to try first (replies: the one that received)
	ID       string        // a message id reserved for it, or ""
}

// Send renders o in its language, records it and queues it. The body is
// rendered here, once: the worker sends exactly what was recorded.
func (g *Gateway) Send(ctx context.Context, o Outgoing) (store.Message, error) {
	ms, err := g.sendSettling(ctx, "", o)
	if err != nil {
		return store.Message{}, err
	}
	return ms[0], nil
}

// sendSettling renders, records and queues os in one step that clears the
// debt they pay ("" for none).
func (g *Gateway) sendSettling(ctx context.Context, debt string, os ...Outgoing) ([]store.Message, error) {
	nms := make([]store.NewMessage, 0, len(os))
	for _, o := range os {
		nm, err := g.render(o)
		if err != nil {
			return nil, err
		}
		nms = append(nms, nm)
	}
	ms, err := g.dispatch.DispatchAll(ctx, debt, nms...)
	if err != nil {
		return nil, fmt.Errorf("send %s: %w", templateNames(os), errors.Join(ErrUnavailable, err))
	}
	for _, m := range ms {
		g.metrics.Status(m.Template, string(store.StatusQueued), "")
	}
	return ms, nil
}

// templateNames names what os are, for an error.
func templateNames(os []Outgoing) string {
	names := make([]string, len(os))
	for i, o := range os {
		names[i] = o.Template
	}
	return strings.Join(names, ",")
}

// queued queues the task of message id, recorded by a step in the
// transactional lane, and counts it.
func (g *Gateway) queued(ctx context.Context, id, template string) {
	g.dispatch.Queue(ctx, id, store.PriorityTransactional)
	g.metrics.Status(template, string(store.StatusQueued), "")
}

// render fills o's template in its language (else the default).
// errRender: an SMS that cannot be rendered (a template or a language
// missing, a variable too long) fails the same way until someone fixes it.
var errRender = errors.New("cannot render")

func (g *Gateway) render(o Outgoing) (store.NewMessage, error) {
	r, err := g.templates.Render(o.Template, g.language(o.Language), o.Vars)
	if err != nil {
		return store.NewMessage{}, fmt.Errorf("send %s: %w: %w", o.Template, errRender, err)
	}
	return store.NewMessage{
		To:            o.To,
		Template:      r.Template,
		Language:      r.Language,
		Body:          r.Body,
		Masked:        r.Masked,
		Encoding:      r.Encoding,
		Segments:      r.Segments,
		DLTTemplateID: r.DLTTemplateID,
		Priority:      o.Priority,
		ValidFor:      o.ValidFor,
		Prefer:        o.Prefer,
		ID:            o.ID,
	}, nil
}

// language picks lang when it is configured, else the default.
func (g *Gateway) language(lang string) string {
	for _, l := range g.languages {
		if l == lang {
			return l
		}
	}
	return g.languages[0]
}

// DeliveryReport is a provider's word on a message it took.
type DeliveryReport struct {
	Provider          string
	MessageID         string // ours, when the provider echoes it back
	ProviderMessageID string
	Status            providers.DeliveryStatus
	ErrorCode         string
	// OptedOut: the network says the citizen blocked our sender, so
	// non-essential messages to the mobile stop, as after STOP.
	OptedOut bool
}

// RecordDelivery applies a delivery report. A report about a message we do
// not know is ErrNotFound; a report that would move a message backwards
// changes nothing and is not an error.
func (g *Gateway) RecordDelivery(ctx context.Context, r DeliveryReport) error {
	id := r.MessageID
	if id == "" {
		var err error
		if id, err = g.store.MessageIDByProvider(ctx, r.Provider, r.ProviderMessageID); err != nil {
			return storeErr("delivery report", err)
		}
	}
	if r.Status == providers.DeliveryIgnore {
		// Still proves the message exists, so an unknown id is reported.
		if _, err := g.store.Message(ctx, id); err != nil {
			return storeErr("delivery report", err)
		}
		return nil
	}
	u := store.Update{Status: store.Status(r.Status), Provider: r.Provider, ProviderMessageID: r.ProviderMessageID}
	if r.Status == providers.DeliveryUndelivered || r.Status == providers.DeliveryFailed {
		u.ErrorCode = r.ErrorCode
	}
	adv, err := g.store.AdvanceReported(ctx, id, u)
	if err != nil {
		return storeErr("delivery report", err)
	}
	if r.OptedOut {
		m, err := g.store.Message(ctx, id)
		if err == nil {
			err = g.store.SetOptedOut(ctx, m.To, true)
		}
		if err != nil {
			return storeErr("delivery report: opt-out", err)
		}
	}
	if adv.Changed {
		g.metrics.Status(adv.Template, string(u.Status), r.Provider)
	}
	return nil
}

// RecordReceipt applies a delivery report that carries only the
// provider's message id (an SMPP receipt). The worker writes that id just
// after the provider answered, so a receipt can overtake it: an unknown id
// is looked for again for about a second, then the receipt is dropped
// (logged) — a later part of a long message has an id we never learn.
// Other failures are returned, so the provider delivers the receipt again.
func (g *Gateway) RecordReceipt(ctx context.Context, r DeliveryReport) error {
	wait := 25 * time.Millisecond
	for {
		err := g.RecordDelivery(ctx, r)
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if wait > time.Second {
			g.log.Info("receipt for an unknown message", "provider", r.Provider, "provider_message_id", r.ProviderMessageID)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// storeRules are the store's answers that are the programme's rules, not
// failures; they pass through storeErr as they are.
var storeRules = []error{
	store.ErrExists, store.ErrMobileLimit, store.ErrAlreadyBooked, store.ErrWrongCenter,
	store.ErrNotActive, store.ErrWrongDate, store.ErrCodeLocked, store.ErrWrongPerson,
	store.ErrIdempotencyMismatch, store.ErrIdempotencyRunning,
	store.ErrOTPExpired, store.ErrOTPOtherCaller, store.ErrDosedToday,
}

// storeErr turns a store failure into a domain error: a missing record is
// ErrNotFound, a broken rule stays itself, anything else means Redis is
// unreachable or misbehaving.
func storeErr(op string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	for _, rule := range storeRules {
		if errors.Is(err, rule) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return fmt.Errorf("%s: %w", op, errors.Join(ErrUnavailable, err))
}

// Ready reports whether the store answers.
func (g *Gateway) Ready(ctx context.Context) error {
	if err := g.store.Ping(ctx); err != nil {
		return errors.Join(ErrUnavailable, err)
	}
	return nil
}

// Message returns one message record, bodies masked as stored.
func (g *Gateway) Message(ctx context.Context, id string) (store.Message, error) {
	m, err := g.store.Message(ctx, id)
	if err != nil {
		return m, storeErr("message", err)
	}
	return m, nil
}
