package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/ussd"
)

// ussdBackend gives the USSD menu what it needs, scoped to the dialling
// mobile: it never reveals a beneficiary registered on another mobile.
type ussdBackend struct{ g *Gateway }

func (b ussdBackend) People(ctx context.Context, mobile string) ([]ussd.Person, error) {
	people, err := b.g.store.BeneficiariesByMobile(ctx, mobile)
	if err != nil {
		return nil, storeErr("ussd people", err)
	}
	out := make([]ussd.Person, 0, len(people))
	for _, p := range people {
		person := ussd.Person{ID: p.ID, Name: p.Name, Status: VaccinationStatus(p.Doses), Doses: len(p.Doses)}
		if n := len(p.Doses); n > 0 {
			person.CertificateID = p.Doses[n-1].CertificateID
		}
		a, c, err := b.g.activeAppointment(ctx, p)
		if err != nil {
			return nil, err
		}
		if a != nil {
			person.Appointment = &ussd.Appointment{ID: a.ID, Center: c.Name, Date: smsDate(a.Date), Slot: a.Slot}
		}
		out = append(out, person)
	}
	return out, nil
}

func (b ussdBackend) Language(ctx context.Context, mobile string) (string, error) {
	prefs, err := b.g.store.MobilePrefs(ctx, mobile)
	if err != nil {
		return "", storeErr("ussd language", err)
	}
	if prefs.Language != "" {
		return prefs.Language, nil
	}
	// A mobile that never chose hears the language it registered with.
	people, err := b.g.store.BeneficiariesByMobile(ctx, mobile)
	if err != nil {
		return "", storeErr("ussd language", err)
	}
	return b.g.mobileLanguage(prefs, people), nil
}

func (b ussdBackend) SetLanguage(ctx context.Context, mobile, lang string) error {
	if err := b.g.store.SetMobileLanguage(ctx, mobile, lang); err != nil {
		return storeErr("ussd set language", err)
	}
	return nil
}

// ResendCode sends the code of an appointment of a beneficiary on mobile,
// counted against the resend limit support and the CODE keyword share.
func (b ussdBackend) ResendCode(ctx context.Context, mobile, appointmentID string) error {
	people, err := b.g.store.BeneficiariesByMobile(ctx, mobile)
	if err != nil {
		return storeErr("ussd resend", err)
	}
	for _, p := range people {
		a, c, err := b.g.activeAppointment(ctx, p)
		if err != nil {
			return err
		}
		if a == nil || a.ID != appointmentID {
			continue
		}
		o, err := b.g.codeMessage(ctx, p, c, *a)
		if errors.As(err, new(*RateLimitedError)) {
			return ussd.ErrRateLimited
		}
		if err != nil {
			return err
		}
		prefs, err := b.g.store.MobilePrefs(ctx, mobile)
		if err != nil {
			return storeErr("ussd resend", err)
		}
		o.Language = b.g.mobileLanguage(prefs, people)
		_, err = b.g.Send(ctx, o)
		return err
	}
	return ErrNotFound
}

// USSDMenu builds the menu over this gateway's data.
func (g *Gateway) USSDMenu() *ussd.Menu { return ussd.New(ussdBackend{g}, g.templates, g.languages) }

// ussdHook answers Africa's Talking-style USSD callbacks: text/plain,
// "CON …" to continue, "END …" to close.
func (s *server) ussdHook(c *fiber.Ctx) error {
	if s.opts.USSDToken != "" && subtle.ConstantTimeCompare([]byte(c.Query("token")), []byte(s.opts.USSDToken)) != 1 {
		return newAPIErr(http.StatusForbidden, "forbidden", "The USSD token does not match.")
	}
	form := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	mobile, err := NormalizeMobile(form("phoneNumber"), s.gw.region)
	if form("sessionId") == "" || err != nil {
		return newAPIErr(http.StatusBadRequest, "bad_request", "sessionId and a valid phoneNumber are required.")
	}
	text := c.FormValue("text")
	if len(text) > 1024 {
		return newAPIErr(http.StatusBadRequest, "bad_request", "text is too long.")
	}
	answer, err := s.gw.AnswerUSSD(c.UserContext(), s.ussd, ussd.Request{
		SessionID: form("sessionId"), ServiceCode: form("serviceCode"), Mobile: mobile,
		NetworkCode: form("networkCode"), Text: text,
	})
	if err != nil {
		return apiError(err)
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	return c.SendString(answer)
}
