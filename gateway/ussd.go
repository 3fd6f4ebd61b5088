package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/ussd"
	"sandesh/store"
)

// AnswerUSSD answers one USSD request with menu in one step of the store:
// the step records the request in the mobile's history and reads all a
// screen needs of the dialling mobile (store.StepUSSD). Whether the answer
// ends the session follows from how many beneficiaries the step finds
// (menu.Ends), so it is recorded in the same step. Choosing a language and
// resending a code then write in steps of their own.
func (g *Gateway) AnswerUSSD(ctx context.Context, menu *ussd.Menu, r ussd.Request) (string, error) {
	if r.SessionID == "" {
		return "", invalid("sessionId", "sessionId is required.")
	}
	answers := ussd.Answers(r.ServiceCode, r.Text)
	view, err := g.store.StepUSSD(ctx, store.USSDStep{
		SessionID: r.SessionID, Mobile: r.Mobile, ServiceCode: r.ServiceCode,
		Text: strings.Join(answers, "*"), Steps: len(answers), EndedWith: menu.Ends(r),
	})
	if err != nil {
		return "", storeErr("ussd", err)
	}
	return menu.With(ussdBackend{g: g, mobile: r.Mobile, view: &view}).Answer(ctx, r)
}

// ussdBackend gives the USSD menu what one request's step read of the
// dialling mobile, so a screen costs no further round trip. It is scoped
// to that mobile: it never reveals a beneficiary registered on another.
type ussdBackend struct {
	g      *Gateway
	mobile string
	view   *store.USSDView // nil in the menu USSDMenu builds: AnswerUSSD gives each request its own
}

// errNoUSSDStep is a menu answered without the step of AnswerUSSD.
var errNoUSSDStep = errors.New("ussd: no step read this mobile (answer through AnswerUSSD)")

// read is the step's view, when it is of mobile.
func (b ussdBackend) read(mobile string) (*store.USSDView, error) {
	if b.view == nil || mobile != b.mobile {
		return nil, errNoUSSDStep
	}
	return b.view, nil
}

func (b ussdBackend) People(_ context.Context, mobile string) ([]ussd.Person, error) {
	v, err := b.read(mobile)
	if err != nil {
		return nil, err
	}
	out := make([]ussd.Person, 0, len(v.People))
	for _, p := range v.People {
		person := ussd.Person{ID: p.ID, Name: p.Name, Status: VaccinationStatus(p.Doses), Doses: len(p.Doses)}
		if n := len(p.Doses); n > 0 {
			person.CertificateID = p.Doses[n-1].CertificateID
		}
		a, c, err := b.g.activeIn(p)
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

func (b ussdBackend) Language(_ context.Context, mobile string) (string, error) {
	v, err := b.read(mobile)
	if err != nil {
		return "", err
	}
	return b.g.viewLanguage(v), nil
}

// viewLanguage is mobileLanguage over a USSD step's view: the language the
// mobile chose, else the one its first beneficiary registered with.
func (g *Gateway) viewLanguage(v *store.USSDView) string {
	var first []store.Beneficiary
	if len(v.People) > 0 {
		first = []store.Beneficiary{v.People[0].Beneficiary}
	}
	return g.mobileLanguage(v.Prefs, first)
}

func (b ussdBackend) SetLanguage(ctx context.Context, mobile, lang string) error {
	if err := b.g.store.SetMobileLanguage(ctx, mobile, lang); err != nil {
		return storeErr("ussd set language", err)
	}
	return nil
}

// ResendCode sends the code of an appointment of a beneficiary on mobile,
// counted against the resend limit support and the CODE keyword share.
// The appointment is the step's; the limit, the code and the SMS are
// steps of their own.
func (b ussdBackend) ResendCode(ctx context.Context, mobile, appointmentID string) error {
	v, err := b.read(mobile)
	if err != nil {
		return err
	}
	for _, p := range v.People {
		a, c, err := b.g.activeIn(p)
		if err != nil {
			return err
		}
		if a == nil || a.ID != appointmentID {
			continue
		}
		o, err := b.g.codeMessage(ctx, p.Beneficiary, c, *a)
		if errors.As(err, new(*RateLimitedError)) {
			return ussd.ErrRateLimited
		}
		if err != nil {
			return err
		}
		o.Language = b.g.viewLanguage(v)
		_, err = b.g.Send(ctx, o)
		return err
	}
	return ErrNotFound
}

// activeIn is activeAppointment over what a step read (a USSD screen, an
// inbound SMS): p's booked appointment for today or later, with its
// centre; nil when there is none. A centre that is gone is an error, as
// there.
func (g *Gateway) activeIn(p store.PersonView) (*store.Appointment, store.Center, error) {
	a := p.Appointment
	if p.ActiveAppointment == "" || p.ActiveDate < g.today() || a == nil || a.Status != store.AppointmentBooked {
		return nil, store.Center{}, nil
	}
	if p.Center == nil {
		return nil, store.Center{}, storeErr("appointment centre", store.ErrNotFound)
	}
	return a, *p.Center, nil
}

// USSDMenu builds the menu over this gateway's data; AnswerUSSD answers
// with it.
func (g *Gateway) USSDMenu() *ussd.Menu { return ussd.New(ussdBackend{g: g}, g.templates, g.languages) }

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
