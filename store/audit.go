package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// AuditEntry records who did what to whom.
type AuditEntry struct {
	At        time.Time `json:"at"`
	ActorID   string    `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Role      Role      `json:"role"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Detail    string    `json:"detail,omitempty"`
}

// auditLimit bounds the trail; older entries fall off.
const auditLimit = 100_000

// Audit appends an entry to the trail.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	e.At = s.now().UTC()
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, s.auditKey(), raw)
		p.LTrim(ctx, s.auditKey(), 0, auditLimit-1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditTrail returns up to limit entries, newest first.
func (s *Store) AuditTrail(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		return nil, nil // LRANGE 0 -1 would read the whole trail
	}
	raws, err := s.rdb.LRange(ctx, s.auditKey(), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	out := make([]AuditEntry, 0, len(raws))
	for _, raw := range raws {
		var e AuditEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("read audit trail: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// slidingWindowScript is a sliding-window log: at most ARGV[3] events in
// any window of ARGV[2] ms. A token bucket (redis_rate) would let a fourth
// resend through twenty minutes after three, which "3 per hour" forbids.
// Returns {1} or {0, ms to wait}.
var slidingWindowScript = redis.NewScript(`
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1}
`)

// AllowResend spends one of the perHour resends allowed for subject (an
// appointment or beneficiary). When none is left it reports how long to wait.
func (s *Store) AllowResend(ctx context.Context, subject string, perHour int) (bool, time.Duration, error) {
	ok, wait, err := s.allowInWindow(ctx, s.resendLimitKey(subject), perHour, time.Hour)
	if err != nil {
		return false, 0, fmt.Errorf("resend limit: %w", err)
	}
	return ok, wait, nil
}

// allowInWindow records an event under key unless limit events already
// happened in the last window; then it says how long until one drops out.
func (s *Store) allowInWindow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if limit <= 0 {
		return false, 0, fmt.Errorf("limit %d is not positive", limit)
	}
	now := s.now()
	res, err := slidingWindowScript.Run(ctx, s.rdb, []string{key},
		now.UnixMilli(), window.Milliseconds(), limit, newMessageID(now)).Slice()
	if err != nil {
		return false, 0, err
	}
	if res[0].(int64) == 1 {
		return true, 0, nil
	}
	wait, _ := res[1].(int64)
	return false, time.Duration(max(wait, 1)) * time.Millisecond, nil
}
