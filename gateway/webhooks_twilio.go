package gateway

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"sandesh/providers/twilio"
)

// twilioParams reads a Twilio webhook form and checks its signature over
// public_url + the path and query as received. A Twilio form never repeats
// a key, so a map loses nothing.
func (s *server) twilioParams(c *fiber.Ctx) (string, map[string]string, error) {
	name := c.Params("provider")
	token, ok := s.opts.TwilioTokens[name]
	if !ok {
		return "", nil, newAPIErr(http.StatusNotFound, "not_found", "No twilio provider of that name.")
	}
	params := map[string]string{}
	c.Request().PostArgs().VisitAll(func(k, v []byte) { params[string(k)] = string(v) })
	url := s.opts.PublicURL + c.OriginalURL()
	if !twilio.ValidSignature(token, url, params, c.Get("X-Twilio-Signature")) {
		return "", nil, newAPIErr(http.StatusForbidden, "forbidden", "The X-Twilio-Signature does not match.")
	}
	return name, params, nil
}

// twilioStatus takes Twilio's status callback for a message we sent.
func (s *server) twilioStatus(c *fiber.Ctx) error {
	name, p, err := s.twilioParams(c)
	if err != nil {
		return err
	}
	sid, status := p["MessageSid"], p["MessageStatus"]
	if sid == "" || status == "" {
		return newAPIErr(http.StatusBadRequest, "bad_request", "MessageSid and MessageStatus are required.")
	}
	err = s.gw.RecordDelivery(c.UserContext(), DeliveryReport{
		Provider:          name,
		MessageID:         c.Query("m"),
		ProviderMessageID: sid,
		Status:            twilio.MapStatus(status),
		ErrorCode:         p["ErrorCode"],
	})
	if err != nil {
		return apiError(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

// emptyTwiML tells Twilio we answer separately: the reply goes through the
// outbound queue like any other message. It is API.md's bytes exactly, as
// rejectTwiML is; TwiML needs no XML declaration.
const emptyTwiML = `<Response/>`

// twilioSMS takes an SMS a citizen sent to one of our Twilio numbers. It
// answers 200 only once the message is stored and its reply queued.
func (s *server) twilioSMS(c *fiber.Ctx) error {
	name, p, err := s.twilioParams(c)
	if err != nil {
		return err
	}
	err = s.gw.Inbound(c.UserContext(), InboundSMS{
		Provider: name, MessageSID: p["MessageSid"], From: p["From"], To: p["To"], Body: p["Body"],
	})
	if err != nil {
		return apiError(err)
	}
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.Status(http.StatusOK).SendString(emptyTwiML)
}

// rejectTwiML rejects a call before it is answered: the caller pays nothing
// and hears a busy tone.
const rejectTwiML = `<Response><Reject reason="busy"/></Response>`

// twilioVoice takes a call to one of our Twilio numbers: the missed-call
// status line. The call is rejected; the answer goes by SMS once the call
// is stored.
func (s *server) twilioVoice(c *fiber.Ctx) error {
	name, p, err := s.twilioParams(c)
	if err != nil {
		return err
	}
	err = s.gw.MissedCall(c.UserContext(), MissedCall{Provider: name, CallSID: p["CallSid"], From: p["From"], To: p["To"]})
	if err != nil {
		return apiError(err)
	}
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.Status(http.StatusOK).SendString(rejectTwiML)
}
