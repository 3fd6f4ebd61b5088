package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	Reason    string    `json:"reason,omitempty"` // why staff acted, in their words
	// Mobile is the citizen's mobile as shown (masked); MobileE164, never
	// stored in the entry, files it under the mobile for AuditQuery.
	Mobile     string `json:"mobile,omitempty"`
	MobileE164 string `json:"-"`
}

// auditLimit bounds the trail; older entries fall off. Each actor's and
// each mobile's index keeps its newest auditIndexLimit.
const (
	auditLimit      = 100_000
	auditIndexLimit = 1000
)

// Audit appends an entry to the trail and to the indexes of its actor and
// its mobile.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	e.At = s.now().UTC()
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		push := func(key string, limit int64) {
			p.LPush(ctx, key, raw)
			p.LTrim(ctx, key, 0, limit-1)
		}
		push(s.auditKey(), auditLimit)
		if e.ActorID != "" {
			push(s.auditActorKey(e.ActorID), auditIndexLimit)
		}
		if e.MobileE164 != "" {
			push(s.auditMobileKey(s.apiKeyHash.sum("mobile", e.MobileE164)), auditIndexLimit)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditQuery narrows a read of the trail; empty fields match everything.
type AuditQuery struct {
	ActorID string
	Mobile  string // E.164
	Limit   int
}

// AuditSearch returns up to q.Limit entries matching q, newest first,
// from the newest auditIndexLimit entries of the mobile or the actor.
func (s *Store) AuditSearch(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	switch {
	case q.Mobile != "":
		// The index of entries made under a previous secret is read too.
		var all []AuditEntry
		for _, h := range s.apiKeyHashes("mobile", q.Mobile) {
			some, err := s.readAudit(ctx, s.auditMobileKey(h), auditIndexLimit)
			if err != nil {
				return nil, err
			}
			all = append(all, some...)
		}
		if len(s.previous) > 0 {
			slices.SortStableFunc(all, func(a, b AuditEntry) int { return b.At.Compare(a.At) })
		}
		out := all[:0]
		for _, e := range all {
			if (q.ActorID == "" || e.ActorID == q.ActorID) && len(out) < q.Limit {
				out = append(out, e)
			}
		}
		return out, nil
	case q.ActorID != "":
		return s.readAudit(ctx, s.auditActorKey(q.ActorID), q.Limit)
	}
	return s.readAudit(ctx, s.auditKey(), q.Limit)
}

// AuditTrail returns up to limit entries, newest first.
func (s *Store) AuditTrail(ctx context.Context, limit int) ([]AuditEntry, error) {
	return s.readAudit(ctx, s.auditKey(), limit)
}

func (s *Store) readAudit(ctx context.Context, key string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		return nil, nil // LRANGE 0 -1 would read the whole trail
	}
	raws, err := s.rdb.LRange(ctx, key, 0, int64(limit-1)).Result()
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
var slidingWindowScript = redis.NewScript(slidingWindowLua + `
return allow_in_window(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`)

// slidingWindowLua is the sliding-window log as a function, for every
// script that spends a limited event in the same step as its other work.
const slidingWindowLua = `
local function allow_in_window(key, now, window, limit, entry)
  now, window, limit = tonumber(now), tonumber(window), tonumber(limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now}
  end
  redis.call('ZADD', key, now, entry)
  redis.call('PEXPIRE', key, window)
  return {1}
end
`

// ResendsLeft is how many of the perHour resends of subject are left now.
func (s *Store) ResendsLeft(ctx context.Context, subject string, perHour int) (int, error) {
	_, id, _ := strings.Cut(subject, ":")
	s, err := s.locate(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("resends left: %w", err)
	}
	now := s.now()
	n, err := s.rdb.ZCount(ctx, s.resendLimitKey(subject), "("+strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("resends left: %w", err)
	}
	return max(perHour-int(n), 0), nil
}

// allowInWindow records an event under key unless limit events already
// happened in the last window; then it says how long until one drops out.
func (s *Store) allowInWindow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if limit <= 0 {
		return false, 0, fmt.Errorf("limit %d is not positive", limit)
	}
	now := s.now()
	res, err := slidingWindowScript.Run(ctx, s.rdb, []string{key},
		now.UnixMilli(), window.Milliseconds(), limit, newEntryID(now)).Slice()
	if err != nil {
		return false, 0, err
	}
	if res[0].(int64) == 1 {
		return true, 0, nil
	}
	wait, _ := res[1].(int64)
	return false, time.Duration(max(wait, 1)) * time.Millisecond, nil
}
