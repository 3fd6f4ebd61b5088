package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoDose is a confirmation asked of a beneficiary with no dose recorded.
var ErrNoDose = errors.New("no dose recorded")

// errResendStale: what the SMS was rendered from changed before the step
// (a dose recorded, a code replaced); it is read and rendered again.
var errResendStale = errors.New("resend subject changed")

// ResendOf is what support asks to send again: the slip or the code of a
// booked appointment, or the confirmation of a beneficiary's last dose.
type ResendOf struct {
	AppointmentID string // an appointment's slip or code…
	BeneficiaryID string // …or, without one, this beneficiary's confirmation
	// NewCode, when set, replaces the appointment's code (lifting a lock)
	// in the same step as the resend that carries it.
	NewCode string
	// Subject names the hourly limit the resend spends (appt:ID, ben:ID).
	Subject string
	PerHour int
	// Idempotency, when set, keeps the answer for the request's repeats.
	Idempotency *IdempotencyKey
}

// ResendSource is what a resent SMS is rendered from, as read just before
// the step: the appointment (ID, beneficiary, centre, date, slot, status)
// with the code the SMS carries, or the beneficiary with their doses.
type ResendSource struct {
	Appointment Appointment
	Code        string
	Beneficiary Beneficiary
}

// Resent is what Resend did: the message recorded, or, when the hourly
// limit was spent, how long until a resend is allowed (nothing was sent).
type Resent struct {
	Message    Message
	RetryAfter time.Duration
}

// resendScript is a resend in one step: the idempotency check, the
// subject still as the SMS was rendered from it (a booked appointment with
// the same code; the same number of doses), the hourly limit spent, a new
// code when one is issued, the message recorded (queued and pending, so a
// lost enqueue is swept) and the answer kept for the request's repeats.
// A refusal for a cancelled or used appointment, or for no dose, is kept
// too; a spent limit keeps nothing, so a later retry runs.
// KEYS: the appointment or the beneficiary, the limit's log, message,
// history, pending (the message's three never touched when there is
// nothing to send), idempotency ("" for none). ARGV: 1 'appt' or 'doses',
// 2 the code's hashes (codeHashes) or the dose count rendered from, 3 new sealed code (empty
// for none), 4 its hash, 5 now ms, 6 window ms, 7 limit, 8 the limit's
// entry, 9 message id (empty when there is nothing to send: refusal only),
// 10 retention ms, 11 history limit, 12–17 the key's fingerprint, TTL and
// answers (keptAnswersLua), then the message's field pairs.
var resendScript = redis.NewScript(recordMessageLua + slidingWindowLua + keptAnswersLua + hashInLua + dosesLua + `
local seen = answered(KEYS[6], 12)
if seen then return seen end
if ARGV[1] == 'appt' then
  local a = redis.call('HMGET', KEYS[1], 'status', 'code_hash')
  if not a[1] then return -1 end
  if a[1] ~= 'booked' then
    keep(KEYS[6], 12, false)
    return 0
  end
  if ARGV[9] == '' or (ARGV[3] == '' and not hash_in(a[2], ARGV[2])) then return {'stale'} end
else
  local n = doses_count(KEYS[1])
  if n == 0 then
    keep(KEYS[6], 12, false)
    return 0
  end
  if ARGV[9] == '' or n ~= tonumber(ARGV[2]) then return {'stale'} end
end
local ok = allow_in_window(KEYS[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
if ok[1] == 0 then return {'limited', ok[2]} end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'code_sealed', ARGV[3], 'code_hash', ARGV[4], 'attempts', 0, 'updated_at', ARGV[5])
end
record_message(KEYS[3], KEYS[4], ARGV[9], ARGV[10], ARGV[11], {unpack(ARGV, 18)})
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[9])
keep(KEYS[6], 12, true)
return 1
`)

// Resend sends again what a citizen lost, in one step (resendScript)
// after one read of what the SMS is rendered from: render renders it, and
// with of.Idempotency the answers kept renders for its message id are kept
// in the step. A repeat gets an *AnsweredError with the first answer.
// ErrNotFound for no such appointment or beneficiary, ErrNotActive for an
// appointment no longer booked, ErrNoDose for a beneficiary without one.
func (s *Store) Resend(ctx context.Context, of ResendOf, render func(ResendSource) (NewMessage, error), kept Kept[string]) (Resent, error) {
	if of.PerHour <= 0 {
		return Resent{}, fmt.Errorf("resend: limit %d is not positive", of.PerHour)
	}
	s, err := s.locate(ctx, of.AppointmentID, of.BeneficiaryID)
	if err != nil {
		return Resent{}, fmt.Errorf("resend: %w", err)
	}
	for range 3 {
		r, err := s.resend(ctx, of, render, kept)
		if errors.Is(err, errResendStale) {
			continue
		}
		return r, err
	}
	return Resent{}, errors.New("resend: what it sends kept changing")
}

func (s *Store) resend(ctx context.Context, of ResendOf, render func(ResendSource) (NewMessage, error), kept Kept[string]) (Resent, error) {
	refusal := resendRefusal(of)
	src, err := s.resendSource(ctx, of)
	refused := errors.Is(err, refusal)
	if err != nil && (!refused || of.Idempotency == nil) {
		return Resent{}, err // a refusal without a key to keep it needs no step
	}
	now := s.now()
	kind, subject, rendered := "appt", s.appointmentKey(of.AppointmentID), any(s.codeHashes(of.AppointmentID, src.Code))
	if of.AppointmentID == "" {
		kind, subject, rendered = "doses", s.beneficiaryKey(of.BeneficiaryID), len(src.Beneficiary.Doses)
	}
	shard := s.shardOf(of.BeneficiaryID)
	if of.AppointmentID != "" {
		shard = s.shardOf(of.AppointmentID)
	}
	args := []any{kind, rendered, "", "", now.UnixMilli(), time.Hour.Milliseconds(), of.PerHour, newEntryID(now),
		"", s.retention.Milliseconds(), s.historyLimit}
	if of.NewCode != "" {
		sealed, err := s.codes.seal(of.NewCode, of.AppointmentID)
		if err != nil {
			return Resent{}, fmt.Errorf("resend: %w", err)
		}
		args[2], args[3] = sealed, s.codeHash.sum(of.AppointmentID, of.NewCode)
	}
	var m Message
	var fields []any
	if !refused {
		nm, err := render(src)
		if err != nil {
			return Resent{}, err
		}
		if shardOfMobile(nm.To) != shard {
			return Resent{}, fmt.Errorf("resend: %s is not the mobile of the one it is about", nm.To)
		}
		if m, fields, err = s.messageRecord(nm, newMessageID(shard, now), now); err != nil {
			return Resent{}, fmt.Errorf("resend: %w", err)
		}
		args[8] = m.ID
	}
	idemKeys, idemArgs, err := keptFor(s, tag(shard), m.ID, of.Idempotency, kept)
	if err != nil {
		return Resent{}, fmt.Errorf("resend: %w", err)
	}
	unused := s.unusedKey(shard)
	msgKey, historyKey := unused, unused
	if m.ID != "" {
		msgKey, historyKey = s.messageKey(m.ID), s.historyKey(m.To)
	}
	keys := append([]string{subject, s.resendLimitKey(of.Subject), msgKey, historyKey, s.pendingKey(shard)}, padded(idemKeys, 1, unused)...)
	res, err := s.ackedPath(ctx, resendScript, keys, append(append(args, idemArgs...), fields...)...).Result()
	if err != nil {
		return Resent{}, fmt.Errorf("resend: %w", err)
	}
	if v, ok := res.([]any); ok {
		switch v[0] {
		case "stale":
			return Resent{}, errResendStale
		case "limited":
			wait, _ := v[1].(int64)
			return Resent{RetryAfter: time.Duration(max(wait, 1)) * time.Millisecond}, nil
		}
	}
	if err := stepResult(res, refusal); err != nil {
		return Resent{}, err
	}
	return Resent{Message: m}, nil
}

// resendRefusal is why of may find nothing to send: its subject's refusal.
func resendRefusal(of ResendOf) error {
	if of.AppointmentID == "" {
		return ErrNoDose
	}
	return ErrNotActive
}

// resendSource reads what the SMS of is rendered from, in one round trip.
// When there is nothing to send it says why (resendRefusal) with what it read.
func (s *Store) resendSource(ctx context.Context, of ResendOf) (ResendSource, error) {
	if of.AppointmentID == "" {
		b, err := s.Beneficiary(ctx, of.BeneficiaryID)
		if err != nil {
			return ResendSource{}, err
		}
		if len(b.Doses) == 0 {
			return ResendSource{Beneficiary: b}, ErrNoDose
		}
		return ResendSource{Beneficiary: b}, nil
	}
	if !validID(of.AppointmentID) {
		return ResendSource{}, ErrNotFound
	}
	h, err := s.rdb.HMGet(ctx, s.appointmentKey(of.AppointmentID), "status", "ben", "center", "date", "slot", "code_sealed").Result()
	if err != nil {
		return ResendSource{}, fmt.Errorf("resend: load appointment: %w", err)
	}
	v := make([]string, len(h))
	for i, x := range h {
		v[i], _ = x.(string)
	}
	if v[0] == "" {
		return ResendSource{}, ErrNotFound
	}
	src := ResendSource{Appointment: Appointment{ID: of.AppointmentID, Status: AppointmentStatus(v[0]),
		BeneficiaryID: v[1], CenterID: v[2], Date: v[3], Slot: v[4]}, Code: of.NewCode}
	if src.Appointment.Status != AppointmentBooked {
		return src, ErrNotActive
	}
	if src.Code == "" {
		if src.Code, err = s.openCode(v[5], of.AppointmentID); err != nil {
			return ResendSource{}, fmt.Errorf("resend: open security code of %s: %w", of.AppointmentID, err)
		}
	}
	return src, nil
}
