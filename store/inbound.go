package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// inboundDedupFor is how long a provider's message id is remembered:
// providers retry a webhook for up to a day; 48 h leaves room.
const inboundDedupFor = 48 * time.Hour

// Inbound is an SMS a citizen sent us.
type Inbound struct {
	Provider          string
	ProviderMessageID string
	From              string // E.164 when it is a phone number; else as received
	To                string // our number
	Body              string
	Encoding          string // as counted by templates.CountText
	Segments          int
	// OwesReply records, in the same step, that an answer is owed: a
	// process that dies before queuing it leaves it to the sweeper.
	OwesReply bool
}

// recordInboundScript stores an inbound message once per provider message
// id: {0, id} new, {1, id} already seen (id of the first).
// KEYS: dedup, message, history, owed notifications. ARGV: id, dedup ms,
// retention ms, history limit, owed reply ("" for none), now ms, then the
// message's field pairs.
var recordInboundScript = redis.NewScript(recordMessageLua + `
local first = redis.call('GET', KEYS[1])
if first then return {1, first} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
record_message(KEYS[2], KEYS[3], ARGV[1], ARGV[3], ARGV[4], {unpack(ARGV, 7)})
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5]) end
return {0, ARGV[1]}
`)

// RecordInbound stores an inbound SMS in the sender's history. A provider
// message id seen before is not stored again: dup is true and m is the
// first record's id only.
func (s *Store) RecordInbound(ctx context.Context, in Inbound) (m Message, dup bool, err error) {
	now := s.now()
	m = Message{
		ID: newMessageID(now), Direction: "in", From: in.From, To: in.To, Body: in.Body,
		Provider: in.Provider, ProviderMessageID: in.ProviderMessageID,
		Status: StatusReceived, CreatedAt: now, UpdatedAt: now,
		Encoding: in.Encoding, Segments: in.Segments,
	}
	owed := ""
	if in.OwesReply {
		owed = ReplyNotification(m.ID)
	}
	res, err := recordInboundScript.Run(ctx, s.rdb,
		[]string{s.inboundKey(in.Provider, in.ProviderMessageID), s.messageKey(m.ID), s.historyKey(in.From), s.notificationsKey()},
		m.ID, inboundDedupFor.Milliseconds(), s.retention.Milliseconds(), s.historyLimit, owed, now.UnixMilli(),
		"id", m.ID, "dir", "in", "from", in.From, "to", in.To, "body", in.Body,
		"encoding", m.Encoding, "segments", m.Segments,
		"provider", in.Provider, "provider_msg_id", in.ProviderMessageID,
		"status", string(StatusReceived), "attempts", 0,
		"created_at", now.UnixMilli(), "updated_at", now.UnixMilli()).Slice()
	if err != nil {
		return Message{}, false, fmt.Errorf("record inbound: %w", err)
	}
	if res[0].(int64) == 1 {
		first, _ := res[1].(string)
		return Message{ID: first}, true, nil
	}
	return m, false, nil
}
