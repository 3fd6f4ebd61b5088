package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/store"
)

// idempotencyTTL is how long a key's first answer is kept for its repeats.
const idempotencyTTL = 24 * time.Hour

// idempotencyLease bounds how long a request may hold its key unanswered
// without renewing it: a process that died mid-request leaves its key held
// for at most this long, so the client's retry runs within seconds. A
// request still running renews it every idempotencyRenew.
const (
	idempotencyLease = 5 * time.Second
	idempotencyRenew = idempotencyLease / 3
)

// idempotencyWait is how long a repeat waits for the first request, still
// running, before it is told to retry.
const idempotencyWait = 5 * time.Second

// BeginIdempotent claims an idempotency key; see store.BeginIdempotent.
func (g *Gateway) BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (*store.Replay, error) {
	r, err := g.store.BeginIdempotent(ctx, scope, key, fingerprint, idempotencyLease)
	if err != nil {
		return nil, storeErr("idempotency", err)
	}
	return r, nil
}

// keptRefusals are the refusals worth replaying: the request ran and may
// have changed something (a wrong code spends an attempt). Other 4xx
// answers changed nothing, so the key is freed and a corrected retry runs,
// as clients of idempotent APIs expect.
var keptRefusals = map[int]bool{http.StatusConflict: true, http.StatusUnprocessableEntity: true, http.StatusLocked: true}

// FinishIdempotent keeps the first answer; a failure that changed nothing
// (bad input, not found, 5xx) frees the key instead.
func (g *Gateway) FinishIdempotent(ctx context.Context, scope, key, fingerprint string, r store.Replay) {
	if r.Status >= 400 && !keptRefusals[r.Status] {
		if err := g.store.AbandonIdempotent(ctx, scope, key, fingerprint); err != nil {
			g.log.Error("idempotency key not freed", "err", err)
		}
		return
	}
	kept, err := g.store.FinishIdempotent(ctx, scope, key, fingerprint, r, idempotencyTTL)
	if err != nil || !kept {
		g.log.Error("idempotency answer not kept", "lapsed", !kept, "err", err)
	}
}

// idempotent makes a route safe to repeat with an Idempotency-Key header: a
// repeat with the same body gets the first answer and changes nothing; the
// same key with a different body is refused.
func (s *server) idempotent(c *fiber.Ctx) error {
	idem, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	if idem == nil {
		return c.Next()
	}
	scope, key, fp := idem.Scope, idem.Key, idem.Fingerprint
	ctx := c.UserContext()
	deadline := time.Now().Add(idempotencyWait)
	for {
		replay, err := s.gw.BeginIdempotent(ctx, scope, key, fp)
		if errors.Is(err, store.ErrIdempotencyRunning) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(25 * time.Millisecond):
				continue
			}
		}
		if err != nil {
			return err
		}
		if replay != nil {
			c.Set("Idempotent-Replayed", "true")
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Status(replay.Status).Send(replay.Body)
		}
		break
	}
	stopRenewing := s.gw.renewIdempotent(ctx, scope, key, fp)
	defer stopRenewing()
	defer func() {
		if p := recover(); p != nil {
			// Free the key so the client's retry runs, then let the
			// recover middleware answer 500.
			s.gw.FinishIdempotent(context.WithoutCancel(ctx), scope, key, fp, store.Replay{Status: http.StatusInternalServerError})
			panic(p)
		}
	}()
	if err := c.Next(); err != nil {
		// Answer now, so that the answer kept is the one the client sees.
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	s.gw.FinishIdempotent(context.WithoutCancel(ctx), scope, key, fp, store.Replay{
		Status: c.Response().StatusCode(), Body: bytes.Clone(c.Response().Body()),
	})
	return nil
}

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

// renewIdempotent keeps a running request's claim on its key alive until
// the returned stop is called.
func (g *Gateway) renewIdempotent(ctx context.Context, scope, key, fp string) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(idempotencyRenew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotencyRenew)
				if err := g.store.RenewIdempotent(rctx, scope, key, fp, idempotencyLease); err != nil {
					g.log.Warn("idempotency claim not renewed", "err", err)
				}
				cancel()
			}
		}
	}()
	return func() { close(done) }
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
