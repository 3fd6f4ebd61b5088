package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// WebSession is a signed-in browser: who it acts as, and its CSRF token.
// Only a keyed hash of the session id is used as the Redis key, so a dump
// of Redis does not hand out live sessions.
type WebSession struct {
	ID       string
	KeyID    string
	Name     string
	Role     Role
	CenterID string
	CSRF     string
}

// CreateWebSession starts a session for an API key's holder. It ends after
// idle without a request (each load restarts the clock), when its key is
// revoked, or at sign-out.
func (s *Store) CreateWebSession(ctx context.Context, ws WebSession, idle time.Duration) (WebSession, error) {
	if idle <= 0 {
		return WebSession{}, fmt.Errorf("create session: idle timeout %s is not positive", idle)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return WebSession{}, fmt.Errorf("create session: %w", err)
	}
	ws.ID, ws.CSRF = hex.EncodeToString(raw[:16]), hex.EncodeToString(raw[16:])
	key := s.sessionKey(s.apiKeyHash.sum("session", ws.ID))
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "key_id", ws.KeyID, "name", ws.Name, "role", string(ws.Role), "center", ws.CenterID,
			"csrf", ws.CSRF, "idle_ms", idle.Milliseconds(), "kid", s.id)
		p.PExpire(ctx, key, idle)
		return nil
	})
	if err != nil {
		return WebSession{}, fmt.Errorf("create session: %w", err)
	}
	return ws, nil
}

// loadSessionScript reads a session and restarts its idle clock; a
// session whose API key has since been revoked is ended instead.
// KEYS: API-key index, then the session under each secret's hash of its
// id (the current secret's first). ARGV: API-key hash prefix.
var loadSessionScript = redis.NewScript(`
for k = 2, #KEYS do
  local h = redis.call('HGETALL', KEYS[k])
  if #h > 0 then
    local f = {}
    for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
    local hash = redis.call('HGET', KEYS[1], f['key_id'])
    if f['key_id'] ~= '' and hash and redis.call('HEXISTS', ARGV[1] .. hash, 'revoked') == 1 then
      redis.call('DEL', KEYS[k])
      return {}
    end
    if f['idle_ms'] then redis.call('PEXPIRE', KEYS[k], f['idle_ms']) end
    return h
  end
end
return {}
`)

// sessionKeys are a session's keys under every secret, the current first.
func (s *Store) sessionKeys(id string) []string {
	hashes := s.apiKeyHashes("session", id)
	for i, h := range hashes {
		hashes[i] = s.sessionKey(h)
	}
	return hashes
}

// WebSession loads a live session and restarts its idle timeout;
// ErrNotFound when unknown, expired or its key revoked.
func (s *Store) WebSession(ctx context.Context, id string) (WebSession, error) {
	if len(id) != 32 {
		return WebSession{}, ErrNotFound
	}
	raw, err := loadSessionScript.Run(ctx, s.rdb,
		append([]string{s.apiKeyIndexKey()}, s.sessionKeys(id)...), s.apiKeyKey("")).StringSlice()
	if err != nil {
		return WebSession{}, fmt.Errorf("load session: %w", err)
	}
	if len(raw) == 0 {
		return WebSession{}, ErrNotFound
	}
	h := make(map[string]string, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		h[raw[i]] = raw[i+1]
	}
	return WebSession{ID: id, KeyID: h["key_id"], Name: h["name"], Role: Role(h["role"]), CenterID: h["center"], CSRF: h["csrf"]}, nil
}

// EndWebSession signs a session out.
func (s *Store) EndWebSession(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.sessionKeys(id)...).Err(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// SendBody opens a stored message's real text (codes and OTPs included).
// Only development tools (the simulator) show it.
func (s *Store) SendBody(ctx context.Context, id string) (string, error) {
	s, err := s.locate(ctx, id)
	if err != nil {
		return "", fmt.Errorf("open message: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.messageKey(id)).Result()
	if err != nil {
		return "", fmt.Errorf("open message: %w", err)
	}
	body, sealed := chunked(h, "body"), chunked(h, "body_sealed")
	if sealed == "" {
		return body, nil
	}
	plain, err := s.openBody(sealed, id)
	if err != nil {
		return "", fmt.Errorf("open message %s: %w", id, err)
	}
	return plain, nil
}

// CreateCardToken issues an unguessable token that shows a beneficiary's
// status card for ttl. Only its keyed hash is a Redis key.
func (s *Store) CreateCardToken(ctx context.Context, beneficiaryID string, ttl time.Duration) (string, error) {
	var raw [10]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("card token: %w", err)
	}
	token := hex.EncodeToString(raw[:])
	// The secret's id rides with the beneficiary, for SecretsStatus.
	if err := s.rdb.Set(ctx, s.cardKey(s.apiKeyHash.sum("card", token)), beneficiaryID+":"+s.id, ttl).Err(); err != nil {
		return "", fmt.Errorf("card token: %w", err)
	}
	return token, nil
}

// CardBeneficiary is the beneficiary a live card token shows.
func (s *Store) CardBeneficiary(ctx context.Context, token string) (string, error) {
	if len(token) != 20 {
		return "", ErrNotFound
	}
	// One GET a secret's hash, pipelined: the keys are on as many slots.
	hashes := s.apiKeyHashes("card", token)
	found := make([]*redis.StringCmd, len(hashes))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { // each GET carries its own error
		for i, h := range hashes {
			found[i] = p.Get(ctx, s.cardKey(h))
		}
		return nil
	})
	for _, c := range found {
		v, err := c.Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return "", fmt.Errorf("card token: %w", err)
		}
		id, _, _ := strings.Cut(v, ":") // a link from before secrets had ids has none
		return id, nil
	}
	return "", ErrNotFound
}
