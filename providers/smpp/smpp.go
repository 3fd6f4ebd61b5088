// Package smpp sends SMS over SMPP 3.4 transceiver binds to an operator's
// or aggregator's SMSC, and hands back what the SMSC delivers on the same
// binds: delivery receipts and the citizens' own messages (MO).
//
// Each bind is a gosmpp session; binding, and binding again after a lost
// connection, is retried here with backoff, so the gateway starts while
// the SMSC is down and the router fails over in the meantime. A message goes out as one submit_sm a part (UDH
// concatenation for long messages) in GSM-7 (data_coding 0) or UCS-2
// (data_coding 8), each waiting for its submit_sm_resp within a window of
// outstanding requests per bind.
package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"sandesh/providers"
	"sandesh/templates"
)

// Defaults of Config.
const (
	DefaultBinds         = 1
	DefaultWindow        = 10
	DefaultEnquireLink   = 30 * time.Second
	DefaultSubmitTimeout = 10 * time.Second
	// Indian aggregators carry the DLT principal entity id and content
	// template id in vendor TLVs; these are the tags most of them use.
	DefaultDLTEntityTag   = 0x1400
	DefaultDLTTemplateTag = 0x1401
)

// Config is one SMPP provider.
type Config struct {
	Name                 string
	Addr                 string // host:port of the SMSC
	SystemID, Password   string
	SystemType           string
	SourceAddr           string // sender id or short code
	SourceTON, SourceNPI byte
	Binds                int           // transceiver connections
	Window               int           // outstanding submit_sm per bind
	EnquireLink          time.Duration // keep-alive interval
	SubmitTimeout        time.Duration // wait for a submit_sm_resp
	DLTEntityID          string        // sent with every message when set
	DLTEntityTag         uint16
	DLTTemplateTag       uint16
	// OnReceipt gets each delivery receipt; OnMO each message a citizen
	// sent. The SMSC is answered only after they return: an error asks it
	// to deliver again later, so nothing it sent is lost to a crash or a
	// Redis outage. They run on the bind's reader and should be quick.
	OnReceipt func(DeliveryReceipt) error
	OnMO      func(MO) error
	Logger    *slog.Logger
}

// MO is a message a citizen sent to the SMSC's short code.
type MO struct {
	Provider string
	From     string // as the SMSC gave it; E.164 digits with "+" when international
	To       string
	Text     string
}

// Provider sends through the binds of one SMSC.
type Provider struct {
	cfg   Config
	log   *slog.Logger
	binds []*bind
	next  atomic.Uint64
	ref   atomic.Uint32 // concatenation reference of the next long message
	stop  chan struct{}

	mu      sync.Mutex // guards closed and adding to wg
	closed  bool
	started bool
	wg      sync.WaitGroup
}

// New validates cfg. It binds nothing until Start: a process that only
// serves HTTP must not take binds from the SMSC's limit.
func New(cfg Config) (*Provider, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, log: cfg.Logger.With("provider", cfg.Name), stop: make(chan struct{})}
	for i := range cfg.Binds {
		p.binds = append(p.binds, &bind{p: p, n: i, window: make(chan struct{}, cfg.Window)})
	}
	return p, nil
}

// Start binds in the background; Send fails over (a temporary error)
// until a bind is up.
func (p *Provider) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	for _, b := range p.binds {
		p.wg.Go(b.supervise)
	}
}

func (c *Config) defaults() error {
	switch {
	case c.Name == "":
		return errors.New("smpp: name is required")
	case c.Addr == "" || !strings.Contains(c.Addr, ":"):
		return fmt.Errorf("smpp %s: addr must be host:port", c.Name)
	case c.SystemID == "":
		return fmt.Errorf("smpp %s: system_id is required", c.Name)
	case c.SourceAddr == "":
		return fmt.Errorf("smpp %s: source_addr is required", c.Name)
	case c.Binds < 0 || c.Binds > 32:
		return fmt.Errorf("smpp %s: binds must be from 1 to 32", c.Name)
	case c.Window < 0 || c.Window > 255:
		return fmt.Errorf("smpp %s: window must be from 1 to 255", c.Name)
	}
	if c.Binds == 0 {
		c.Binds = DefaultBinds
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.EnquireLink <= 0 {
		c.EnquireLink = DefaultEnquireLink
	}
	if c.SubmitTimeout <= 0 {
		c.SubmitTimeout = DefaultSubmitTimeout
	}
	if c.DLTEntityTag == 0 {
		c.DLTEntityTag = DefaultDLTEntityTag
	}
	if c.DLTTemplateTag == 0 {
		c.DLTTemplateTag = DefaultDLTTemplateTag
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Name is the configured provider name.
func (p *Provider) Name() string { return p.cfg.Name }

// Bound reports how many binds are up.
func (p *Provider) Bound() int {
	n := 0
	for _, b := range p.binds {
		if b.up.Load() {
			n++
		}
	}
	return n
}

// Close unbinds and stops re-binding.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	p.mu.Unlock()
	// Each bind's supervisor unbinds its session as it stops.
	p.wg.Wait()
	return nil
}

// Send submits m, a part at a time, through the next bind that is up.
func (p *Provider) Send(ctx context.Context, m providers.Outbound) (providers.Receipt, error) {
	b := p.pick()
	if b == nil {
		return providers.Receipt{}, providers.TemporaryError(p.cfg.Name, "not_bound", errors.New("no SMPP bind is up"))
	}
	parts, err := p.parts(m)
	if err != nil {
		return providers.Receipt{}, providers.PermanentError(p.cfg.Name, "encoding", err)
	}
	first, err := b.submit(ctx, parts[0])
	if err != nil {
		return providers.Receipt{}, err
	}
	for _, sm := range parts[1:] {
		if err := b.submitLater(ctx, sm); err != nil {
			return providers.Receipt{}, err
		}
	}
	return providers.Receipt{Provider: p.cfg.Name, ProviderMessageID: first}, nil
}

// laterPartTries bounds the submits of one later part of a long message.
const laterPartTries = 5

// submitLater sends a part after the first. Earlier parts are on their
// way, so the message as a whole must not be sent again: a throttled or
// busy SMSC is waited for here, a refusal fails the message, and only an
// unknown outcome is left ambiguous (retried later, never failed over).
func (b *bind) submitLater(ctx context.Context, sm *pdu.SubmitSM) error {
	for try := 1; ; try++ {
		_, err := b.submit(ctx, sm)
		switch {
		case err == nil:
			return nil
		case !providers.Temporary(err):
			return err
		case providers.Ambiguous(err), try == laterPartTries:
			return providers.AmbiguousError(b.p.cfg.Name, providers.Code(err), fmt.Errorf("part of a long message: %w", err))
		}
		wait := max(providers.RetryAfter(err), 200*time.Millisecond)
		select {
		case <-ctx.Done():
			return providers.AmbiguousError(b.p.cfg.Name, "timeout", ctx.Err())
		case <-time.After(wait):
		}
		sm.AssignSequenceNumber() // a new request, not a repeat of the refused one
	}
}

// pick is the next bind that is up, round robin; nil when none is.
func (p *Provider) pick() *bind {
	start := p.next.Add(1)
	for i := range uint64(len(p.binds)) {
		if b := p.binds[(start+i)%uint64(len(p.binds))]; b.up.Load() {
			return b
		}
	}
	return nil
}

// parts is m as submit_sm PDUs: one, or several carrying a concatenation
// UDH, cut where the templates counted the segments (so the parts billed
// are the parts shown) and in the encoding they counted it in.
func (p *Provider) parts(m providers.Outbound) ([]*pdu.SubmitSM, error) {
	enc := data.GSM7BIT
	if m.Encoding == "UCS-2" {
		enc = data.UCS2
	}
	src, err := pdu.NewAddressWithTonNpiAddr(p.cfg.SourceTON, p.cfg.SourceNPI, p.cfg.SourceAddr)
	if err != nil {
		return nil, fmt.Errorf("source address: %w", err)
	}
	dst, err := destination(m.To)
	if err != nil {
		return nil, err
	}
	texts := templates.Split(m.Body)
	if len(texts) > 255 {
		return nil, fmt.Errorf("message %s has %d parts; a concatenated SMS has at most 255", m.MessageID, len(texts))
	}
	ref := byte(p.ref.Add(1))
	out := make([]*pdu.SubmitSM, 0, len(texts))
	for i, text := range texts {
		msg, err := pdu.NewShortMessageWithEncoding(text, enc)
		if err != nil {
			return nil, fmt.Errorf("encode message %s as %s: %w", m.MessageID, m.Encoding, err)
		}
		// A PDU of its own for each part: its own sequence number.
		sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
		sm.SourceAddr, sm.DestAddr = src, dst
		if len(texts) > 1 {
			msg.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(byte(len(texts)), byte(i+1), ref)})
			sm.EsmClass |= data.SM_UDH_GSM
		}
		sm.Message = msg
		if i == 0 {
			// One receipt a message, for the part whose id we keep: the
			// receipts of other parts would name ids we never recorded.
			sm.RegisteredDelivery = 1
		}
		if p.cfg.DLTEntityID != "" {
			sm.RegisterOptionalParam(pdu.Field{Tag: pdu.Tag(p.cfg.DLTEntityTag), Data: []byte(p.cfg.DLTEntityID)})
		}
		if m.DLTTemplateID != "" {
			sm.RegisterOptionalParam(pdu.Field{Tag: pdu.Tag(p.cfg.DLTTemplateTag), Data: []byte(m.DLTTemplateID)})
		}
		out = append(out, sm)
	}
	return out, nil
}

// destination is an E.164 number as SMSCs take it: international TON, ISDN
// NPI, digits without the "+".
func destination(e164 string) (pdu.Address, error) {
	digits := strings.TrimPrefix(e164, "+")
	if digits == "" || len(digits) > 20 || strings.Trim(digits, "0123456789") != "" {
		return pdu.Address{}, fmt.Errorf("destination %q is not an E.164 number", e164)
	}
	return pdu.NewAddressWithTonNpiAddr(data.GSM_TON_INTERNATIONAL, data.GSM_NPI_E164, digits)
}

// submitResult is the SMSC's answer to one submit_sm.
type submitResult struct {
	id     string
	status data.CommandStatusType
	err    error // the request never got an answer
}

// bind is one transceiver connection with its window of outstanding
// submits.
type bind struct {
	p       *Provider
	n       int
	mu      sync.Mutex
	session *gosmpp.Session
	up      atomic.Bool
	window  chan struct{}
	pending sync.Map // sequence number (int32) → chan submitResult
}

// supervise keeps the bind up until the provider closes: it binds,
// retrying with backoff (0.5 s doubling to 30 s) so an SMSC that is down is
// not hammered, waits until that session is lost, and binds again. One
// supervisor a bind, each session with its own done channel, so a late
// close of an old session cannot touch the new one.
func (b *bind) supervise() {
	backoff := 500 * time.Millisecond
	for {
		done := make(chan struct{})
		var once sync.Once
		lost := func() { once.Do(func() { close(done) }) }
		// gosmpp's own re-bind (a fixed interval) is off: this loop is it.
		s, err := gosmpp.NewSession(gosmpp.TRXConnector(b.p.dial, b.p.auth()), b.settings(lost), 0)
		if err != nil {
			b.p.log.Warn("smpp bind failed", "bind", b.n, "err", err, "retry_in", backoff)
			select {
			case <-b.p.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = 500 * time.Millisecond
		b.mu.Lock()
		b.session = s
		b.mu.Unlock()
		b.up.Store(true)
		b.p.log.Info("smpp bound", "bind", b.n)
		select {
		case <-b.p.stop:
			b.up.Store(false)
			_ = s.Close() // unbinds
			b.failPending(errors.New("provider closed before the SMSC answered"))
			return
		case <-done:
			b.up.Store(false)
			b.p.log.Warn("smpp bind lost", "bind", b.n)
			b.failPending(errors.New("bind lost before the SMSC answered"))
			_ = s.Close()
		}
	}
}

// bindTimeout bounds the TCP connect and the bind's answer: an SMSC that
// takes the connection and never answers must not hold a bind (or a
// shutdown) forever. gosmpp sets its own deadlines once bound.
const bindTimeout = 10 * time.Second

func (p *Provider) dial(addr string) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, bindTimeout)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Now().Add(bindTimeout)); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

func (p *Provider) auth() gosmpp.Auth {
	return gosmpp.Auth{SMSC: p.cfg.Addr, SystemID: p.cfg.SystemID, Password: p.cfg.Password, SystemType: p.cfg.SystemType}
}

func (b *bind) settings(lost func()) gosmpp.Settings {
	return gosmpp.Settings{
		EnquireLink:  b.p.cfg.EnquireLink,
		ReadTimeout:  2*b.p.cfg.EnquireLink + time.Second,
		WriteTimeout: b.p.cfg.SubmitTimeout,
		OnAllPDU:     b.onPDU,
		OnSubmitError: func(req pdu.PDU, err error) {
			b.answer(req.GetSequenceNumber(), submitResult{err: err})
		},
		OnReceivingError: func(err error) { b.p.log.Warn("smpp read failed", "bind", b.n, "err", err) },
		OnClosed:         func(gosmpp.State) { lost() },
	}
}

// onPDU takes what the SMSC sends and says what to answer: answers to
// our submits complete them; a deliver_sm (receipt or MO) is answered
// after its callback, with a temporary error when that failed.
func (b *bind) onPDU(p pdu.PDU) (pdu.PDU, bool) {
	switch v := p.(type) {
	case *pdu.SubmitSMResp:
		b.answer(v.SequenceNumber, submitResult{id: v.MessageID, status: v.CommandStatus})
		return nil, false
	case *pdu.GenericNack:
		b.answer(v.SequenceNumber, submitResult{status: v.CommandStatus})
		return nil, false
	case *pdu.DeliverSM:
		resp := v.GetResponse()
		if err := b.p.delivered(v); err != nil {
			b.p.log.Warn("smpp deliver_sm not taken; the SMSC will retry", "bind", b.n, "err", err)
			resp.(*pdu.DeliverSMResp).CommandStatus = data.ESME_RX_T_APPN
		}
		return resp, false
	case *pdu.Unbind:
		return v.GetResponse(), true
	}
	if p.CanResponse() {
		// enquire_link, or a request we do not serve (data_sm …): the
		// library's answer, so the SMSC is never left waiting.
		return p.GetResponse(), false
	}
	return nil, false
}

func (b *bind) answer(seq int32, r submitResult) {
	if ch, ok := b.pending.LoadAndDelete(seq); ok {
		ch.(chan submitResult) <- r
	}
}

func (b *bind) failPending(err error) {
	b.pending.Range(func(k, _ any) bool {
		b.answer(k.(int32), submitResult{err: err})
		return true
	})
}

// submit sends one part within the bind's window and waits for its answer.
func (b *bind) submit(ctx context.Context, sm *pdu.SubmitSM) (string, error) {
	name := b.p.cfg.Name
	select {
	case b.window <- struct{}{}:
		defer func() { <-b.window }()
	case <-ctx.Done():
		return "", providers.TemporaryError(name, "window_full", ctx.Err())
	}
	b.mu.Lock()
	s := b.session
	b.mu.Unlock()
	if s == nil || !b.up.Load() {
		return "", providers.TemporaryError(name, "not_bound", errors.New("the SMPP bind is down"))
	}
	ch := make(chan submitResult, 1)
	seq := sm.GetSequenceNumber()
	b.pending.Store(seq, ch)
	if err := s.Transceiver().Submit(sm); err != nil {
		b.pending.Delete(seq)
		return "", providers.TemporaryError(name, "not_bound", err)
	}
	timer := time.NewTimer(b.p.cfg.SubmitTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return result(name, r)
	case <-timer.C:
		b.pending.Delete(seq)
		return "", providers.AmbiguousError(name, "timeout", errors.New("no submit_sm_resp in time"))
	case <-ctx.Done():
		b.pending.Delete(seq)
		return "", providers.AmbiguousError(name, "timeout", ctx.Err())
	}
}

// result classifies the SMSC's answer to a submit.
func result(name string, r submitResult) (string, error) {
	if r.err != nil {
		// Written to the socket, then the bind broke: the SMSC may have it.
		return "", providers.AmbiguousError(name, "bind_lost", r.err)
	}
	if r.status == data.ESME_ROK {
		if r.id == "" {
			return "", providers.AmbiguousError(name, "no_message_id", errors.New("submit_sm_resp without a message id"))
		}
		return r.id, nil
	}
	code := "smpp_" + strconv.FormatUint(uint64(r.status), 16)
	err := fmt.Errorf("submit_sm refused: %s (0x%02X)", r.status.String(), uint32(r.status))
	if permanent[r.status] {
		return "", providers.PermanentError(name, code, err)
	}
	if r.status == data.ESME_RTHROTTLED {
		// The SMSC's rate is spent for now, a second being its usual
		// window: the message waits (or goes to the next provider), spends
		// no retry and counts for no breaker, as under our own rate cap.
		e := providers.TemporaryError(name, "rate_limited", err)
		e.RetryAfter = time.Second
		return "", e
	}
	return "", providers.TemporaryError(name, code, err)
}

// permanent are the submit_sm_resp errors that no retry or other provider
// can cure: the destination or the message itself is wrong. Everything
// else (throttled 0x58, queue full 0x14, system error 0x08, bind and
// configuration trouble) may pass later or elsewhere.
var permanent = map[data.CommandStatusType]bool{
	data.ESME_RINVDSTADR:   true, // 0x0B invalid destination address
	data.ESME_RINVDSTTON:   true, // 0x50
	data.ESME_RINVDSTNPI:   true, // 0x51
	data.ESME_RINVMSGLEN:   true, // 0x01
	data.ESME_RINVESMCLASS: true, // 0x43
	data.ESME_RINVNUMDESTS: true, // 0x33
}
