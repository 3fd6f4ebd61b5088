package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"sandesh/store"
)

const callerLocal = "sandesh.caller"

var errUnauthorized = newAPIErr(http.StatusUnauthorized, "unauthorized", "A valid API key is required: Authorization: Bearer <key>.")

// authenticate resolves the presented key: the bootstrap admin key from
// config, else a stored key.
func (s *server) authenticate(c *fiber.Ctx) (Caller, error) {
	return s.authenticateKey(c.UserContext(), bearer(c))
}

// authenticateKey resolves an API key however it was presented.
func (s *server) authenticateKey(ctx context.Context, key string) (Caller, error) {
	if key == "" || len(key) > 200 {
		return Caller{}, errUnauthorized
	}
	if s.opts.AdminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AdminKey)) == 1 {
		return Caller{KeyID: "admin", Name: "bootstrap admin key", Role: store.RoleAdmin}, nil
	}
	who, err := s.gw.Authenticate(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return Caller{}, errUnauthorized
	}
	return who, err
}

// allow admits callers whose key has one of roles; admin is always admitted.
func (s *server) allow(roles ...store.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		who, err := s.authenticate(c)
		if err != nil {
			return err
		}
		if who.Role != store.RoleAdmin && !slices.Contains(roles, who.Role) {
			return newAPIErr(http.StatusForbidden, "forbidden", "This key's role may not use this route.")
		}
		c.Locals(callerLocal, who)
		return c.Next()
	}
}

func caller(c *fiber.Ctx) Caller {
	who, _ := c.Locals(callerLocal).(Caller)
	return who
}

// callerCenter is the centre a centre key is bound to; "" for admin, who
// may act for any centre.
func callerCenter(c *fiber.Ctx) string { return caller(c).CenterID }

// idempotencyScope keeps one caller's keys apart from another's, and one
// route's from another's. The route is the one matched, not the path as
// sent: routes match case-insensitively and with or without a trailing
// slash, so /V1/DOSES/ is /v1/doses and shares its keys. The route's
// parameters (an appointment's id) are part of the scope, as sent. A route
// without parameters hashes what it hashed when this was c.Path(), so keys
// taken before an upgrade still replay after it.
func idempotencyScope(c *fiber.Ctx) string {
	r := c.Route()
	h := sha256.New()
	io.WriteString(h, caller(c).KeyID+" "+c.Method()+" "+r.Path)
	for _, p := range r.Params {
		v := c.Params(p)
		fmt.Fprintf(h, " %d:%s", len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
