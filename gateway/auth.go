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
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/store"
)

const callerLocal = "sandesh.caller"

var errUnauthorized = newAPIErr(http.StatusUnauthorized, "unauthorized", "A valid API key is required: Authorization: Bearer <key>.")

// authenticate resolves the presented key: the bootstrap admin key from
// config, else a stored key.
func (s *server) authenticate(c *fiber.Ctx) (Caller, error) {
	return s.authenticateFrom(c.UserContext(), bearer(c), c.IP())
}

// authenticateKey resolves an API key typed into a page's sign-in form;
// the page's routes put the sender's address in ctx (withClientAddr).
func (s *server) authenticateKey(ctx context.Context, key string) (Caller, error) {
	return s.authenticateFrom(ctx, key, clientAddr(ctx))
}

// authenticateFrom resolves an API key however it was presented. A key
// presented and refused is counted against its sender's address from
// (wrongKey).
func (s *server) authenticateFrom(ctx context.Context, key, from string) (Caller, error) {
	if key == "" {
		return Caller{}, errUnauthorized
	}
	if len(key) > 200 {
		return Caller{}, s.wrongKey(from)
	}
	if s.opts.AdminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AdminKey)) == 1 {
		return Caller{KeyID: "admin", Name: "bootstrap admin key", Role: store.RoleAdmin}, nil
	}
	who, err := s.gw.Authenticate(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return Caller{}, s.wrongKey(from)
	}
	return who, err
}

// wrongKeysPerMinute is how many refused keys one address may send a
// minute to one web process (in memory: a flood of junk costs Redis
// nothing, and bad input changes nothing there) before they are
// answered 429.
const wrongKeysPerMinute = 60

// wrongKey answers a key that was presented and refused: 401, or 429
// with Retry-After once its address has sent wrongKeysPerMinute this
// minute. A right key is never refused for its address — behind a proxy
// every client shares one, and a guesser must not be able to lock the
// others out — so this throttles the guessing (whose chance against a
// 192-bit key is nil anyway) and the log: the first refusal per address
// per minute is logged at warn, with how many of the minute before were
// not.
func (s *server) wrongKey(from string) error {
	now := time.Now()
	w := s.wrongKeys.note(from, now)
	if w.first {
		s.log.Warn("API key refused; more from this address this minute are not logged", "from", from, "not_logged_before", max(w.prev-1, 0))
	}
	if w.n > wrongKeysPerMinute {
		return &RateLimitedError{RetryAfter: w.ends.Sub(now)}
	}
	return errUnauthorized
}

type clientAddrKey struct{}

// withClientAddr puts the request's source address in its context, for
// the pages' sign-in, which runs without the fiber context.
func withClientAddr(c *fiber.Ctx) error {
	c.SetUserContext(context.WithValue(c.UserContext(), clientAddrKey{}, c.IP()))
	return c.Next()
}

func clientAddr(ctx context.Context) string {
	if a, ok := ctx.Value(clientAddrKey{}).(string); ok {
		return a
	}
	return "unknown"
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
