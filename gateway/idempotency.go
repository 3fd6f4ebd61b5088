package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/store"
)

// idempotencyTTL is how long a key's first answer is kept for its repeats.
const idempotencyTTL = 24 * time.Hour

// Every route that takes an Idempotency-Key keeps its answers in the same
// step as its change: a repeat with the same body gets the first answer
// (Idempotent-Replayed: true) and changes nothing; the same key with
// another body is refused; a retry after a crash is answered at once,
// since no key is ever held by a request still running. The refusals kept
// are those that say the state (409 exists, already_booked, not_active…);
// a failure that changed nothing (bad input, not found, a spent limit,
// 5xx) keeps nothing, so a corrected retry runs, as clients of idempotent
// APIs expect.

// idempotencyKey reads the request's Idempotency-Key; nil without one.
func idempotencyKey(c *fiber.Ctx) (*store.IdempotencyKey, error) {
	key := c.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 255 {
		return nil, newAPIErr(http.StatusBadRequest, "bad_request", "Idempotency-Key must be at most 255 characters.")
	}
	return &store.IdempotencyKey{Scope: idempotencyScope(c), Key: key, Fingerprint: fingerprint(c.Body()), TTL: idempotencyTTL}, nil
}

// keptAs renders what a step keeps for its key: view(v) answered with
// status, and the answer to refusal — byte for byte what the handler sends
// (encoding/json, as fiber's encoder).
func keptAs[T any](status int, refusal error, view func(T) any) store.Kept[T] {
	return func(v T) (store.Replay, store.Replay, error) {
		done, err := json.Marshal(view(v))
		if err != nil {
			return store.Replay{}, store.Replay{}, err
		}
		refused, err := apiError(refusal).replay()
		return store.Replay{Status: status, Body: done}, refused, err
	}
}

// fingerprint identifies a request body; JSON is compared by content, so
// a client that re-encodes the same request is not refused.
func fingerprint(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err == nil {
		if canon, err := json.Marshal(v); err == nil {
			body = canon
		}
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
