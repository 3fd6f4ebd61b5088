package gateway

import (
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"sandesh/providers/africastalking"
)

// africasTalkingStatus takes Africa's Talking's delivery report for a
// message we sent. AT does not sign its callbacks; a provider configured
// with a webhook token requires it as ?token= on the callback URL.
func (s *server) africasTalkingStatus(c *fiber.Ctx) error {
	name := c.Params("provider")
	token, ok := s.opts.AfricasTalkingTokens[name]
	if !ok {
		return newAPIErr(http.StatusNotFound, "not_found", "No africastalking provider of that name.")
	}
	if token != "" && subtle.ConstantTimeCompare([]byte(c.Query("token")), []byte(token)) != 1 {
		return newAPIErr(http.StatusForbidden, "forbidden", "The webhook token does not match.")
	}
	form := url.Values{}
	c.Request().PostArgs().VisitAll(func(k, v []byte) { form.Add(string(k), string(v)) })
	r, err := africastalking.ParseReport(form)
	if err != nil {
		return newAPIErr(http.StatusBadRequest, "bad_request", err.Error())
	}
	// AT's report can overtake the worker's record of AT's message id:
	// RecordReceipt waits for it a moment.
	err = s.gw.RecordReceipt(c.UserContext(), DeliveryReport{
		Provider: name, ProviderMessageID: r.ProviderMessageID, Status: r.Status, ErrorCode: r.ErrorCode, OptedOut: r.OptedOut,
	})
	if err != nil {
		return apiError(err)
	}
	return c.SendStatus(http.StatusNoContent)
}
