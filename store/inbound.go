package store

import (
	"context"
	"fmt"
	"strconv"
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
	// Reply, when set, is the answer built before the step (see
	// PreparedReply); it is recorded instead of owed when it fits.
	Reply *PreparedReply
	// Call marks a missed call: stored with channel "call" and no body.
	Call bool
}

// PreparedReply is an answer to an inbound SMS built before its step, in
// Language, for the keywords whose answer depends on nothing but the
// language. The step records it — and owes no answer — when a reply is
// allowed and would be in Language: the mobile's choice after the effect
// is Language, or, with IfNoChoice, the mobile made none and has no
// beneficiary whose language would count. Otherwise the answer is owed,
// to be built from what the step read back. Every message goes to the
// sender.
type PreparedReply struct {
	Language   string
	IfNoChoice bool
	Messages   []NewMessage
}

// Effect is what a keyword changes for the mobile that sent it, applied in
// the same step as the message is stored, and what its answer reads back.
type Effect struct {
	Language string // the reply language chosen ("" leaves it)
	OptOut   *bool  // STOP (true) or START (false); nil leaves it
	// People reads the mobile's beneficiaries back (Received.People) when
	// a reply is allowed: for the keywords that answer about them.
	People bool
}

// ReplyLimit bounds the automatic replies to one mobile: at most Max in
// any Window, so a bot answering our replies cannot loop with us.
type ReplyLimit struct {
	Max    int
	Window time.Duration
	// Calls spends from the mobile's missed-call log instead of its SMS
	// reply log: a call's answer and an SMS's do not share a limit.
	Calls bool
}

// Received is what Receive (or PrepareAnswer) found and did.
type Received struct {
	// Message is the stored inbound message; on a Duplicate only its ID,
	// that of the first.
	Message   Message
	Duplicate bool
	// What an answer needs, read in the same step: whether a reply is
	// allowed (one was spent), the mobile's choices after the effect, and
	// its beneficiaries, oldest first.
	Allowed        bool
	Prefs          MobilePrefs
	BeneficiaryIDs []string
	// People: with Effect.People and a reply allowed, the beneficiaries
	// with their doses, bookings and centres, oldest first.
	People []PersonView
	// Replies: the prepared reply, recorded in the step; its tasks are
	// still to be queued. Owed: no reply was recorded and one is allowed
	// and owed (ReplyNotification of Message.ID) — the caller builds it.
	Replies []Message
	Owed    bool
}

// receiveScript is an inbound SMS in one step: stored once per provider
// message id, the keyword's effect on the mobile's choices, one reply
// spent under the loop limit, and what the answer needs read back — with
// people '1' and a reply allowed, the beneficiaries themselves
// (read_people). Then either the prepared reply is recorded (when it is in
// the language the reply would take) or, with an owed reply named, the
// answer is left owed, so a process that dies before answering leaves it
// to the sweeper. With record '0' it only prepares an answer (the sweeper
// answering a message stored earlier: its reply was spent when it was
// stored, for an answer is owed only when one was allowed); with answer
// '0' it only stores (a sender that is not a mobile).
// KEYS: 1 dedup, 2 message, 3 history, 4 owed, 5 mobile choices, 6 reply
// log, 7 the mobile's beneficiaries, 8 pending, then the prepared reply's
// records. ARGV: 1 id, 2 dedup ms, 3 retention ms, 4 history limit, 5 owed
// reply, 6 now ms, 7 record, 8 answer, 9 language to set, 10 opt-out to
// set, 11 reply window ms, 12 reply limit, 13 reply log entry, 14 people,
// 15-18 read_people's key parts, 19 the number n of the message's field
// values, 20.. its field pairs; then the prepared reply's language (empty for
// none), its if-no-choice, and per message its id, its number of field
// values and its field pairs.
// Answer: {1, first id} already seen; {0, id, allowed, lang, opted_out,
// {ids}, {people}, replied, owed}.
var receiveScript = redis.NewScript(recordMessageLua + createMessageLua + slidingWindowLua + readPeopleLua + `
local nf = tonumber(ARGV[19])
local at = 20 + nf
if ARGV[7] == '1' then
  local first = redis.call('GET', KEYS[1])
  if first then return {1, first} end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  record_message(KEYS[2], KEYS[3], ARGV[1], ARGV[3], ARGV[4], {unpack(ARGV, 20, 19 + nf)})
end
if ARGV[8] ~= '1' then return {0, ARGV[1]} end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[5], 'lang', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[5], 'opted_out', ARGV[10]) end
local allowed = 1
if ARGV[7] == '1' then allowed = allow_in_window(KEYS[6], ARGV[6], ARGV[11], ARGV[12], ARGV[13])[1] end
local prefs = redis.call('HMGET', KEYS[5], 'lang', 'opted_out')
local ids = redis.call('ZRANGE', KEYS[7], 0, -1)
local people = {}
if ARGV[14] == '1' and allowed == 1 then people = read_people(KEYS[7], 15) end
local replied, owed = 0, 0
if allowed == 1 then
  local lang = prefs[1] or ''
  if ARGV[at] ~= '' and (lang == ARGV[at] or (lang == '' and ARGV[at + 1] == '1' and #ids == 0)) then
    at = at + 2
    for k = 9, #KEYS do
      local n = tonumber(ARGV[at + 1])
      create_message(KEYS[k], KEYS[3], KEYS[8], ARGV[at], ARGV[3], ARGV[4], ARGV[6], {unpack(ARGV, at + 2, at + 1 + n)})
      at = at + 2 + n
    end
    replied = 1
  elseif ARGV[5] ~= '' then
    redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
    owed = 1
  end
end
return {0, ARGV[1], allowed, prefs[1] or '', prefs[2] or '', ids, people, replied, owed}
`)

// Receive stores an inbound SMS in the sender's history, once per provider
// message id, and — when it owes a reply (the sender is a mobile) — applies
// the keyword's effect, spends a reply under limit, reads back what the
// answer needs and records the prepared reply or owes the answer, all in
// one step. A provider message id seen before is not stored again:
// Duplicate is set and Message holds the first record's id.
func (s *Store) Receive(ctx context.Context, in Inbound, eff Effect, limit ReplyLimit) (Received, error) {
	now := s.now()
	m := Message{
		ID: newMessageID(shardOfMobile(in.From), now), Direction: "in", From: in.From, To: in.To, Body: in.Body,
		Provider: in.Provider, ProviderMessageID: in.ProviderMessageID,
		Status: StatusReceived, CreatedAt: now, UpdatedAt: now,
		Encoding: in.Encoding, Segments: in.Segments,
	}
	step := receiveStep{
		from: in.From, record: true, answer: in.OwesReply, eff: eff, limit: limit,
		keys: []string{s.inboundKey(in.From, in.Provider, in.ProviderMessageID), s.messageKey(m.ID)},
		id:   m.ID, dedup: inboundDedupFor.Milliseconds(),
		fields: []any{"id", m.ID, "dir", "in", "from", in.From, "to", in.To, "body", in.Body,
			"encoding", m.Encoding, "segments", m.Segments,
			"provider", in.Provider, "provider_msg_id", in.ProviderMessageID,
			"status", string(StatusReceived), "attempts", 0,
			"created_at", now.UnixMilli(), "updated_at", now.UnixMilli()},
	}
	if in.Call {
		m.Channel = "call"
		step.fields = append(step.fields, "channel", m.Channel)
	}
	if in.OwesReply {
		step.owed = ReplyNotification(m.ID)
		step.reply = in.Reply
	}
	r, err := s.receive(ctx, step)
	if err != nil {
		return Received{}, fmt.Errorf("receive: %w", err)
	}
	if !r.Duplicate {
		r.Message = m
	}
	return r, nil
}

// PrepareAnswer is Receive for a message stored earlier whose answer was
// left owed: the effect and the reads, in one step. The reply was spent
// when the answer was owed, so it is not spent again: Allowed is true.
func (s *Store) PrepareAnswer(ctx context.Context, mobile string, eff Effect) (Received, error) {
	r, err := s.receive(ctx, receiveStep{from: mobile, answer: true, eff: eff, limit: ReplyLimit{Max: 1}, keys: []string{s.unusedKey(shardOfMobile(mobile)), s.unusedKey(shardOfMobile(mobile))}})
	if err != nil {
		return Received{}, fmt.Errorf("prepare answer: %w", err)
	}
	return r, nil
}

// receiveStep is what receiveScript is asked to do: keys are the dedup
// and message keys ("" when nothing is recorded), fields the message's.
type receiveStep struct {
	from           string
	record, answer bool
	eff            Effect
	limit          ReplyLimit
	keys           []string
	id             string
	dedup          int64
	owed           string
	fields         []any
	reply          *PreparedReply
}

func (s *Store) receive(ctx context.Context, st receiveStep) (Received, error) {
	if st.answer && st.limit.Max <= 0 {
		return Received{}, fmt.Errorf("reply limit %d is not positive", st.limit.Max)
	}
	now := s.now()
	optOut := ""
	if st.eff.OptOut != nil {
		optOut = "0"
		if *st.eff.OptOut {
			optOut = strconv.FormatInt(now.UnixMilli(), 10)
		}
	}
	limitKey := s.replyLimitKey(st.from)
	if st.limit.Calls {
		limitKey = s.callLimitKey(st.from)
	}
	shard := shardOfMobile(st.from)
	keys := append(st.keys, s.historyKey(st.from), s.notificationsKey(shard), s.mobileKey(st.from), limitKey,
		s.mobileBeneficiariesKey(st.from), s.pendingKey(shard))
	args := append([]any{st.id, st.dedup, s.retention.Milliseconds(), s.historyLimit, st.owed, now.UnixMilli(),
		flag(st.record), flag(st.answer), st.eff.Language, optOut, st.limit.Window.Milliseconds(), st.limit.Max, newEntryID(now),
		flag(st.eff.People)}, s.peopleKeyParts(shard)...)
	args = append(args, len(st.fields))
	args = append(args, st.fields...)
	var replies []Message
	if st.reply == nil || len(st.reply.Messages) == 0 {
		args = append(args, "", "0")
	} else {
		args = append(args, st.reply.Language, flag(st.reply.IfNoChoice))
		for _, nm := range st.reply.Messages {
			if nm.To != st.from {
				return Received{}, fmt.Errorf("prepared reply to %s for a message from %s", nm.To, st.from)
			}
			m, fields, err := s.messageRecord(nm, newMessageID(shard, now), now)
			if err != nil {
				return Received{}, fmt.Errorf("prepared reply: %w", err)
			}
			keys = append(keys, s.messageKey(m.ID))
			args = append(args, m.ID, len(fields))
			args = append(args, fields...)
			replies = append(replies, m)
		}
	}
	res, err := s.ackedPath(ctx, receiveScript, keys, args...).Slice()
	if err != nil {
		return Received{}, err
	}
	first, _ := res[1].(string)
	r := Received{Message: Message{ID: first}, Duplicate: res[0] == int64(1)}
	if r.Duplicate || len(res) < 9 {
		return r, nil
	}
	r.Allowed = res[2] == int64(1)
	r.Prefs.Language, _ = res[3].(string)
	out, _ := res[4].(string)
	r.Prefs.OptedOut = out != "" && out != "0"
	ids, _ := res[5].([]any)
	for _, id := range ids {
		if s, ok := id.(string); ok {
			r.BeneficiaryIDs = append(r.BeneficiaryIDs, s)
		}
	}
	if r.People, err = s.peopleViews(ctx, res[6]); err != nil {
		return Received{}, err
	}
	if res[7] == int64(1) {
		r.Replies = replies
	}
	r.Owed = res[8] == int64(1)
	return r, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
