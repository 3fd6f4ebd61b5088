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

// deadLetterScript lists a dead letter: member, its description, when
// (ms); and forgets up to 100 listed more than retention ms ago, whose
// messages have expired with their records, so the list stays bounded.
// KEYS: dead, dead info (one slot). ARGV: member, description, now ms,
// retention ms.
var deadLetterScript = redis.NewScript(`
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[3]) - tonumber(ARGV[4])), 'LIMIT', 0, 100)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// addDeadLetter lists d. The dead letters are one list that an admin
// reads, on a slot of their own: a step that gives up on a message or a
// debt answers so, and the letter is written after it. A crash in between
// leaves the message failed (or the debt owed, tried again) without a
// letter.
func (s *Store) addDeadLetter(ctx context.Context, d DeadLetter) error {
	info, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	err = deadLetterScript.Run(ctx, s.rdb, []string{s.deadKey(), s.deadInfoKey()},
		d.ID, info, d.AtMS, s.retention.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", d.ID, err)
	}
	return nil
}

// debtFailedScript counts a failed payment of a debt; the last allowed
// (or a permanent failure) takes it out of the owed set, and the caller
// lists it as a dead letter. KEYS: owed, tries (the debt's shard). ARGV:
// notification, max tries, permanent ('1'). Answer: 0, or the tries of a
// debt given up.
var debtFailedScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local tries = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if ARGV[3] ~= '1' and tries < tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return tries
`)

// DebtFailed counts a failed payment of debt n (still owed). It reports
// whether the debt became a dead letter: at MaxDebtTries failures, or at
// once when permanent (it cannot succeed without a fix).
func (s *Store) DebtFailed(ctx context.Context, n, reason string, permanent bool) (bool, error) {
	flag := ""
	if permanent {
		flag = "1"
	}
	shard, err := s.notificationShard(ctx, n)
	if err != nil {
		return false, fmt.Errorf("debt failed: %w", err)
	}
	tries, err := debtFailedScript.Run(ctx, s.rdb, []string{s.notificationsKey(shard), s.debtTriesKey(shard)},
		n, MaxDebtTries, flag).Int()
	if err != nil {
		return false, fmt.Errorf("debt failed: %w", err)
	}
	if tries == 0 {
		return false, nil
	}
	err = s.addDeadLetter(ctx, DeadLetter{ID: "debt:" + n, Kind: DeadDebt, Ref: n, Reason: reason, Tries: tries,
		AtMS: s.now().UnixMilli()})
	if err != nil {
		return true, fmt.Errorf("debt failed: %w", err)
	}
	return true, nil
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

// takeDeadLetterScript takes a dead letter off the list, if it is still
// listed (one retry wins). KEYS: dead, dead info. ARGV: member.
var takeDeadLetterScript = redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)

// takeDeadLetter takes the dead letter member off the list; ErrRetried
// when another retry took it first.
func (s *Store) takeDeadLetter(ctx context.Context, member string) error {
	n, err := takeDeadLetterScript.Run(ctx, s.rdb, []string{s.deadKey(), s.deadInfoKey()}, member).Int()
	if err != nil {
		return fmt.Errorf("retry dead letter: %w", err)
	}
	if n == 0 {
		return ErrRetried
	}
	return nil
}

// retryMessageScript records the new message that retries a dead one,
// queued and pending like any new message. KEYS: message, history,
// pending. ARGV: message id, retention ms, history limit, now ms, fields.
var retryMessageScript = redis.NewScript(recordMessageLua + `
record_message(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], {unpack(ARGV, 5)})
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
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
		// Owed again first, then off the list: a crash in between leaves
		// it owed and listed, and owing the same debt twice is owing it
		// once.
		shard, err := s.notificationShard(ctx, d.Ref)
		if err != nil {
			return "", fmt.Errorf("retry dead letter: %w", err)
		}
		if err := s.rdb.ZAdd(ctx, s.notificationsKey(shard), redis.Z{Score: 0, Member: d.Ref}).Err(); err != nil {
			return "", fmt.Errorf("retry dead letter: %w", err)
		}
		return "", s.takeDeadLetter(ctx, id)
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
	shard := shardOfMobile(m.To)
	again, fields, err := s.messageRecord(nm, newMessageID(shard, now), now)
	if err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	// Off the list first, so that two retries cannot both send: a crash
	// before the new message is recorded loses the retry (the old
	// message stays failed, and the admin may send it again).
	if err := s.takeDeadLetter(ctx, member); err != nil {
		return "", err
	}
	args := append([]any{again.ID, s.retention.Milliseconds(), s.historyLimit, now.UnixMilli()}, fields...)
	err = retryMessageScript.Run(ctx, s.rdb, []string{s.messageKey(again.ID), s.historyKey(again.To), s.pendingKey(shard)}, args...).Err()
	if err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	return again.ID, nil
}
