package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A dead letter is an SMS the gateway gave up on: a message that failed
// for good (every provider refused it, or its retries ran out) or a debt —
// an SMS owed for a change already made — that could not be rendered and
// queued. Both stay listed for an admin to read and, after a fix, retry.
// A message that failed by the programme's rules (opted out, expired OTP)
// is not one.

// DeadLetter kinds.
const (
	DeadMessage = "message"
	DeadDebt    = "debt"
)

// DeadLetter is one entry of the list.
type DeadLetter struct {
	ID       string    `json:"id"`   // "msg:<message id>" or "debt:<notification>"
	Kind     string    `json:"kind"` // DeadMessage or DeadDebt
	Ref      string    `json:"ref"`  // the message id, or the notification owed
	Template string    `json:"template,omitempty"`
	To       string    `json:"to,omitempty"` // E.164, for a message
	Reason   string    `json:"reason"`       // the provider's or our error code; a debt's error
	Tries    int       `json:"tries,omitempty"`
	At       time.Time `json:"-"`
	AtMS     int64     `json:"at"`
}

// MaxDebtTries is how many failed payments make a debt a dead letter. The
// sweeper tries a debt once per lease (2 minutes), so about 20 minutes.
const MaxDebtTries = 10

// deadLetterLua lists a dead letter: member, its description, when (ms);
// and forgets up to 100 listed more than retention ms ago, whose messages
// have expired with their records, so the list stays bounded.
const deadLetterLua = `
local function dead_letter(kdead, kinfo, member, info, now, retention)
  local old = redis.call('ZRANGEBYSCORE', kdead, '-inf', '(' .. (tonumber(now) - tonumber(retention)), 'LIMIT', 0, 100)
  if #old > 0 then
    redis.call('ZREM', kdead, unpack(old))
    redis.call('HDEL', kinfo, unpack(old))
  end
  redis.call('ZADD', kdead, now, member)
  redis.call('HSET', kinfo, member, info)
end
`

// debtFailedScript counts a failed payment of a debt; the last allowed
// (or a permanent failure) moves it from the owed set to the dead letters.
// KEYS: owed, tries, dead, dead info. ARGV: notification, max tries,
// permanent ('1'), reason, now ms, retention ms.
var debtFailedScript = redis.NewScript(deadLetterLua + `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local tries = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if ARGV[3] ~= '1' and tries < tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
dead_letter(KEYS[3], KEYS[4], 'debt:' .. ARGV[1],
  cjson.encode({id='debt:' .. ARGV[1], kind='debt', ref=ARGV[1], reason=ARGV[4], tries=tries, at=tonumber(ARGV[5])}), ARGV[5], ARGV[6])
return 1
`)

// DebtFailed counts a failed payment of debt n (still owed). It reports
// whether the debt became a dead letter: at MaxDebtTries failures, or at
// once when permanent (it cannot succeed without a fix).
func (s *Store) DebtFailed(ctx context.Context, n, reason string, permanent bool) (bool, error) {
	flag := ""
	if permanent {
		flag = "1"
	}
	dead, err := debtFailedScript.Run(ctx, s.rdb, []string{s.notificationsKey(), s.debtTriesKey(), s.deadKey(), s.deadInfoKey()},
		n, MaxDebtTries, flag, reason, s.now().UnixMilli(), s.retention.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("debt failed: %w", err)
	}
	return dead == 1, nil
}

// DeadLetters lists up to limit dead letters, newest first, and how many
// there are in all.
func (s *Store) DeadLetters(ctx context.Context, limit int64) ([]DeadLetter, int64, error) {
	var ids *redis.StringSliceCmd
	var total *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ids = p.ZRevRange(ctx, s.deadKey(), 0, limit-1)
		total = p.ZCard(ctx, s.deadKey())
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("dead letters: %w", err)
	}
	if len(ids.Val()) == 0 {
		return nil, total.Val(), nil
	}
	raw, err := s.rdb.HMGet(ctx, s.deadInfoKey(), ids.Val()...).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(raw))
	for i, r := range raw {
		d := DeadLetter{ID: ids.Val()[i], Reason: "unknown"}
		if r, ok := r.(string); ok {
			if err := json.Unmarshal([]byte(r), &d); err != nil {
				d.Reason = "unreadable entry"
			}
		}
		d.At = time.UnixMilli(d.AtMS).UTC()
		out = append(out, d)
	}
	return out, total.Val(), nil
}

// DeadLetterCount is how many dead letters wait.
func (s *Store) DeadLetterCount(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.deadKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("dead letters: %w", err)
	}
	return n, nil
}

// DeadLetter reads one dead letter; ErrNotFound when it is not listed.
func (s *Store) DeadLetter(ctx context.Context, id string) (DeadLetter, error) {
	raw, err := s.rdb.HGet(ctx, s.deadInfoKey(), id).Result()
	if errors.Is(err, redis.Nil) {
		return DeadLetter{}, ErrNotFound
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dead letter: %w", err)
	}
	var d DeadLetter
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, err)
	}
	d.ID, d.At = id, time.UnixMilli(d.AtMS).UTC()
	return d, nil
}

// retryDebtScript puts a dead debt back in the owed set, due at once, if
// it is still a dead letter (one retry wins). KEYS: dead, dead info, owed.
// ARGV: member, notification.
var retryDebtScript = redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
`)

// retryMessageScript records the new message that retries a dead one, if
// the dead letter is still listed (one retry wins), queued and pending
// like any new message. KEYS: dead, dead info, message, history, pending.
// ARGV: member, message id, retention ms, history limit, now ms, fields.
var retryMessageScript = redis.NewScript(recordMessageLua + `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
record_message(KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[4], {unpack(ARGV, 6)})
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[2])
return 1
`)

// ErrRetried: the dead letter was retried (or is gone) already.
var ErrRetried = errors.New("dead letter already retried")

// RetryDeadLetter takes a dead letter off the list and tries again: a debt
// is owed again, due at once (the sweeper pays it); a message is sent
// again as a new message, the same text to the same mobile, whose id is
// returned (the caller queues it). The old message stays failed: a status
// never moves back. ErrNotFound when no such dead letter; ErrRetried when
// another retry took it first.
func (s *Store) RetryDeadLetter(ctx context.Context, id string) (string, error) {
	d, err := s.DeadLetter(ctx, id)
	if err != nil {
		return "", err
	}
	switch d.Kind {
	case DeadDebt:
		n, err := retryDebtScript.Run(ctx, s.rdb, []string{s.deadKey(), s.deadInfoKey(), s.notificationsKey()}, id, d.Ref).Int()
		if err != nil {
			return "", fmt.Errorf("retry dead letter: %w", err)
		}
		if n == 0 {
			return "", ErrRetried
		}
		return "", nil
	case DeadMessage:
		return s.retryMessage(ctx, id, d.Ref)
	}
	return "", fmt.Errorf("retry dead letter %s: unknown kind %q", id, d.Kind)
}

// ErrExpired: the dead message was valid for a while only (an OTP) and
// that while is over; sending it now would help no one.
var ErrExpired = errors.New("the message has expired")

func (s *Store) retryMessage(ctx context.Context, member, id string) (string, error) {
	m, err := s.Message(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// Its record expired with the retention: nothing to send again.
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, s.deadKey(), member)
			p.HDel(ctx, s.deadInfoKey(), member)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("retry dead letter: %w", err)
		}
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	now := s.now()
	if !m.ExpiresAt.IsZero() && now.After(m.ExpiresAt) {
		return "", ErrExpired
	}
	body, err := s.SendBody(ctx, id)
	if err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	nm := NewMessage{To: m.To, Template: m.Template, Language: m.Language, Body: body, Encoding: m.Encoding,
		Segments: m.Segments, DLTTemplateID: m.DLTTemplateID, Priority: m.Priority}
	if body != m.Body {
		nm.Masked = m.Body
	}
	if !m.ExpiresAt.IsZero() {
		nm.ValidFor = m.ExpiresAt.Sub(now)
	}
	again, fields, err := s.messageRecord(nm, newMessageID(now), now)
	if err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	args := append([]any{member, again.ID, s.retention.Milliseconds(), s.historyLimit, now.UnixMilli()}, fields...)
	n, err := retryMessageScript.Run(ctx, s.rdb, []string{s.deadKey(), s.deadInfoKey(), s.messageKey(again.ID),
		s.historyKey(again.To), s.pendingKey()}, args...).Int()
	if err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	if n == 0 {
		return "", ErrRetried
	}
	return again.ID, nil
}
