package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewDose is a dose to record; Check is nil for a walk-in.
type NewDose struct {
	BeneficiaryID string
	Check         *CodeCheck
	Vaccine       string
	Batch         string
	CenterID      string // a walk-in's centre; a booked dose takes its appointment's
	Date          string
	// Mobile is the beneficiary's, where the confirmation goes.
	Mobile string
	// Idempotency, when set, keeps the outcome for the request's repeats.
	Idempotency *IdempotencyKey
}

// IdempotencyKey names a request that a client may repeat: its scope
// (caller and route), the client's key and the request's fingerprint.
type IdempotencyKey struct {
	Scope, Key, Fingerprint string
	TTL                     time.Duration
}

// Confirmation is a dose's confirmation SMS for one status, with the
// dose number — which only the dose step knows — left out: the body is
// Prefix, the number, Suffix. Every digit weighs one unit in GSM-7 and in
// UCS-2, so the encoding and segment count depend only on how many digits
// the number has: ByDigits[k-1] are those of a k-digit number.
type Confirmation struct {
	NewMessage     // Body, Encoding and Segments unused
	Prefix, Suffix string
	ByDigits       [3]struct {
		Encoding string
		Segments int
	}
}

// Confirmations renders the confirmation of the dose with certificate
// cert, partial and completing the course. A dose number of more than
// three digits (or no confirmations given) leaves it owed instead, for
// the caller (or the sweeper) to send.
type Confirmations func(cert string) (partial, full Confirmation, err error)

// DoseOutcome is what RecordDose did.
type DoseOutcome struct {
	Dose
	// Course is how many doses complete the course of the vaccine the
	// beneficiary started with (0: unknown vaccine).
	Course int
	// MessageID is the confirmation's, recorded in the same step or, when
	// Owed, reserved for whoever pays the debt (ConfirmationNotification).
	MessageID string
	Owed      bool
	// Replayed: an earlier request with the same idempotency key did this;
	// nothing was changed now.
	Replayed bool
}

// recordDoseScript is a dose in one step: the idempotency check, the code
// rules of a booked dose (shared with verify-code), the dose, the
// appointment completed, the confirmation's message record (queued and
// pending, so a lost enqueue is swept) or else its debt under a reserved
// message id, and the outcome
// kept for the request's repeats — so a retry after a crash anywhere
// either replays the outcome or does the work, and nothing waits for a
// dead process. A walk-in is refused while a booking is active: recording
// the dose without its code would get around the code and its lock. The
// schedule's rules (scheduleLua) come after the code's: one dose a day,
// none before the next opens.
//
// KEYS: beneficiary, certificate, owed, message, history, pending,
// appointment (booked), idempotency (with a key).
// ARGV: 1 centre to check, 2 today, 3 code hashes (codeHashes), 4 max attempts,
// 5 beneficiary id (check's ARGV), 6 now ms, 7 the dose as storedDose
// writes it (a booked one without its centre, which the step appends), 8 certificate id,
// 9 appointment id, 10 owed notification, 11 message id, 12 retention ms,
// 13 history limit, 14 fingerprint (empty without a key), 15 its TTL ms,
// 16 schedule table (scheduleTable), 17 '1' with confirmations, 18 the due
// index's key prefix (indexDueLua), then for the partial and the full
// confirmation prefix, suffix and encoding and segments by digits (8 each),
// then the message's other fields.
var recordDoseScript = redis.NewScript(checkCodeLua + recordMessageLua + dosesLua + scheduleLua + indexDueLua + `
local fp = ARGV[14]
if fp ~= '' then
  local h = redis.call('HMGET', KEYS[8], 'fp', 'outcome', 'status', 'body')
  if h[1] then
    if h[1] ~= fp then return {'idem_mismatch'} end
    if not h[2] and h[3] then return {'idem_answer', h[3], h[4] or ''} end
    if not h[2] then return {'idem_running'} end
    return {'replay', redis.call('HGETALL', KEYS[8])}
  end
end
local function keep(fields)
  if fp == '' then return end
  redis.call('HSET', KEYS[8], 'fp', fp, unpack(fields))
  redis.call('PEXPIRE', KEYS[8], ARGV[15])
end
-- Refusals that spent something (an attempt) or say the state are kept for
-- repeats; the others changed nothing, so a corrected retry runs.
local kept = {mismatch=true, locked=true, not_active=true, wrong_date=true, booked=true, wrong_person=true}
local function refuse(r)
  if kept[r[1]] then keep({'outcome', r[1], 'left', r[2] or 0}) end
  return r
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'no_beneficiary'} end
local booked = ARGV[9] ~= ''
if booked then
  local r = check(KEYS[7])
  if r[1] ~= 'ok' then return refuse(r) end
else
  local active = redis.call('HMGET', KEYS[1], 'active_appt', 'active_date')
  if active[1] and active[1] ~= '' and active[2] and active[2] >= ARGV[2] then return refuse({'booked'}) end
end
if dosed_on(KEYS[1], ARGV[2]) then return {'dosed_today'} end
local closed = next_dose_closed(KEYS[1], ARGV[16])
if closed then return closed end
if redis.call('SET', KEYS[2], ARGV[5], 'NX') == false then return {'cert_taken'} end
local now = ARGV[6]
local dose = ARGV[7]
local center = ''
if booked then
  center = redis.call('HGET', KEYS[7], 'center')
  redis.call('HSET', KEYS[7], 'status', 'completed', 'updated_at', now)
  if redis.call('HGET', KEYS[1], 'active_appt') == ARGV[9] then
    redis.call('HDEL', KEYS[1], 'active_appt', 'active_date')
  end
  dose = dose .. center
end
local n = dose_add(KEYS[1], dose)
index_due(KEYS[1], ARGV[18], ARGV[5], ARGV[16])
local course = tonumber(string.match(ARGV[16], ';' .. dose_at(KEYS[1], 1).vaccine .. '=(%d+):') or '0')
local digits = #tostring(n)
local msg, owed = ARGV[11], 0
if ARGV[17] == '1' and digits <= 3 then
  local at = 19
  if n >= course then at = 27 end
  local fields = {'body', ARGV[at] .. n .. ARGV[at + 1], 'encoding', ARGV[at + 2 * digits], 'segments', ARGV[at + 2 * digits + 1]}
  for i = 35, #ARGV do fields[#fields + 1] = ARGV[i] end
  record_message(KEYS[4], KEYS[5], msg, ARGV[12], ARGV[13], fields)
  redis.call('ZADD', KEYS[6], now, msg)
else
  redis.call('ZADD', KEYS[3], now, ARGV[10])
  owed = 1
end
keep({'outcome', 'ok', 'n', n, 'course', course, 'msg', msg, 'owed', owed, 'center', center, 'cert', ARGV[8], 'date', ARGV[2], 'at', now})
return {'ok', n, course, msg, center, owed}
`)

// RecordDose appends a dose under a fresh certificate id, in one step with
// everything that goes with it (see recordDoseScript). With a Check the code
// rules apply and the appointment is completed. A refusal replayed from an
// earlier request comes with Replayed set.
func (s *Store) RecordDose(ctx context.Context, nd NewDose, confirm Confirmations) (DoseOutcome, error) {
	ids := []string{nd.BeneficiaryID}
	if nd.Check != nil {
		ids = append(ids, nd.Check.AppointmentID)
	}
	s, err := s.locate(ctx, ids...)
	if err != nil {
		return DoseOutcome{}, fmt.Errorf("record dose: %w", err)
	}
	for range 5 {
		out, err := s.recordDose(ctx, nd, confirm)
		if errors.Is(err, errCertTaken) {
			continue
		}
		return out, err
	}
	return DoseOutcome{}, errors.New("record dose: no free certificate id after 5 tries")
}

func (s *Store) recordDose(ctx context.Context, nd NewDose, confirm Confirmations) (DoseOutcome, error) {
	now := s.now().UTC()
	shard := s.shardOf(nd.BeneficiaryID)
	cert, err := digitsIn(shard, 10)
	if err != nil {
		return DoseOutcome{}, fmt.Errorf("record dose: %w", err)
	}
	d := Dose{Vaccine: nd.Vaccine, Batch: nd.Batch, Date: nd.Date, CenterID: nd.CenterID,
		CertificateID: cert, RecordedAt: now}
	msgID := newMessageID(shard, now)
	schedule, err := scheduleTable(nd.Date, s.precaution)
	if err != nil {
		return DoseOutcome{}, fmt.Errorf("record dose: %w", err)
	}
	// The appointment and idempotency slots stay "" (never touched) for a
	// walk-in and a request without a key.
	if nd.Mobile != "" && shardOfMobile(nd.Mobile) != shard {
		return DoseOutcome{}, fmt.Errorf("record dose: %s is not the mobile of beneficiary %s", nd.Mobile, nd.BeneficiaryID)
	}
	// Without the mobile the confirmation is owed and no history touched:
	// the history of "" would be another shard's key.
	history := s.unusedKey(shard)
	if nd.Mobile != "" {
		history = s.historyKey(nd.Mobile)
	}
	keys := []string{s.beneficiaryKey(nd.BeneficiaryID), s.certificateKey(cert),
		s.notificationsKey(shard), s.messageKey(msgID), history, s.pendingKey(shard), s.unusedKey(shard), s.unusedKey(shard)}
	args := []any{"", nd.Date, "", MaxCodeAttempts, nd.BeneficiaryID, now.UnixMilli(), "", cert, "",
		ConfirmationNotification(nd.BeneficiaryID, cert, msgID), msgID, s.retention.Milliseconds(), s.historyLimit,
		"", 0, schedule, 0, s.dueKey(shard, "")}
	if c := nd.Check; c != nil {
		if !validID(c.AppointmentID) {
			return DoseOutcome{}, ErrNotFound
		}
		if s.shardOf(c.AppointmentID) != shard {
			return DoseOutcome{}, s.foreignAppointment(ctx, nd.BeneficiaryID, *c)
		}
		d.AppointmentID, d.CenterID = c.AppointmentID, ""
		keys[6] = s.appointmentKey(c.AppointmentID)
		args[0], args[1], args[2], args[8] = c.CenterID, c.Today, s.codeHashes(c.AppointmentID, c.Code), c.AppointmentID
	}
	if k := nd.Idempotency; k != nil {
		keys[7] = s.idempotencyKey(tag(shard), k.Scope, k.Key)
		args[13], args[14] = k.Fingerprint, k.TTL.Milliseconds()
	}
	args[6] = storedDose(d)
	if confirm != nil {
		if nd.Mobile == "" {
			return DoseOutcome{}, errors.New("record dose: confirmations need the mobile")
		}
		partial, full, err := confirm(cert)
		if err != nil {
			return DoseOutcome{}, fmt.Errorf("record dose: %w", err)
		}
		args[16] = "1"
		for _, c := range []Confirmation{partial, full} {
			args = append(args, c.Prefix, c.Suffix)
			for _, by := range c.ByDigits {
				args = append(args, by.Encoding, by.Segments)
			}
		}
		nm := partial.NewMessage
		if nm.Masked != "" {
			return DoseOutcome{}, errors.New("record dose: a confirmation carries no secret")
		}
		nm.Body = partial.Prefix + "1" + partial.Suffix // for the checks; the step writes its own
		_, fields, err := s.messageRecord(nm, msgID, now)
		if err != nil {
			return DoseOutcome{}, fmt.Errorf("record dose: confirmation: %w", err)
		}
		args = append(args, recordFieldsExcept(fields, "body", "encoding", "segments")...)
	}
	res, err := s.ackedPath(ctx, recordDoseScript, keys, args...).Slice()
	if err != nil {
		return DoseOutcome{}, fmt.Errorf("record dose: %w", err)
	}
	switch res[0] {
	case "idem_mismatch", "idem_running":
		return DoseOutcome{}, idempotencyAnswer(res)
	case "idem_answer":
		// A key whose first request the idempotency middleware answered
		// (before doses kept their outcome in their step): its answer as sent.
		return DoseOutcome{Replayed: true}, idempotencyAnswer(res)
	case "replay":
		return replayedDose(d, res[1])
	case "ok":
	default:
		if err, ok := scheduleRefusal(res); ok {
			return DoseOutcome{}, err
		}
		return DoseOutcome{}, codeOutcome(res)
	}
	n, _ := res[1].(int64)
	course, _ := res[2].(int64)
	out := DoseOutcome{Dose: d, Course: int(course)}
	out.Dose.Number = int(n)
	out.MessageID, _ = res[3].(string)
	if center, _ := res[4].(string); center != "" {
		out.Dose.CenterID = center
	}
	out.Owed = res[5] == int64(1)
	return out, nil
}

// foreignAppointment answers a dose checked against an appointment of
// another shard's citizen, which the dose step cannot read, as the code
// rules would (checkCodeLua): not found, another centre's, or another
// person's.
func (s *Store) foreignAppointment(ctx context.Context, beneficiaryID string, c CodeCheck) error {
	var ben *redis.IntCmd
	var appt *redis.SliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ben = p.Exists(ctx, s.beneficiaryKey(beneficiaryID))
		appt = p.HMGet(ctx, s.appointmentKey(c.AppointmentID), "center")
		return nil
	}); err != nil {
		return fmt.Errorf("record dose: %w", err)
	}
	center, ok := appt.Val()[0].(string)
	switch {
	case ben.Val() == 0 || !ok:
		return ErrNotFound
	case c.CenterID != "" && center != c.CenterID:
		return ErrWrongCenter
	}
	return ErrWrongPerson
}

// AnsweredError carries the answer kept for an idempotency key in the
// middleware's form (status and body as sent), to be sent again as it is.
type AnsweredError struct{ Replay Replay }

func (e *AnsweredError) Error() string {
	return fmt.Sprintf("answered before with status %d", e.Replay.Status)
}

// replayedDose rebuilds the outcome an earlier request kept. The request
// matched its fingerprint, so vaccine, batch and appointment are the same.
func replayedDose(d Dose, flat any) (DoseOutcome, error) {
	h := pairs(flat)
	out := DoseOutcome{Replayed: true}
	if h["outcome"] != "ok" {
		left, _ := strconv.ParseInt(h["left"], 10, 64)
		return out, codeOutcome([]any{h["outcome"], left})
	}
	n, _ := strconv.Atoi(h["n"])
	out.Course, _ = strconv.Atoi(h["course"])
	out.MessageID, out.Owed = h["msg"], h["owed"] == "1"
	d.Number, d.CertificateID, d.Date, d.RecordedAt = n, h["cert"], h["date"], msTime(h["at"])
	if h["center"] != "" {
		d.CenterID = h["center"]
	}
	out.Dose = d
	return out, nil
}

// pairs reads a flat HGETALL answer from a script.
func pairs(flat any) map[string]string {
	list, _ := flat.([]any)
	h := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		v, _ := list[i+1].(string)
		h[k] = v
	}
	return h
}

// recordFieldsExcept drops the named fields from a record's field pairs.
func recordFieldsExcept(fields []any, drop ...string) []any {
	out := make([]any, 0, len(fields))
	for i := 0; i+1 < len(fields); i += 2 {
		name, _ := fields[i].(string)
		if !slices.Contains(drop, name) {
			out = append(out, fields[i], fields[i+1])
		}
	}
	return out
}
