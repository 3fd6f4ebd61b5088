package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// AppointmentStatus is where a booking is.
type AppointmentStatus string

// The statuses of an appointment.
const (
	AppointmentBooked    AppointmentStatus = "booked"
	AppointmentCancelled AppointmentStatus = "cancelled"
	AppointmentCompleted AppointmentStatus = "completed"
)

// MaxCodeAttempts is how many wrong security codes lock an appointment.
const MaxCodeAttempts = 5

// Code check outcomes, shared by verify-code and dose recording.
var (
	ErrWrongCenter  = errors.New("appointment is at another centre")
	ErrNotActive    = errors.New("appointment is cancelled or used")
	ErrWrongDate    = errors.New("appointment is on another day")
	ErrCodeLocked   = errors.New("too many wrong codes")
	ErrWrongPerson  = errors.New("appointment is for another beneficiary")
	errCertTaken    = errors.New("certificate id taken")
	errCodeMismatch = errors.New("code mismatch")
)

// CodeMismatchError is a wrong code; AttemptsLeft more are allowed.
type CodeMismatchError struct{ AttemptsLeft int }

func (e *CodeMismatchError) Error() string {
	return fmt.Sprintf("code mismatch, %d attempts left", e.AttemptsLeft)
}

func (e *CodeMismatchError) Unwrap() error { return errCodeMismatch }

// Appointment is a booking. The security code is not in it: it is sealed in
// Redis and only SecurityCode opens it.
type Appointment struct {
	ID            string            `json:"id"`
	BeneficiaryID string            `json:"beneficiary_id"`
	CenterID      string            `json:"center_id"`
	Date          string            `json:"date"` // programme time zone, YYYY-MM-DD
	Slot          string            `json:"slot"`
	Dose          int               `json:"dose"`
	Status        AppointmentStatus `json:"status"`
	Attempts      int               `json:"-"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Locked reports whether wrong codes have locked the appointment.
func (a Appointment) Locked() bool { return a.Attempts >= MaxCodeAttempts }

// AttemptsLeft is how many wrong codes may still be tried.
func (a Appointment) AttemptsLeft() int { return max(0, MaxCodeAttempts-a.Attempts) }

// bookScript allows one active appointment per beneficiary. An earlier
// booking whose date has passed no longer counts as active. The slip is
// recorded in the same step (queued and pending, so a lost enqueue is
// swept) or, when none is given, owed (KEYS[3]): either way a crash before
// it is queued does not lose it.
// With an idempotency key (KEYS[7], given with a slip) the answers are
// kept with the step, in the idempotency middleware's form, and a repeat
// gets the first answer back.
// A date before the next dose opens is refused (scheduleLua), and that
// refusal, which changed nothing, is not kept.
// KEYS: beneficiary, appointment, owed, slip's record, history, pending,
// idempotency ("" for each of the last four not given; the idempotency key
// only with a slip). ARGV: 1 today, 2 appointment id, 3 date,
// 4 notification, 5 now ms, 6 the appointment's field count, 7 the
// schedule table for the date (scheduleTable), the field pairs, then the
// fingerprint (empty without a key), its TTL ms, the status and body kept
// when booked and when already booked, then with a slip its id, retention
// ms, history limit and field pairs.
var bookScript = redis.NewScript(recordMessageLua + oweOrRecordLua + keptAnswersLua + dosesLua + scheduleLua + `
local n = tonumber(ARGV[6])
local at = 8 + n
local seen = answered(KEYS[7], at)
if seen then return seen end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local active = redis.call('HGET', KEYS[1], 'active_appt')
local adate = redis.call('HGET', KEYS[1], 'active_date')
if active and active ~= '' and adate and adate >= ARGV[1] then
  keep(KEYS[7], at, false)
  return 0
end
local closed = next_dose_closed(KEYS[1], ARGV[7])
if closed then return closed end
redis.call('HSET', KEYS[2], unpack(ARGV, 8, 7 + n))
redis.call('HSET', KEYS[1], 'active_appt', ARGV[2], 'active_date', ARGV[3])
owe_or_record(at + 6, ARGV[4])
keep(KEYS[7], at, true)
return 1
`)

// keptAnswersLua keeps an idempotency key's answers in the step that
// changes the state, in the idempotency middleware's form (fp, status,
// body), for every keyed step but the dose's: key is the step's
// idempotency key; ARGV from at: the fingerprint (empty without a key), its
// TTL ms, the status and body of the change done, then of the refusal kept.
const keptAnswersLua = `
local function answered(key, at)
  if ARGV[at] == '' then return nil end
  local h = redis.call('HMGET', key, 'fp', 'status', 'body')
  if not h[1] then return nil end
  if h[1] ~= ARGV[at] then return {'idem_mismatch'} end
  if not h[2] then return {'idem_running'} end
  return {'idem_answer', h[2], h[3] or ''}
end
local function keep(key, at, done)
  if ARGV[at] == '' then return end
  local i = at + 4
  if done then i = at + 2 end
  redis.call('HSET', key, 'fp', ARGV[at], 'status', ARGV[i], 'body', ARGV[i + 1])
  redis.call('PEXPIRE', key, ARGV[at + 1])
end
`

// oweOrRecordLua records the message a step owes — ARGV from at: its id,
// retention ms, history limit, field pairs; KEYS[4..6]: its record,
// history, pending — or, when the step was given none, leaves debt owed
// (KEYS[3]) for a sweeper.
const oweOrRecordLua = `
local function owe_or_record(at, debt)
  if ARGV[at] and ARGV[at] ~= '' then
    record_message(KEYS[4], KEYS[5], ARGV[at], ARGV[at + 1], ARGV[at + 2], {unpack(ARGV, at + 3)})
    redis.call('ZADD', KEYS[6], ARGV[5], ARGV[at])
  else
    redis.call('ZADD', KEYS[3], ARGV[5], debt)
  end
end
`

// BookAppointment stores a booking with its security code (sealed, and
// hashed for checking), leaving its slip owed. today is the programme's date.
func (s *Store) BookAppointment(ctx context.Context, a Appointment, code, today string) (Appointment, error) {
	a, _, err := s.Book(ctx, a, code, today, nil, nil, nil)
	return a, err
}

// Owed renders the SMS a step owes once the step's record is known.
type Owed func(a Appointment) (NewMessage, error)

// Answers renders what an idempotent step keeps for its key's repeats,
// once the appointment and its SMS's id are known: the answer to the change
// done and to the refusal kept (an active booking; a cancelled or used
// appointment), as sent.
type Answers func(a Appointment, messageID string) (done, refused Replay, err error)

// Book is BookAppointment that records the slip slip renders in the same
// step, returning its message id ("" with no slip). With idem (and a
// slip) the step keeps the answers answers renders, and a repeat gets an
// *AnsweredError with the first.
func (s *Store) Book(ctx context.Context, a Appointment, code, today string, slip Owed, idem *IdempotencyKey, answers Answers) (Appointment, string, error) {
	s, err := s.locate(ctx, a.BeneficiaryID)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	now := s.now().UTC()
	shard := s.shardOf(a.BeneficiaryID)
	a.ID = newMessageID(shard, now)
	a.Status, a.Attempts, a.CreatedAt, a.UpdatedAt = AppointmentBooked, 0, now, now
	sealed, err := s.codes.seal(code, a.ID)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	fields := []any{"id", a.ID, "ben", a.BeneficiaryID, "center", a.CenterID, "date", a.Date,
		"slot", a.Slot, "dose", a.Dose, "status", string(a.Status), "attempts", 0,
		"code_sealed", sealed, "code_hash", s.codeHash.sum(a.ID, code),
		"created_at", now.UnixMilli(), "updated_at", now.UnixMilli()}
	schedule, err := scheduleTable(a.Date, s.precaution)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	keys := []string{s.beneficiaryKey(a.BeneficiaryID), s.appointmentKey(a.ID), s.notificationsKey(shard)}
	args := append([]any{today, a.ID, a.Date, SlipNotification(a.ID), now.UnixMilli(), len(fields), schedule}, fields...)
	msgKeys, msgArgs, msgID, err := s.owedMessage(a, slip, now)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	idemKeys, idemArgs, err := s.keptAnswers(tag(shard), a, msgID, slip != nil, idem, answers)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	keys = append(append(keys, padded(msgKeys, 3, s.unusedKey(shard))...), padded(idemKeys, 1, s.unusedKey(shard))...)
	args = append(append(args, idemArgs...), msgArgs...)
	res, err := s.ackedPath(ctx, bookScript, keys, args...).Result()
	if err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	if err := stepResult(res, ErrAlreadyBooked); err != nil {
		return Appointment{}, "", fmt.Errorf("book appointment: %w", err)
	}
	return a, msgID, nil
}

// keptAnswers is an idempotency key (under tag, the step's) and its
// answers as keptAnswersLua reads them; a step keeps them only with its
// SMS's keys before (withSMS).
func (s *Store) keptAnswers(tag string, a Appointment, msgID string, withSMS bool, idem *IdempotencyKey, answers Answers) ([]string, []any, error) {
	if idem == nil || answers == nil || !withSMS {
		return nil, []any{"", 0, "", "", "", ""}, nil
	}
	done, refused, err := answers(a, msgID)
	if err != nil {
		return nil, nil, err
	}
	return []string{s.idempotencyKey(tag, idem.Scope, idem.Key)},
		[]any{idem.Fingerprint, idem.TTL.Milliseconds(), done.Status, done.Body, refused.Status, refused.Body}, nil
}

// stepResult reads the answer of a booking's or a cancel's step: 1 done,
// -1 no such record, 0 refused, a booking too early, or an answer about its
// idempotency key.
func stepResult(res any, refusal error) error {
	switch v := res.(type) {
	case int64:
		switch v {
		case -1:
			return ErrNotFound
		case 0:
			return refusal
		}
		return nil
	case []any:
		if err, ok := scheduleRefusal(v); ok {
			return err
		}
		return idempotencyAnswer(v)
	}
	return fmt.Errorf("unexpected answer %v", res)
}

// padded is keys, or n times unused (unusedKey) in their place when there
// are none: a script's optional keys keep their places for the ones after
// them.
func padded(keys []string, n int, unused string) []string {
	if len(keys) > 0 {
		return keys
	}
	out := make([]string, n)
	for i := range out {
		out[i] = unused
	}
	return out
}

// idempotencyAnswer reads a step's answer about a key seen before.
func idempotencyAnswer(res []any) error {
	switch res[0] {
	case "idem_mismatch":
		return ErrIdempotencyMismatch
	case "idem_running":
		return ErrIdempotencyRunning
	case "idem_answer":
		st, _ := res[1].(string)
		body, _ := res[2].(string)
		status, _ := strconv.Atoi(st)
		return &AnsweredError{Replay{Status: status, Body: []byte(body)}}
	}
	return fmt.Errorf("unexpected answer %v", res[0])
}

// owedMessage is the record of the message owed renders for a, if any, as
// oweOrRecordLua reads it: its keys and args, and its id.
func (s *Store) owedMessage(a Appointment, owed Owed, now time.Time) ([]string, []any, string, error) {
	if owed == nil {
		return nil, nil, "", nil
	}
	nm, err := owed(a)
	if err != nil {
		return nil, nil, "", err
	}
	shard := s.shardOf(a.ID)
	if shardOfMobile(nm.To) != shard {
		return nil, nil, "", fmt.Errorf("an SMS about appointment %s goes to another mobile than the beneficiary's", a.ID)
	}
	m, fields, err := s.messageRecord(nm, newMessageID(shard, now), now)
	if err != nil {
		return nil, nil, "", err
	}
	keys := []string{s.messageKey(m.ID), s.historyKey(m.To), s.pendingKey(shard)}
	args := append([]any{m.ID, s.retention.Milliseconds(), s.historyLimit}, fields...)
	return keys, args, m.ID, nil
}

// Appointment loads one appointment.
func (s *Store) Appointment(ctx context.Context, id string) (Appointment, error) {
	if !validID(id) {
		return Appointment{}, ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return Appointment{}, fmt.Errorf("load appointment: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.appointmentKey(id)).Result()
	if err != nil {
		return Appointment{}, fmt.Errorf("load appointment: %w", err)
	}
	if len(h) == 0 {
		return Appointment{}, ErrNotFound
	}
	dose, _ := strconv.Atoi(h["dose"])
	attempts, _ := strconv.Atoi(h["attempts"])
	return Appointment{
		ID: h["id"], BeneficiaryID: h["ben"], CenterID: h["center"], Date: h["date"],
		Slot: h["slot"], Dose: dose, Status: AppointmentStatus(h["status"]), Attempts: attempts,
		CreatedAt: msTime(h["created_at"]), UpdatedAt: msTime(h["updated_at"]),
	}, nil
}

// SecurityCode opens the appointment's code, for resending it.
func (s *Store) SecurityCode(ctx context.Context, id string) (string, error) {
	if !validID(id) {
		return "", ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return "", fmt.Errorf("load security code: %w", err)
	}
	sealed, err := s.rdb.HGet(ctx, s.appointmentKey(id), "code_sealed").Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("load security code: %w", err)
	}
	code, err := s.openCode(sealed, id)
	if err != nil {
		return "", fmt.Errorf("open security code of %s: %w", id, err)
	}
	return code, nil
}

// resendCodeScript spends one resend of an appointment's code under its
// limit and returns the sealed code as it is now, in one step.
// KEYS: resend limit, appointment. ARGV: now ms, window ms, limit, entry.
// Returns {1, sealed code}, {0, ms to wait} or {-1} (no code: nothing spent).
var resendCodeScript = redis.NewScript(slidingWindowLua + `
local sealed = redis.call('HGET', KEYS[2], 'code_sealed')
if not sealed then return {-1} end
local r = allow_in_window(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if r[1] == 0 then return r end
return {1, sealed}
`)

// ResendCode spends one of the perHour resends of appointment id's code —
// the sliding-window log of "appt:"+id, which support's resends share — and
// opens the code as it is now. When none is left it says how long to wait
// and returns no code.
func (s *Store) ResendCode(ctx context.Context, id string, perHour int) (string, time.Duration, error) {
	if !validID(id) {
		return "", 0, ErrNotFound
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return "", 0, fmt.Errorf("resend code: %w", err)
	}
	if perHour <= 0 {
		return "", 0, fmt.Errorf("resend code: limit %d is not positive", perHour)
	}
	now := s.now()
	res, err := s.ackedPath(ctx, resendCodeScript, []string{s.resendLimitKey("appt:" + id), s.appointmentKey(id)},
		now.UnixMilli(), time.Hour.Milliseconds(), perHour, newEntryID(now)).Slice()
	if err != nil {
		return "", 0, fmt.Errorf("resend code: %w", err)
	}
	switch res[0] {
	case int64(-1):
		return "", 0, ErrNotFound
	case int64(0):
		wait, _ := res[1].(int64)
		return "", time.Duration(max(wait, 1)) * time.Millisecond, nil
	}
	sealed, _ := res[1].(string)
	code, err := s.openCode(sealed, id)
	if err != nil {
		return "", 0, fmt.Errorf("open security code of %s: %w", id, err)
	}
	return code, 0, nil
}

// finishScript ends an active appointment (cancel) and frees the
// beneficiary for a new booking; the cancellation SMS is recorded (or
// owed) instead of the slip. With an idempotency key (given with the SMS)
// its answers are kept in the step. KEYS as bookScript's; ARGV: 1 status,
// 2 the appointment id, 3 debt, 4 the slip's debt, 5 now ms, 6–11 the
// key's fingerprint, TTL and answers (keptAnswersLua), then the message.
var finishScript = redis.NewScript(recordMessageLua + oweOrRecordLua + keptAnswersLua + `
local seen = answered(KEYS[7], 6)
if seen then return seen end
local st = redis.call('HGET', KEYS[2], 'status')
if not st then return -1 end
if st ~= 'booked' then
  keep(KEYS[7], 6, false)
  return 0
end
redis.call('HSET', KEYS[2], 'status', ARGV[1], 'updated_at', ARGV[5])
if redis.call('HGET', KEYS[1], 'active_appt') == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'active_appt', 'active_date')
end
redis.call('ZREM', KEYS[3], ARGV[4])
owe_or_record(12, ARGV[3])
keep(KEYS[7], 6, true)
return 1
`)

// CancelAppointment cancels a booked appointment, leaving its cancellation
// SMS owed; ErrNotActive when it is already cancelled or used.
func (s *Store) CancelAppointment(ctx context.Context, id string) (Appointment, error) {
	a, _, err := s.Cancel(ctx, id, nil, nil, nil)
	return a, err
}

// Cancel is CancelAppointment that records the SMS notice renders in the
// same step, returning its message id ("" with none). With idem (and a
// notice) the step keeps the answers answers renders, and a repeat gets an
// *AnsweredError with the first.
func (s *Store) Cancel(ctx context.Context, id string, notice Owed, idem *IdempotencyKey, answers Answers) (Appointment, string, error) {
	s, err := s.locate(ctx, id)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("cancel appointment: %w", err)
	}
	a, err := s.Appointment(ctx, id)
	if err != nil {
		return Appointment{}, "", err
	}
	// The appointment's beneficiary lives in its shard.
	s = s.knowing([]string{a.BeneficiaryID}, []string{s.shardOf(id)})
	now := s.now().UTC()
	keys := []string{s.beneficiaryKey(a.BeneficiaryID), s.appointmentKey(id), s.notificationsKey(s.shardOf(id))}
	args := []any{string(AppointmentCancelled), id, CancellationNotification(id), SlipNotification(id), now.UnixMilli()}
	a.Status, a.UpdatedAt = AppointmentCancelled, now
	msgKeys, msgArgs, msgID, err := s.owedMessage(a, notice, now)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("cancel appointment: %w", err)
	}
	idemKeys, idemArgs, err := s.keptAnswers(tag(s.shardOf(id)), a, msgID, notice != nil, idem, answers)
	if err != nil {
		return Appointment{}, "", fmt.Errorf("cancel appointment: %w", err)
	}
	keys = append(append(keys, msgKeys...), idemKeys...)
	args = append(append(args, idemArgs...), msgArgs...)
	res, err := s.ackedPath(ctx, finishScript, keys, args...).Result()
	if err != nil {
		return Appointment{}, "", fmt.Errorf("cancel appointment: %w", err)
	}
	if err := stepResult(res, ErrNotActive); err != nil {
		return Appointment{}, "", fmt.Errorf("cancel appointment: %w", err)
	}
	return a, msgID, nil
}

// CodeCheck is a security-code check against an appointment.
type CodeCheck struct {
	AppointmentID string
	BeneficiaryID string // "" skips the check that the appointment is theirs
	CenterID      string // "" (admin) accepts any centre
	Code          string
	Today         string
}

// checkCodeLua is the one place the code rules live, shared by verify-code
// and dose recording so both spend the same attempts. Order matters: a
// caller from another centre learns nothing; a locked appointment says so
// before anything else is checked; a wrong day costs no attempt.
// ARGV: centre, today, code hashes (codeHashes), max attempts, beneficiary.
const checkCodeLua = hashInLua + `
local function check(appt)
  local a = redis.call('HMGET', appt, 'status', 'center', 'date', 'attempts', 'code_hash', 'ben')
  if not a[1] then return {'not_found'} end
  if ARGV[1] ~= '' and a[2] ~= ARGV[1] then return {'wrong_center'} end
  if ARGV[5] ~= '' and a[6] ~= ARGV[5] then return {'wrong_person'} end
  if a[1] ~= 'booked' then return {'not_active'} end
  local tries = tonumber(a[4] or '0')
  if tries >= tonumber(ARGV[4]) then return {'locked'} end
  if a[3] ~= ARGV[2] then return {'wrong_date'} end
  if not hash_in(a[5], ARGV[3]) then
    tries = redis.call('HINCRBY', appt, 'attempts', 1)
    return {'mismatch', tonumber(ARGV[4]) - tries}
  end
  return {'ok'}
end
`

var verifyCodeScript = redis.NewScript(checkCodeLua + `return check(KEYS[1])`)

// VerifyCode checks a code without using the appointment up.
func (s *Store) VerifyCode(ctx context.Context, c CodeCheck) error {
	if !validID(c.AppointmentID) {
		return ErrNotFound
	}
	s, err := s.locate(ctx, c.AppointmentID)
	if err != nil {
		return fmt.Errorf("verify code: %w", err)
	}
	res, err := s.ackedPath(ctx, verifyCodeScript, []string{s.appointmentKey(c.AppointmentID)},
		c.CenterID, c.Today, s.codeHashes(c.AppointmentID, c.Code), MaxCodeAttempts, c.BeneficiaryID).Slice()
	if err != nil {
		return fmt.Errorf("verify code: %w", err)
	}
	return codeOutcome(res)
}

func codeOutcome(res []any) error {
	if len(res) == 0 {
		return errors.New("check code: empty answer")
	}
	switch res[0] {
	case "ok":
		return nil
	case "not_found":
		return ErrNotFound
	case "wrong_center":
		return ErrWrongCenter
	case "wrong_person":
		return ErrWrongPerson
	case "not_active":
		return ErrNotActive
	case "locked":
		return ErrCodeLocked
	case "wrong_date":
		return ErrWrongDate
	case "mismatch":
		left, _ := res[1].(int64)
		return &CodeMismatchError{AttemptsLeft: int(max(0, left))}
	case "no_beneficiary":
		return ErrNotFound
	case "cert_taken":
		return errCertTaken
	case "booked":
		return ErrAlreadyBooked
	}
	return fmt.Errorf("check code: unexpected answer %v", res[0])
}
