package store

// What only tests call: the earlier release's way of keeping an
// Idempotency-Key (every keyed route now keeps its answer in its own step,
// which still reads keys kept this way during an upgrade), and single
// writes that production makes inside larger steps.

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplaceCode gives a booked appointment a new code and lifts a lock.
func (s *Store) ReplaceCode(ctx context.Context, id, code string) error {
	sealed, err := s.codes.seal(code, id)
	if err != nil {
		return fmt.Errorf("replace code: %w", err)
	}
	n, err := replaceCodeScript.Run(ctx, s.rdb, []string{s.appointmentKey(id)},
		sealed, s.codeHash.sum(id, code), s.now().UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("replace code: %w", err)
	}
	switch n {
	case -1:
		return ErrNotFound
	case 0:
		return ErrNotActive
	}
	return nil
}

var replaceCodeScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return -1 end
if st ~= 'booked' then return 0 end
redis.call('HSET', KEYS[1], 'code_sealed', ARGV[1], 'code_hash', ARGV[2], 'attempts', 0, 'updated_at', ARGV[3])
return 1
`)

// RecordUSSD notes a step of a USSD session in the mobile's history.
func (s *Store) RecordUSSD(ctx context.Context, st USSDStep) error {
	if _, err := s.ussdStep(ctx, st, false); err != nil {
		return fmt.Errorf("record ussd: %w", err)
	}
	return nil
}

// CreateCenter stores c; ErrExists when its id is taken.
func (s *Store) CreateCenter(ctx context.Context, c Center) (Center, error) {
	return s.CreateCenterOnce(ctx, c, nil, nil)
}

// CreateBeneficiary registers b under a fresh 14-digit id; ErrMobileLimit
// when its mobile already has maxPerMobile beneficiaries.
func (s *Store) CreateBeneficiary(ctx context.Context, b Beneficiary, maxPerMobile int) (Beneficiary, error) {
	return s.CreateBeneficiaryOnce(ctx, b, maxPerMobile, nil, nil)
}

// AllowResend spends one of the perHour resends allowed for subject (an
// appointment or beneficiary). When none is left it reports how long to wait.
func (s *Store) AllowResend(ctx context.Context, subject string, perHour int) (bool, time.Duration, error) {
	ok, wait, err := s.allowInWindow(ctx, s.resendLimitKey(subject), perHour, time.Hour)
	if err != nil {
		return false, 0, fmt.Errorf("resend limit: %w", err)
	}
	return ok, wait, nil
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
func (s *Store) BeginIdempotent(ctx context.Context, tag, scope, key, fingerprint string, lease time.Duration) (*Replay, error) {
	res, err := beginIdempotentScript.Run(ctx, s.rdb, []string{s.idempotencyKey(tag, scope, key)},
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
func (s *Store) FinishIdempotent(ctx context.Context, tag, scope, key, fingerprint string, r Replay, ttl time.Duration) (bool, error) {
	n, err := finishIdempotentScript.Run(ctx, s.rdb, []string{s.idempotencyKey(tag, scope, key)},
		fingerprint, r.Status, r.Body, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("finish idempotent request: %w", err)
	}
	return n == 1, nil
}

// testTag is a shard's tag for test records that belong to no citizen.
var testTag = tag("100")

// mobilesOfOneShard returns n Indian mobiles of one shard.
func mobilesOfOneShard(n int) []string {
	var out []string
	want := ""
	for i := 0; len(out) < n; i++ {
		m := fmt.Sprintf("+91987%07d", i)
		if want == "" {
			want = shardOfMobile(m)
		}
		if shardOfMobile(m) == want {
			out = append(out, m)
		}
	}
	return out
}

// shardIndex is the position of shard among all (shardAt's inverse).
func shardIndex(shard string) int {
	n, _ := strconv.Atoi(shard)
	return n - firstShard
}
