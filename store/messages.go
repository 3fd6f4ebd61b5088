package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Status is where a message is in its life. It only ever moves forward:
// queued → sending → sent → delivered | undelivered | failed.
type Status string

// The statuses of a message.
const (
	StatusQueued      Status = "queued"
	StatusSending     Status = "sending"
	StatusSent        Status = "sent"
	StatusDelivered   Status = "delivered"
	StatusUndelivered Status = "undelivered"
	StatusFailed      Status = "failed"
	// StatusReceived marks an inbound message; it never moves.
	StatusReceived Status = "received"
)

// statusRank orders statuses; the three outcomes share the last rank, so the
// first outcome reported is final.
var statusRank = map[Status]int{
	StatusQueued: 0, StatusSending: 1, StatusSent: 2,
	StatusDelivered: 3, StatusUndelivered: 3, StatusFailed: 3,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { _, ok := statusRank[s]; return ok }

// Final reports whether nothing will change s any more.
func (s Status) Final() bool { return statusRank[s] == 3 }

// Priority is the queue class of a message.
type Priority string

// Priorities, strongest first: an OTP never waits behind a bulk backlog.
const (
	PriorityOTP           Priority = "otp"
	PriorityTransactional Priority = "transactional"
	PriorityBulk          Priority = "bulk"
)

// Priorities lists every priority, strongest first.
var Priorities = []Priority{PriorityOTP, PriorityTransactional, PriorityBulk}

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	return p == PriorityOTP || p == PriorityTransactional || p == PriorityBulk
}

// Message is an outbound SMS as stored. Body is the text safe to show
// (codes and OTPs masked); the text to send is only available from Claim.
type Message struct {
	ID                string            `json:"id"`
	Direction         string            `json:"direction"` // "out", or "in" for what a citizen sent
	From              string            `json:"from,omitempty"`
	To                string            `json:"to"`
	Template          string            `json:"template"`
	Language          string            `json:"language"`
	Body              string            `json:"body"`
	Encoding          string            `json:"encoding"`
	Segments          int               `json:"segments"`
	DLTTemplateID     string            `json:"dlt_template_id,omitempty"`
	Priority          Priority          `json:"priority"`
	Status            Status            `json:"status"`
	Provider          string            `json:"provider"`
	ProviderMessageID string            `json:"provider_message_id,omitempty"`
	Attempts          int               `json:"attempts"`
	ErrorCode         string            `json:"error_code,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	ExpiresAt         time.Time         `json:"expires_at,omitzero"`
	StatusTimes       map[Status]string `json:"status_times,omitempty"`
	// Prefer names the provider to try first (a reply goes out through the
	// provider that received the message).
	Prefer string `json:"-"`
	// Channel is "call" for a missed call (an inbound record with no body),
	// "" for an SMS.
	Channel string `json:"-"`

	sendBody string
}

// SendBody is the text to transmit, secrets included. It is set only on a
// message returned by Claim.
func (m Message) SendBody() string { return m.sendBody }

// Expired reports whether the message is past its validity (OTPs).
func (m Message) Expired(now time.Time) bool {
	return !m.ExpiresAt.IsZero() && now.After(m.ExpiresAt)
}

// NewMessage is what a flow hands over to be sent.
type NewMessage struct {
	To            string // E.164
	Template      string
	Language      string
	Body          string // the text to send
	Masked        string // Body with secrets replaced; "" means Body has none
	Encoding      string
	Segments      int
	DLTTemplateID string
	Priority      Priority
	ValidFor      time.Duration // 0: no expiry
	Prefer        string        // provider to try first, "" for the configured order
	// ID, when set, is the id reserved for the message (see
	// ConfirmationNotification); recording it again changes nothing.
	ID string
}

// CreateMessage stores a queued message and indexes it in the recipient's
// history and in the pending set. It must happen before the send task is
// enqueued, so a task always finds its record.
func (s *Store) CreateMessage(ctx context.Context, nm NewMessage) (Message, error) {
	ms, err := s.CreateMessages(ctx, "", nm)
	if err != nil {
		return Message{}, err
	}
	return ms[0], nil
}

// CreateMessages stores several queued messages in one step and, when
// settle names one, clears the debt they pay (see NotificationQueued): an
// answer recorded and its debt cleared together cannot be sent twice by a
// sweeper, nor lost.
func (s *Store) CreateMessages(ctx context.Context, settle string, nms ...NewMessage) ([]Message, error) {
	if len(nms) == 0 {
		return nil, errors.New("create message: no message")
	}
	// One step, one shard: the messages go to one mobile, and the debt
	// they settle is that mobile's.
	shard := shardOfMobile(nms[0].To)
	if settle != "" {
		owedIn, err := s.notificationShard(ctx, settle)
		if err != nil {
			return nil, fmt.Errorf("create message: %w", err)
		}
		if owedIn != shard {
			return nil, fmt.Errorf("create message: debt %q is not of the recipient's shard", settle)
		}
	}
	now := s.now()
	keys := []string{s.pendingKey(shard), s.notificationsKey(shard)}
	args := []any{s.retention.Milliseconds(), s.historyLimit, now.UnixMilli(), settle}
	out := make([]Message, 0, len(nms))
	for _, nm := range nms {
		if shardOfMobile(nm.To) != shard {
			return nil, errors.New("create message: messages in one step go to one mobile's shard")
		}
		id := nm.ID
		if id == "" {
			id = newMessageID(shard, now)
		} else if !validID(id) || shardOfID(id) != shard {
			return nil, fmt.Errorf("create message: bad id %q", id)
		}
		m, fields, err := s.messageRecord(nm, id, now)
		if err != nil {
			return nil, fmt.Errorf("create message: %w", err)
		}
		keys = append(keys, s.messageKey(m.ID), s.historyKey(m.To))
		args = append(args, m.ID, len(fields))
		args = append(args, fields...)
		out = append(out, m)
	}
	if err := s.ackedPath(ctx, createScript, keys, args...).Err(); err != nil {
		return nil, fmt.Errorf("create message: %w", err)
	}
	return out, nil
}

// messageRecord builds the message nm becomes under id, and the field
// pairs of its record: the body shown is masked, the body sent sealed.
func (s *Store) messageRecord(nm NewMessage, id string, now time.Time) (Message, []any, error) {
	if nm.To == "" || nm.Body == "" || !nm.Priority.Valid() {
		return Message{}, nil, fmt.Errorf("to, body and a valid priority are required")
	}
	m := Message{
		ID:            id,
		To:            nm.To,
		Template:      nm.Template,
		Language:      nm.Language,
		Body:          nm.Body,
		Encoding:      nm.Encoding,
		Segments:      nm.Segments,
		DLTTemplateID: nm.DLTTemplateID,
		Priority:      nm.Priority,
		Prefer:        nm.Prefer,
		Direction:     "out",
		Status:        StatusQueued,
		CreatedAt:     now,
		UpdatedAt:     now,
		StatusTimes:   map[Status]string{StatusQueued: now.UTC().Format(time.RFC3339Nano)},
		sendBody:      nm.Body,
	}
	if nm.ValidFor > 0 {
		m.ExpiresAt = now.Add(nm.ValidFor)
	}
	ms := now.UnixMilli()
	fields := []any{
		"id", m.ID, "to", m.To, "template", m.Template, "lang", m.Language,
		"encoding", m.Encoding, "segments", m.Segments,
		"dlt", m.DLTTemplateID, "priority", string(m.Priority),
		"status", string(m.Status), "attempts", 0,
		"created_at", ms, "updated_at", ms, "t_queued", ms,
	}
	if !m.ExpiresAt.IsZero() {
		fields = append(fields, "expires_at", m.ExpiresAt.UnixMilli())
	}
	if nm.Prefer != "" {
		fields = append(fields, "prefer", nm.Prefer)
	}
	if nm.Masked != "" && nm.Masked != nm.Body {
		sealed, err := s.bodies.seal(nm.Body, m.ID)
		if err != nil {
			return Message{}, nil, err
		}
		fields = append(fields, "body_sealed", sealed)
		m.Body = nm.Masked
	}
	return m, append(fields, "body", m.Body), nil
}

// chunkBytes is the longest value a message record's field holds. Redis
// keeps a hash whose values are all this short (hash-max-listpack-value,
// 64 by default) as one compact listpack instead of a hash table — about
// a third of the memory for a message record — so a longer value (the
// body, a sealed body) is stored in pieces: "body", "body.1", "body.2"…
const chunkBytes = 64

// recordMessageLua writes a new message record (field pairs in fields,
// long values cut into chunkBytes pieces) and puts it at the head of its
// mobile's bounded history. Every script that records a message — alone,
// or in the same step as the change that owes it — shares it.
const recordMessageLua = `
local function record_message(kmsg, khist, id, retention, limit, fields)
  local packed = {}
  for i = 1, #fields, 2 do
    local name, v = fields[i], fields[i + 1]
    local n = 0
    repeat
      packed[#packed + 1] = n == 0 and name or (name .. '.' .. n)
      packed[#packed + 1] = string.sub(v, n * 64 + 1, n * 64 + 64)
      n = n + 1
    until n * 64 >= #v
  end
  redis.call('HSET', kmsg, unpack(packed))
  redis.call('PEXPIRE', kmsg, retention)
  redis.call('LPUSH', khist, id)
  redis.call('LTRIM', khist, 0, tonumber(limit) - 1)
  redis.call('PEXPIRE', khist, retention)
end
`

// chunked reads a field that record_message may have cut into pieces.
func chunked(h map[string]string, name string) string {
	v := h[name]
	for i := 1; ; i++ {
		part, ok := h[name+"."+strconv.Itoa(i)]
		if !ok {
			return v
		}
		v += part
	}
}

// createMessageLua records one message, unless its reserved id exists
// already, into the pending set the sweeper watches.
const createMessageLua = `
local function create_message(kmsg, khist, kpending, id, retention, limit, now, fields)
  if redis.call('EXISTS', kmsg) == 0 then
    record_message(kmsg, khist, id, retention, limit, fields)
    redis.call('ZADD', kpending, now, id)
  end
end
`

// createScript records messages (create_message) and clears the debt
// they settle. KEYS: pending, owed, then each message's record and
// history. ARGV: retention ms, history limit, now ms, the debt settled
// (empty for none), then per message its id, the number of field values
// and the field pairs.
var createScript = redis.NewScript(recordMessageLua + createMessageLua + `
local at = 5
for i = 3, #KEYS, 2 do
  local n = tonumber(ARGV[at + 1])
  create_message(KEYS[i], KEYS[i + 1], KEYS[1], ARGV[at], ARGV[1], ARGV[2], ARGV[3], {unpack(ARGV, at + 2, at + 1 + n)})
  at = at + 2 + n
end
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[2], ARGV[4]) end
return 1
`)

// Message loads one message; ErrNotFound when it does not exist.
func (s *Store) Message(ctx context.Context, id string) (Message, error) {
	if !validID(id) {
		return Message{}, ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return Message{}, fmt.Errorf("load message: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.messageKey(id)).Result()
	if err != nil {
		return Message{}, fmt.Errorf("load message: %w", err)
	}
	if len(h) == 0 {
		return Message{}, ErrNotFound
	}
	return messageFromHash(h), nil
}

// validID keeps ids that cannot be ours (wrong length, odd bytes) away from
// Redis key construction.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// MessagesByMobile returns up to limit messages to or from mobile, newest first.
func (s *Store) MessagesByMobile(ctx context.Context, mobile string, limit int) ([]Message, error) {
	if limit <= 0 || limit > s.historyLimit {
		limit = s.historyLimit
	}
	ids, err := s.rdb.LRange(ctx, s.historyKey(mobile), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("message history: %w", err)
	}
	// Every message of a history is of its mobile's shard.
	shards := make([]string, len(ids))
	for i := range shards {
		shards[i] = shardOfMobile(mobile)
	}
	s = s.knowing(ids, shards)
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.messageKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("message history: %w", err)
	}
	out := make([]Message, 0, len(ids))
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 {
			out = append(out, messageFromHash(h))
		}
	}
	return out, nil
}

func messageFromHash(h map[string]string) Message {
	m := Message{
		ID:                h["id"],
		Direction:         cmp.Or(h["dir"], "out"),
		From:              h["from"],
		To:                h["to"],
		Prefer:            h["prefer"],
		Channel:           h["channel"],
		Template:          h["template"],
		Language:          h["lang"],
		Body:              chunked(h, "body"),
		Encoding:          h["encoding"],
		DLTTemplateID:     h["dlt"],
		Priority:          Priority(h["priority"]),
		Status:            Status(h["status"]),
		Provider:          h["provider"],
		ProviderMessageID: h["provider_msg_id"],
		ErrorCode:         h["error_code"],
		CreatedAt:         msTime(h["created_at"]),
		UpdatedAt:         msTime(h["updated_at"]),
		ExpiresAt:         msTime(h["expires_at"]),
		StatusTimes:       map[Status]string{},
	}
	m.Segments, _ = strconv.Atoi(h["segments"])
	m.Attempts, _ = strconv.Atoi(h["attempts"])
	for st := range statusRank {
		if t := msTime(h["t_"+string(st)]); !t.IsZero() {
			m.StatusTimes[st] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	return m
}

func msTime(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// ClaimResult says what Claim found.
type ClaimResult int

// Claim outcomes.
const (
	// Claimed: the caller holds the send lease and must send.
	Claimed ClaimResult = iota
	// AlreadyHandled: the message is sent or beyond; sending again would be a duplicate SMS.
	AlreadyHandled
	// Busy: another worker holds a live lease on it.
	Busy
)

// claimLua moves a queued message to sending (or takes a sending one back
// after a failed attempt), counts the attempt and takes a lease so that two
// workers holding the same task at once cannot both send. The claim names
// its worker and joins the in-flight set, so that if the worker dies the
// message can be rescued long before asynq notices (see Rescue). claim
// answers {-1} no record, {0} already handled, {-2} busy, or {1, record}.
const claimLua = `
local function claim(kmsg, kinflight, id, now, lease_end, worker, own_is_stale)
  local st = redis.call('HGET', kmsg, 'status')
  if not st then return {-1} end
  if st ~= 'queued' and st ~= 'sending' then return {0} end
  local lease = tonumber(redis.call('HGET', kmsg, 'lock_until') or '0')
  if lease > tonumber(now) and not (own_is_stale == '1' and redis.call('HGET', kmsg, 'worker') == worker) then
    return {-2}
  end
  if st == 'queued' then
    redis.call('HSET', kmsg, 'status', 'sending', 't_sending', now)
  end
  redis.call('HINCRBY', kmsg, 'attempts', 1)
  redis.call('HSET', kmsg, 'lock_until', lease_end, 'updated_at', now, 'worker', worker)
  redis.call('ZADD', kinflight, now, id)
  return {1, redis.call('HGETALL', kmsg)}
end
`

// claimScript claims one message. KEYS: its record, its shard's in-flight
// set. ARGV: now ms, lease end ms, worker, id, own lease is stale ('1').
var claimScript = redis.NewScript(claimLua + `
return claim(KEYS[1], KEYS[2], ARGV[4], ARGV[1], ARGV[2], ARGV[3], ARGV[5])
`)

// claimBatchScript claims the messages of a batch in one step, each as
// claimScript would. KEYS: each message's record and its shard's in-flight
// set. ARGV: now ms, lease end ms, worker, own lease is stale, then the ids.
var claimBatchScript = redis.NewScript(claimLua + `
local out = {}
for i = 1, #KEYS, 2 do
  local k = (i + 1) / 2
  out[k] = claim(KEYS[i], KEYS[i + 1], ARGV[k + 4], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
end
return out
`)

// Claim takes the send lease on a message for lease on behalf of worker
// (its heartbeat id). A Claimed message carries its SendBody.
func (s *Store) Claim(ctx context.Context, id, worker string, lease time.Duration) (Message, ClaimResult, error) {
	return s.claim(ctx, id, worker, lease, false)
}

// ClaimStale is Claim for a worker that vouches that none of its own tasks
// is sending the message: a lease the worker itself still holds is then
// stale (its claim's answer was lost, e.g. as Redis went away) and is taken
// over at once instead of waiting for it to lapse.
func (s *Store) ClaimStale(ctx context.Context, id, worker string, lease time.Duration) (Message, ClaimResult, error) {
	return s.claim(ctx, id, worker, lease, true)
}

func (s *Store) claim(ctx context.Context, id, worker string, lease time.Duration, ownIsStale bool) (Message, ClaimResult, error) {
	if !validID(id) {
		return Message{}, 0, ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return Message{}, 0, fmt.Errorf("claim message: %w", err)
	}
	now := s.now()
	res, err := s.sendPath(ctx, claimScript, []string{s.messageKey(id), s.inflightKey(s.shardOf(id))},
		now.UnixMilli(), now.Add(lease).UnixMilli(), worker, id, flag(ownIsStale)).Slice()
	if err != nil {
		return Message{}, 0, fmt.Errorf("claim message: %w", err)
	}
	return s.claimed(id, res)
}

// Claim is one message's answer in a batch claim: Err is ErrNotFound for
// an id with no record, or why its record could not be read.
type Claim struct {
	ID      string
	Message Message // when Result is Claimed
	Result  ClaimResult
	Err     error
}

// ClaimStaleBatch is ClaimStale for the messages of a batch, in one step
// per slot (see stepGroups); the answers are in the order of ids.
func (s *Store) ClaimStaleBatch(ctx context.Context, ids []string, worker string, lease time.Duration) ([]Claim, error) {
	out := make([]Claim, len(ids))
	now := s.now()
	var valid []string
	var at []int // valid[j] is ids[at[j]]
	for i, id := range ids {
		out[i].ID = id
		if !validID(id) {
			out[i].Err = ErrNotFound
			continue
		}
		valid = append(valid, id)
		at = append(at, i)
	}
	s, err := s.locate(ctx, valid...)
	if err != nil {
		return nil, fmt.Errorf("claim batch: %w", err)
	}
	groups := s.stepGroups(valid)
	calls := make([]scriptCall, len(groups))
	for g, members := range groups {
		keys := make([]string, 0, 2*len(members))
		args := []any{now.UnixMilli(), now.Add(lease).UnixMilli(), worker, flag(true)}
		for _, j := range members {
			keys = append(keys, s.messageKey(valid[j]), s.inflightKey(s.shardOf(valid[j])))
			args = append(args, valid[j])
		}
		calls[g] = scriptCall{script: claimBatchScript, keys: keys, args: args}
	}
	for g, cmd := range s.sendAll(ctx, calls) {
		res, err := cmd.Slice()
		if err != nil {
			return nil, fmt.Errorf("claim batch: %w", err)
		}
		if len(res) != len(groups[g]) {
			return nil, fmt.Errorf("claim batch: %d answers for %d messages", len(res), len(groups[g]))
		}
		for k, j := range groups[g] {
			one, _ := res[k].([]any)
			out[at[j]].Message, out[at[j]].Result, out[at[j]].Err = s.claimed(valid[j], one)
		}
	}
	return out, nil
}

// claimed reads claim's answer for message id.
func (s *Store) claimed(id string, res []any) (Message, ClaimResult, error) {
	if len(res) == 0 {
		return Message{}, 0, fmt.Errorf("claim message %s: empty answer", id)
	}
	switch res[0] {
	case int64(-1):
		return Message{}, 0, ErrNotFound
	case int64(0):
		return Message{}, AlreadyHandled, nil
	case int64(-2):
		return Message{}, Busy, nil
	}
	if len(res) < 2 {
		return Message{}, 0, fmt.Errorf("claim message %s: no record in the answer", id)
	}
	h := pairs(res[1])
	m := messageFromHash(h)
	m.sendBody = m.Body
	if sealed := chunked(h, "body_sealed"); sealed != "" {
		body, err := s.openBody(sealed, m.ID)
		if err != nil {
			return Message{}, 0, fmt.Errorf("claim message %s: %w", id, err)
		}
		m.sendBody = body
	}
	return m, Claimed, nil
}

// advanceScript moves a message forward and never back. ARGV[3] counts the
// field pairs written whatever the outcome (who accepted the message is true
// even when its delivery report overtook us); then come the message id and
// the retention in ms; the pairs after them are written only when the
// status moved. A message that reached a provider leaves the pending and
// in-flight sets. KEYS: the message, its shard's pending and in-flight
// sets. Answer: -1 no message, {0} unchanged, {1, template, to, error
// code} moved.
var advanceScript = redis.NewScript(`
local rank = {queued=0, sending=1, sent=2, delivered=3, undelivered=3, failed=3}
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return -1 end
local always = tonumber(ARGV[3])
for i = 4, 3 + always * 2, 2 do
  if ARGV[i+1] ~= '' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
end
if rank[ARGV[1]] >= 2 then
  redis.call('ZREM', KEYS[2], ARGV[4 + always * 2])
  redis.call('ZREM', KEYS[3], ARGV[4 + always * 2])
end
if rank[ARGV[1]] <= rank[cur] then return {0} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2], 't_' .. ARGV[1], ARGV[2], 'lock_until', '0')
if ARGV[1] == 'sent' then redis.call('HDEL', KEYS[1], 'error_code') end
for i = 6 + always * 2, #ARGV, 2 do
  if ARGV[i+1] ~= '' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
end
local f = redis.call('HMGET', KEYS[1], 'template', 'to', 'error_code')
return {1, f[1] or '', f[2] or '', f[3] or ''}
`)

// Update is a status change with what came with it.
type Update struct {
	Status            Status
	Provider          string // written even when the status does not move
	ProviderMessageID string // written even when the status does not move
	ErrorCode         string // written only when the status moves
	// DeadLetter lists a message moving to failed as a dead letter: it
	// failed for good, not by the programme's rules (opted out, expired).
	DeadLetter bool
}

// Advance applies u if it moves the message forward. It reports whether the
// status changed; a late "sent" after "delivered" changes nothing.
func (s *Store) Advance(ctx context.Context, id string, u Update) (bool, error) {
	a, err := s.AdvanceReported(ctx, id, u)
	return a.Changed, err
}

// Advanced is what AdvanceReported did.
type Advanced struct {
	Changed  bool
	Template string // the message's, when Changed: for counting by template
}

// AdvanceReported is Advance that also tells the message's template when
// the status moved, in the same step.
func (s *Store) AdvanceReported(ctx context.Context, id string, u Update) (Advanced, error) {
	if !u.Status.Valid() {
		return Advanced{}, fmt.Errorf("advance message: unknown status %q", u.Status)
	}
	if !validID(id) {
		return Advanced{}, ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return Advanced{}, fmt.Errorf("advance message: %w", err)
	}
	now := s.now().UnixMilli()
	args := []any{string(u.Status), now, 2,
		"provider", u.Provider, "provider_msg_id", u.ProviderMessageID,
		id, s.retention.Milliseconds(),
		"error_code", u.ErrorCode,
	}
	shard := s.shardOf(id)
	call := scriptCall{script: advanceScript, keys: []string{s.messageKey(id), s.pendingKey(shard), s.inflightKey(shard)}, args: args}
	if u.Provider != "" && u.ProviderMessageID != "" {
		// Lets a status report that lacks our id find the message. It is
		// keyed by the provider's id alone, so it cannot share the
		// message's slot: written beside the step, in its pipeline. A
		// crash between the two leaves a report that finds no message
		// (answered 200; the next report of the message finds it).
		pmid := s.providerMessageKey(u.Provider, u.ProviderMessageID)
		call.after = func(ctx context.Context, p redis.Pipeliner) {
			p.Set(ctx, pmid, id, s.retention)
		}
	}
	res, err := s.batch.runCall(ctx, call).Result()
	if err != nil {
		return Advanced{}, fmt.Errorf("advance message %s to %s: %w", id, u.Status, err)
	}
	out, ok := res.([]any)
	if !ok {
		return Advanced{}, ErrNotFound // -1: no such message
	}
	a := Advanced{Changed: out[0] == int64(1)}
	if !a.Changed || len(out) < 4 {
		return a, nil
	}
	a.Template, _ = out[1].(string)
	if u.DeadLetter && u.Status == StatusFailed {
		// Written after the step, on the dead letters' own slot: a crash
		// in between leaves the message failed but not listed.
		to, _ := out[2].(string)
		reason, _ := out[3].(string)
		if err := s.addDeadLetter(ctx, DeadLetter{ID: "msg:" + id, Kind: DeadMessage, Ref: id,
			Template: a.Template, To: to, Reason: reason, AtMS: now}); err != nil {
			return a, fmt.Errorf("advance message %s to %s: %w", id, u.Status, err)
		}
	}
	return a, nil
}

// MessageIDByProvider finds our id from a provider's message id.
func (s *Store) MessageIDByProvider(ctx context.Context, provider, providerMsgID string) (string, error) {
	id, err := s.rdb.Get(ctx, s.providerMessageKey(provider, providerMsgID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find message by provider id: %w", err)
	}
	return id, nil
}

// releaseScript gives up a claim, if it is still the caller's: a worker
// whose claim was rescued while it was stuck must not write its late
// failure over the outcome of the rescue.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'sending' or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'lock_until', 0, 'updated_at', ARGV[3])
for i = 4, #ARGV, 2 do
  if ARGV[i+1] ~= '' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
end
return 1
`)

// Release gives up worker's send lease after a failed attempt that will be
// retried, keeping the last error for the record.
func (s *Store) Release(ctx context.Context, id, worker, provider, errorCode string) error {
	if !validID(id) {
		return ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return fmt.Errorf("release message %s: %w", id, err)
	}
	err = releaseScript.Run(ctx, s.rdb, []string{s.messageKey(id), s.inflightKey(s.shardOf(id))},
		worker, id, s.now().UnixMilli(), "error_code", errorCode, "provider", provider).Err()
	if err != nil {
		return fmt.Errorf("release message %s: %w", id, err)
	}
	return nil
}

// PendingBefore lists up to limit messages created before t that have not
// yet reached a provider.
func (s *Store) PendingBefore(ctx context.Context, t time.Time, limit int64) ([]string, error) {
	ids, err := s.oldestInShards(ctx, s.pendingKey, scoreUpTo(t), limit)
	if err != nil {
		return nil, fmt.Errorf("pending messages: %w", err)
	}
	return ids, nil
}

// ForgetPending drops an id from the pending set (its record has expired).
func (s *Store) ForgetPending(ctx context.Context, id string) error {
	s, err := s.locate(ctx, id)
	if err != nil {
		return fmt.Errorf("forget pending: %w", err)
	}
	return s.rdb.ZRem(ctx, s.pendingKey(s.shardOf(id)), id).Err()
}
