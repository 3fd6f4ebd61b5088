package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/gateway/pages/card"
	"sandesh/gateway/pages/card/check"
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

// cardOf is the card a live link token shows, drawn from the current
// record, with the QR code of its check page; ErrNotFound for a token that
// is unknown, expired or not the shape of one (20 lowercase hex digits,
// as CreateCardToken makes them), which is refused without asking Redis.
func (g *Gateway) cardOf(ctx context.Context, token string) (card.Card, error) {
	if !isCardToken(token) {
		return card.Card{}, fmt.Errorf("card: %w", ErrNotFound)
	}
	id, err := g.store.CardBeneficiary(ctx, token)
	if err != nil {
		return card.Card{}, storeErr("card", err)
	}
	b, err := g.store.Beneficiary(ctx, id)
	if err != nil {
		return card.Card{}, storeErr("card", err)
	}
	c := card.Card{Name: b.Name, Status: VaccinationStatus(b.Doses), Doses: len(b.Doses), Language: b.Language,
		CheckURL: g.publicURL + "/c/" + token + "/check"}
	if n := len(b.Doses); n > 0 {
		c.LastDoseDate = b.Doses[n-1].Date
	}
	return c, nil
}

func isCardToken(s string) bool {
	if len(s) != 20 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// StatusCard renders the card a token shows, from the current record.
func (g *Gateway) StatusCard(ctx context.Context, token string) ([]byte, error) {
	c, err := g.cardOf(ctx, token)
	if err != nil {
		return nil, err
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

// cardCheck is the handler of GET /c/{token}/check, the page the card's
// QR code leads to: the live record behind the card, as HTML.
func (s *server) cardCheck() fiber.Handler {
	page, err := check.New(cardCheckBackend{s.gw}, s.gw.cards, check.Options{Location: s.gw.location, Now: s.gw.now})
	if err != nil {
		// Its template and strings are embedded: this is a build defect.
		panic(fmt.Sprintf("card check page: %v", err))
	}
	return page.Handler()
}

// cardCheckBackend gives the check page the card a link shows.
type cardCheckBackend struct{ g *Gateway }

func (b cardCheckBackend) Card(ctx context.Context, token string) (card.Card, error) {
	c, err := b.g.cardOf(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return card.Card{}, check.ErrNotFound
	}
	return c, err
}
