package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/card"
	"sandesh/store"
	"sandesh/templates"
)

// cardValidFor is how long a status-card link works.
const cardValidFor = 7 * 24 * time.Hour

// cardReply is the CARD keyword's answer for one beneficiary: a link to
// their status card, valid 7 days.
func (g *Gateway) cardReply(ctx context.Context, b store.Beneficiary) (*Outgoing, error) {
	token, err := g.store.CreateCardToken(ctx, b.ID, cardValidFor)
	if err != nil {
		return nil, storeErr("card", err)
	}
	return &Outgoing{Template: "kw_card", Vars: templates.Vars{"name": b.Name, "base": g.publicURL, "token": token}}, nil
}

// StatusCard renders the card a token shows, from the current record.
func (g *Gateway) StatusCard(ctx context.Context, token string) ([]byte, error) {
	id, err := g.store.CardBeneficiary(ctx, token)
	if err != nil {
		return nil, storeErr("card", err)
	}
	b, err := g.store.Beneficiary(ctx, id)
	if err != nil {
		return nil, storeErr("card", err)
	}
	c := card.Card{Name: b.Name, Status: VaccinationStatus(b.Doses), Doses: len(b.Doses), Language: b.Language}
	if n := len(b.Doses); n > 0 {
		c.LastDoseDate = b.Doses[n-1].Date
	}
	return g.cards.Render(c)
}

// statusCard serves GET /c/{token}: a PNG anyone with the link may see.
func (s *server) statusCard(c *fiber.Ctx) error {
	png, err := s.gw.StatusCard(c.UserContext(), c.Params("token"))
	if err != nil {
		return apiError(err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, max-age=300")
	c.Set("X-Content-Type-Options", "nosniff")
	return c.Status(http.StatusOK).Send(png)
}
