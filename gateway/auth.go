package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
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

// idempotencyScope keeps one caller's keys apart from another's.
func idempotencyScope(c *fiber.Ctx) string {
	sum := sha256.Sum256([]byte(caller(c).KeyID + " " + c.Method() + " " + c.Path()))
	return hex.EncodeToString(sum[:12])
}
