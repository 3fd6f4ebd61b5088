package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Idempotency outcomes for a request that carries a key already seen.
var (
	ErrIdempotencyMismatch = errors.New("idempotency key reused with another request")
	ErrIdempotencyRunning  = errors.New("a request with this idempotency key is in progress")
)

// Replay is the first answer to a request, given again to its repeats.
type Replay struct {
	Status int
	Body   []byte
}

// beginIdempotentScript claims a key for a request fingerprint or answers
// with what the first request left: {0} go ahead, {1} mismatch,
// {2} running, {3, status, body} replay.
var beginIdempotentScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'fp', 'status', 'body')
if not h[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {0}
end
if h[1] ~= ARGV[1] then return {1} end
if not h[2] then return {2} end
return {3, h[2], h[3]}
`)

// BeginIdempotent claims (scope, key) for a request whose content hashes to
// fingerprint. A nil Replay and nil error mean the caller goes ahead and
// must then call FinishIdempotent or AbandonIdempotent. The claim lapses
// after lease, so a request that died mid-way does not block its key.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string, lease time.Duration) (*Replay, error) {
	res, err := beginIdempotentScript.Run(ctx, s.rdb, []string{s.idempotencyKey(scope, key)},
		fingerprint, lease.Milliseconds()).Slice()
	if err != nil {
		return nil, fmt.Errorf("begin idempotent request: %w", err)
	}
	switch res[0].(int64) {
	case 0:
		return nil, nil
	case 1:
		return nil, ErrIdempotencyMismatch
	case 2:
		return nil, ErrIdempotencyRunning
	}
	st, _ := res[1].(string)
	body, _ := res[2].(string)
	status, _ := strconv.Atoi(st)
	return &Replay{Status: status, Body: []byte(body)}, nil
}

// finishIdempotentScript keeps an answer only while the request that
// computed it still holds the key: after its lease lapsed another request
// may have claimed it, and must not be handed this answer.
var finishIdempotentScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'fp', 'status')
if h[1] ~= ARGV[1] or h[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'body', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// FinishIdempotent keeps the answer of the request with fingerprint for its
// repeats, for ttl. It reports whether the answer was kept: not when the
// request's claim had lapsed.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key, fingerprint string, r Replay, ttl time.Duration) (bool, error) {
	n, err := finishIdempotentScript.Run(ctx, s.rdb, []string{s.idempotencyKey(scope, key)},
		fingerprint, r.Status, r.Body, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("finish idempotent request: %w", err)
	}
	return n == 1, nil
}

var abandonIdempotentScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'fp', 'status')
if h[1] ~= ARGV[1] or h[2] then return 0 end
return redis.call('DEL', KEYS[1])
`)

// AbandonIdempotent frees the key after a failure worth retrying, if the
// request with fingerprint still holds it unanswered.
func (s *Store) AbandonIdempotent(ctx context.Context, scope, key, fingerprint string) error {
	if err := abandonIdempotentScript.Run(ctx, s.rdb, []string{s.idempotencyKey(scope, key)}, fingerprint).Err(); err != nil {
		return fmt.Errorf("abandon idempotent request: %w", err)
	}
	return nil
}

// renewIdempotentScript extends a running request's claim, if it still
// holds the key unanswered.
var renewIdempotentScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'fp', 'status')
if h[1] ~= ARGV[1] or h[2] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`)

// RenewIdempotent extends the claim of the request with fingerprint on
// (scope, key) to lease from now, while it runs.
func (s *Store) RenewIdempotent(ctx context.Context, scope, key, fingerprint string, lease time.Duration) error {
	if err := renewIdempotentScript.Run(ctx, s.rdb, []string{s.idempotencyKey(scope, key)}, fingerprint, lease.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("renew idempotent request: %w", err)
	}
	return nil
}
