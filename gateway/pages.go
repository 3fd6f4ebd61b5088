package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"sandesh/gateway/pages/simulator"
	"sandesh/gateway/pages/verify"
	"sandesh/gateway/ussd"
	"sandesh/store"
)

// webSessionTTL is how long a verifier stays signed in to /verify.
const webSessionTTL = 8 * time.Hour

// verifyBackend gives the /verify page the KYVS flows, acting as the
// verifier whose key signed the session in.
type verifyBackend struct{ s *server }

func (b verifyBackend) SignIn(ctx context.Context, apiKey string) (verify.Session, error) {
	who, err := b.s.authenticateKey(ctx, apiKey)
	if err != nil {
		return verify.Session{}, verifyErr(err)
	}
	if who.Role != store.RoleVerifier && who.Role != store.RoleAdmin {
		return verify.Session{}, &verify.Error{Kind: verify.ErrUnauthorized}
	}
	ws, err := b.s.gw.store.CreateWebSession(ctx, store.WebSession{KeyID: who.KeyID, Name: who.Name, Role: who.Role}, webSessionTTL)
	if err != nil {
		return verify.Session{}, verifyErr(storeErr("sign in", err))
	}
	return verify.Session{ID: ws.ID, Verifier: ws.Name, CSRF: ws.CSRF}, nil
}

func (b verifyBackend) Session(ctx context.Context, id string) (verify.Session, error) {
	ws, err := b.load(ctx, id)
	if err != nil {
		return verify.Session{}, err
	}
	return verify.Session{ID: ws.ID, Verifier: ws.Name, CSRF: ws.CSRF}, nil
}

func (b verifyBackend) SignOut(ctx context.Context, id string) error {
	return verifyErr(b.s.gw.store.EndWebSession(ctx, id))
}

// caller is the verifier behind a session, as the flows know callers.
func (b verifyBackend) caller(ctx context.Context, id string) (Caller, error) {
	ws, err := b.load(ctx, id)
	if err != nil {
		return Caller{}, err
	}
	return Caller{KeyID: ws.KeyID, Name: ws.Name, Role: ws.Role}, nil
}

// load is the session of id when it is a verifier's (or admin's): a
// support console session copied into this page's cookie is refused.
func (b verifyBackend) load(ctx context.Context, id string) (store.WebSession, error) {
	ws, err := b.s.gw.store.WebSession(ctx, id)
	if err != nil {
		return store.WebSession{}, verifyErr(storeErr("session", err))
	}
	if ws.Role != store.RoleVerifier && ws.Role != store.RoleAdmin {
		return store.WebSession{}, &verify.Error{Kind: verify.ErrUnauthorized}
	}
	return ws, nil
}

func (b verifyBackend) RequestOTP(ctx context.Context, s verify.Session, name, mobile string) (string, error) {
	who, err := b.caller(ctx, s.ID)
	if err != nil {
		return "", err
	}
	started, err := b.s.gw.RequestOTP(ctx, who, OTPRequest{Name: name, Mobile: mobile})
	if err != nil {
		return "", verifyErr(err)
	}
	return started.TxnID, nil
}

func (b verifyBackend) Confirm(ctx context.Context, s verify.Session, txnID, otp string) (verify.Result, error) {
	who, err := b.caller(ctx, s.ID)
	if err != nil {
		return verify.Result{}, err
	}
	v, err := b.s.gw.ConfirmOTP(ctx, who, txnID, otp)
	if err != nil {
		return verify.Result{}, verifyErr(err)
	}
	res := verify.Result{Status: v.Status, Name: v.Name, BirthYear: v.BirthYear, Gender: v.Gender,
		Doses: v.Doses, LastDoseDate: v.LastDoseDate, Vaccine: v.Vaccine}
	if v.beneficiaryID != "" {
		if token, err := b.s.gw.store.CreateCardToken(ctx, v.beneficiaryID, cardValidFor); err == nil {
			res.CardURL = "/c/" + token
		}
	}
	return res, nil
}

// verifyErr translates the flows' errors into what the page shows.
func verifyErr(err error) error {
	if err == nil {
		return nil
	}
	var inv *InvalidError
	var mismatch *store.OTPMismatchError
	switch {
	case errors.As(err, &mismatch):
		return &verify.Error{Kind: verify.ErrOTPMismatch, AttemptsLeft: mismatch.AttemptsLeft}
	case errors.As(err, &inv) && inv.Code == "invalid_mobile":
		return &verify.Error{Kind: verify.ErrInvalidMobile}
	case errors.As(err, &inv):
		return &verify.Error{Kind: verify.ErrInvalidInput}
	case errors.As(err, new(*RateLimitedError)):
		return &verify.Error{Kind: verify.ErrRateLimited}
	case errors.Is(err, store.ErrOTPExpired):
		return &verify.Error{Kind: verify.ErrOTPExpired}
	case errors.Is(err, ErrNotFound), errors.Is(err, store.ErrOTPOtherCaller), isUnauthorized(err):
		return &verify.Error{Kind: verify.ErrUnauthorized}
	}
	return &verify.Error{Kind: verify.ErrUnavailable}
}

func isUnauthorized(err error) bool {
	var ae *apiErr
	return errors.As(err, &ae) && ae.Status == 401
}

// simulatorBackend lets the /simulator page play a citizen's phone: its
// SMS go through the same inbound flow a provider webhook uses.
type simulatorBackend struct{ s *server }

// Languages are the gateway's configured languages, the default first:
// the page speaks the ones it has strings for.
func (b simulatorBackend) Languages() []string { return slices.Clone(b.s.gw.languages) }

func (b simulatorBackend) Phones(ctx context.Context) ([]simulator.Phone, error) {
	var out []simulator.Phone
	for _, p := range demoPeople {
		mobile, err := NormalizeMobile(p.Mobile, b.s.gw.region)
		if err != nil || slices.ContainsFunc(out, func(ph simulator.Phone) bool { return ph.Mobile == mobile }) {
			continue
		}
		people, err := b.s.gw.store.BeneficiariesByMobile(ctx, mobile)
		if err != nil {
			return nil, storeErr("simulator phones", err)
		}
		ph := simulator.Phone{Mobile: mobile}
		for _, person := range people {
			ph.People = append(ph.People, person.Name)
		}
		out = append(out, ph)
	}
	return out, nil
}

func (b simulatorBackend) SendSMS(ctx context.Context, mobile, body string) error {
	e164, err := NormalizeMobile(mobile, b.s.gw.region)
	if err != nil {
		return err
	}
	var sid [16]byte
	if _, err := rand.Read(sid[:]); err != nil {
		return err
	}
	return b.s.gw.Inbound(ctx, InboundSMS{Provider: "simulator", MessageSID: "SIM" + hex.EncodeToString(sid[:]),
		From: e164, To: "simulator", Body: body})
}

func (b simulatorBackend) Conversation(ctx context.Context, mobile string) ([]simulator.Message, error) {
	e164, err := NormalizeMobile(mobile, b.s.gw.region)
	if err != nil {
		return nil, err
	}
	msgs, err := b.s.gw.store.MessagesByMobile(ctx, e164, 50)
	if err != nil {
		return nil, storeErr("simulator conversation", err)
	}
	out := make([]simulator.Message, 0, len(msgs))
	for _, m := range slices.Backward(msgs) {
		body := m.Body
		if m.Direction == "out" {
			// The simulator stands in for the handset, which sees the code.
			if body, err = b.s.gw.store.SendBody(ctx, m.ID); err != nil {
				return nil, storeErr("simulator conversation", err)
			}
		}
		out = append(out, simulator.Message{In: m.Direction == "in", Body: body, At: m.CreatedAt, Status: string(m.Status)})
	}
	return out, nil
}

func (b simulatorBackend) USSD(ctx context.Context, mobile, sessionID, text string) (string, error) {
	e164, err := NormalizeMobile(mobile, b.s.gw.region)
	if err != nil {
		return "", err
	}
	return b.s.gw.AnswerUSSD(ctx, b.s.ussd, ussd.Request{SessionID: sessionID, ServiceCode: "*384*12#", Mobile: e164, Text: text})
}
