package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// fingerprint, in the form the idempotency middleware kept keys before
// every keyed route kept its answers in its own step (keptAnswersLua, the
// dose step): those steps still read such keys, as processes of the
// earlier release may leave them during an upgrade. A nil Replay and nil
// error mean the caller goes ahead and must then call FinishIdempotent.
// The claim lapses after lease, so a request that died mid-way does not
// block its key.
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

// Kept renders what an idempotent step keeps for its key's repeats once
// the record the step makes (or the message it sends) is known: the
// answer to the change done and to the refusal the step keeps, as sent.
type Kept[T any] func(v T) (done, refused Replay, err error)

// keptFor is idem with the answers kept renders for v, as keptAnswersLua
// reads them: the key, then its fingerprint, TTL and the two answers; no
// key and an empty fingerprint without idem. It is keptAnswers, the
// booking's and the cancel's, for a step that is not an appointment's.
func keptFor[T any](s *Store, v T, idem *IdempotencyKey, kept Kept[T]) ([]string, []any, error) {
	var answers Answers
	if kept != nil {
		answers = func(Appointment, string) (Replay, Replay, error) { return kept(v) }
	}
	return s.keptAnswers(Appointment{}, "", true, idem, answers)
}

// keptAnswersAt is keptAnswersLua for a step whose idempotency key is
// KEYS[n] (keptAnswersLua's own steps have it at KEYS[7]).
func keptAnswersAt(n int) string {
	return strings.ReplaceAll(keptAnswersLua, "KEYS[7]", "KEYS["+strconv.Itoa(n)+"]")
}
