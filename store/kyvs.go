package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// KYVS outcomes.
var (
	ErrOTPExpired     = errors.New("otp expired, used or burnt")
	ErrOTPOtherCaller = errors.New("transaction belongs to another verifier")
	errOTPMismatch    = errors.New("otp mismatch")
)

// MaxOTPTries is how many wrong OTPs burn a transaction.
const MaxOTPTries = 3

// OTPMismatchError is a wrong OTP; AttemptsLeft more are allowed.
type OTPMismatchError struct{ AttemptsLeft int }

func (e *OTPMismatchError) Error() string {
	return fmt.Sprintf("otp mismatch, %d attempts left", e.AttemptsLeft)
}

func (e *OTPMismatchError) Unwrap() error { return errOTPMismatch }

// kyvsKeep is how long a transaction is kept after its OTP expires, so a
// late confirm is told "expired", not "unknown".
const kyvsKeep = time.Hour

// askScript is the first step of an OTP request: what matching the name
// needs read — the mobile's beneficiaries and its chosen language. KEYS:
// the mobile's beneficiaries, its choices. Answer: {{ids}, lang}.
var askScript = redis.NewScript(`
return {redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGET', KEYS[2], 'lang') or ''}
`)

// Asked is what AskAbout found.
type Asked struct {
	Allowed        bool          // within the verifier's limit
	RetryAfter     time.Duration // when not
	BeneficiaryIDs []string      // on the mobile, oldest first
	Prefs          MobilePrefs   // the mobile's language
}

// AskAbout spends one of the verifier's perWindow requests (limit name)
// and reads the beneficiaries registered on mobile, in one round trip: two
// steps in one pipeline, for the limit is the verifier's and the people
// are the mobile's (two slots). The people are read even when the limit
// refuses; nothing is answered about them then.
func (s *Store) AskAbout(ctx context.Context, limit string, perWindow int, window time.Duration, mobile string) (Asked, error) {
	if perWindow <= 0 {
		return Asked{}, fmt.Errorf("ask about a mobile: limit %d is not positive", perWindow)
	}
	now := s.now()
	cmds := s.sendAll(ctx, []scriptCall{
		{script: slidingWindowScript, keys: []string{s.limitKey(limit)},
			args: []any{now.UnixMilli(), window.Milliseconds(), perWindow, newEntryID(now)}},
		{script: askScript, keys: []string{s.mobileBeneficiariesKey(mobile), s.mobileKey(mobile)}},
	})
	allowed, err := cmds[0].Slice()
	if err != nil {
		return Asked{}, fmt.Errorf("ask about a mobile: %w", err)
	}
	if allowed[0] != int64(1) {
		wait, _ := allowed[1].(int64)
		return Asked{RetryAfter: time.Duration(max(wait, 1)) * time.Millisecond}, nil
	}
	res, err := cmds[1].Slice()
	if err != nil {
		return Asked{}, fmt.Errorf("ask about a mobile: %w", err)
	}
	a := Asked{Allowed: true}
	ids, _ := res[0].([]any)
	for _, id := range ids {
		if v, ok := id.(string); ok {
			a.BeneficiaryIDs = append(a.BeneficiaryIDs, v)
		}
	}
	a.Prefs.Language, _ = res[1].(string)
	return a, nil
}

// startOTPScript is the second step: the transaction, and for a match the
// OTP SMS recorded and one of the mobile's hourly OTPs spent — past the
// mobile's budget no SMS goes and the transaction matches nobody, so the
// answer still says nothing. KEYS: transaction, [the mobile's OTP budget,
// the SMS's record, history, pending]. ARGV: 1 now ms, 2 lifetime ms,
// 3 window ms, 4 budget, 5 entry, 6 SMS id, 7 retention ms, 8 history
// limit, 9 the transaction's field count, its pairs, then the SMS's pairs.
var startOTPScript = redis.NewScript(recordMessageLua + slidingWindowLua + `
local n = tonumber(ARGV[9])
local fields = {unpack(ARGV, 10, 9 + n)}
local sent = ''
if KEYS[2] and allow_in_window(KEYS[2], ARGV[1], ARGV[3], ARGV[4], ARGV[5])[1] == 1 then
  record_message(KEYS[3], KEYS[4], ARGV[6], ARGV[7], ARGV[8], {unpack(ARGV, 10 + n)})
  redis.call('ZADD', KEYS[5], ARGV[1], ARGV[6])
  sent = ARGV[6]
else
  for i = 1, #fields, 2 do
    if fields[i] == 'ben' then fields[i + 1] = '' end
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return sent
`)

// OTPBudget is how many OTP SMS one mobile may get in Window.
type OTPBudget struct {
	Max    int
	Window time.Duration
}

// StartOTP starts a verification: verifier verifierID asks about
// beneficiaryID ("" when the name and mobile matched nobody: the
// transaction then fails every confirm exactly like a wrong OTP, so nobody
// can tell); only the OTP's keyed hash is stored. For a match it records
// the OTP SMS in the same step, within the mobile's budget. It returns the transaction and the SMS's id ("" when
// none went: no match, or past the budget).
func (s *Store) StartOTP(ctx context.Context, verifierID, beneficiaryID, otp string, validFor time.Duration, budget OTPBudget, sms *NewMessage) (string, string, error) {
	// The transaction lives with the beneficiary; one that matched nobody
	// in any shard, so that its id looks the same.
	s, err := s.locate(ctx, beneficiaryID)
	if err != nil {
		return "", "", fmt.Errorf("start otp: %w", err)
	}
	shard := s.shardOf(beneficiaryID)
	if beneficiaryID == "" {
		shard = randomShard()
	}
	txn := newTxnID(shard)
	now := s.now()
	fields := []any{"verifier", verifierID, "ben", beneficiaryID, "otp_hash", s.codeHash.sum("kyvs", txn, otp), "kid", s.id,
		"tries", 0, "expires_at", now.Add(validFor).UnixMilli(), "created_at", now.UnixMilli()}
	keys := []string{s.kyvsKey(txn)}
	args := []any{now.UnixMilli(), (validFor + kyvsKeep).Milliseconds(), budget.Window.Milliseconds(), budget.Max, newEntryID(now), "", s.retention.Milliseconds(), s.historyLimit, len(fields)}
	args = append(args, fields...)
	if beneficiaryID != "" && sms != nil {
		if shardOfMobile(sms.To) != shard {
			return "", "", fmt.Errorf("start otp: %s is not the mobile of beneficiary %s", sms.To, beneficiaryID)
		}
		m, mfields, err := s.messageRecord(*sms, newMessageID(shard, now), now)
		if err != nil {
			return "", "", fmt.Errorf("start otp: %w", err)
		}
		keys = append(keys, s.otpBudgetKey(m.To), s.messageKey(m.ID), s.historyKey(m.To), s.pendingKey(shard))
		args[5] = m.ID
		args = append(args, mfields...)
	}
	sent, err := s.ackedPath(ctx, startOTPScript, keys, args...).Text()
	if err != nil {
		return "", "", fmt.Errorf("start otp: %w", err)
	}
	return txn, sent, nil
}

// confirmOTPScript applies the OTP rules in one step: the verifier that
// created the transaction only; expired, used or burnt → expired; a wrong
// OTP spends a try and the last one burns it. A match reads back, in the
// same step, what the answer and the citizen's notice need: the
// beneficiary with their doses (one JSON array) and their mobile's
// choices. Those keys are named from the transaction's beneficiary and
// that beneficiary's mobile, read here, so the script is given what stands
// before and after the id in each (keyParts) instead of a second and a
// third round trip; like the USSD step, it needs the keys on one node.
//
// KEYS: transaction. ARGV: 1 verifier, 2 OTP hashes (codeHashes), 3 now ms, 4 max tries,
// 5-8 before and after the id in the keys of a beneficiary and a
// mobile's choices.
// Answer: {'ok', beneficiary pairs (with their doses), lang, opted_out} or
// a refusal.
var confirmOTPScript = redis.NewScript(hashInLua + `
local t = redis.call('HMGET', KEYS[1], 'verifier', 'ben', 'otp_hash', 'tries', 'expires_at', 'used')
if not t[1] then return {'expired'} end
if t[1] ~= ARGV[1] then return {'other'} end
if t[6] or tonumber(t[4]) >= tonumber(ARGV[4]) or tonumber(t[5]) < tonumber(ARGV[3]) then return {'expired'} end
if t[2] == '' or not hash_in(t[3], ARGV[2]) then
  local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
  return {'mismatch', tonumber(ARGV[4]) - tries}
end
redis.call('HSET', KEYS[1], 'used', ARGV[3])
local ben = redis.call('HGETALL', ARGV[5] .. t[2] .. ARGV[6])
if #ben == 0 then return {'gone'} end
local mobile = ''
for i = 1, #ben, 2 do
  if ben[i] == 'mobile' then mobile = ben[i + 1] end
end
local prefs = redis.call('HMGET', ARGV[7] .. mobile .. ARGV[8], 'lang', 'opted_out')
return {'ok', ben, prefs[1] or '', prefs[2] or ''}
`)

// Verified is what a matching OTP unlocks, read in the step that spent it.
type Verified struct {
	Beneficiary Beneficiary
	Prefs       MobilePrefs // of the beneficiary's mobile
}

// ConfirmOTP checks an OTP for txn on behalf of verifierID and returns the
// beneficiary it unlocks, with their doses and their mobile's choices, in
// one step. The transaction is single use. ErrNotFound: the beneficiary
// was deleted after the OTP was sent (the OTP is spent all the same).
func (s *Store) ConfirmOTP(ctx context.Context, txn, verifierID, otp string) (Verified, error) {
	if len(txn) != 32 || !validID(txn) {
		return Verified{}, ErrOTPExpired
	}
	args := append([]any{verifierID, s.codeHashes("kyvs", txn, otp), s.now().UnixMilli(), MaxOTPTries},
		keyParts(s.shardOf(txn), s.beneficiaryKey)...)
	args = append(args, s.mobileKeyParts(s.shardOf(txn))...)
	res, err := s.ackedPath(ctx, confirmOTPScript, []string{s.kyvsKey(txn)}, args...).Slice()
	if err != nil {
		return Verified{}, fmt.Errorf("confirm otp: %w", err)
	}
	switch res[0] {
	case "ok":
	case "gone":
		return Verified{}, ErrNotFound
	case "other":
		return Verified{}, ErrOTPOtherCaller
	case "mismatch":
		left, _ := res[1].(int64)
		return Verified{}, &OTPMismatchError{AttemptsLeft: int(max(0, left))}
	default:
		return Verified{}, ErrOTPExpired
	}
	if len(res) != 4 {
		return Verified{}, fmt.Errorf("confirm otp: unexpected answer of %d values", len(res))
	}
	b, err := beneficiaryWithDoses(pairs(res[1]))
	if err != nil {
		return Verified{}, fmt.Errorf("confirm otp: %w", err)
	}
	v := Verified{Beneficiary: b}
	v.Prefs.Language, _ = res[2].(string)
	out, _ := res[3].(string)
	v.Prefs.OptedOut = out != "" && out != "0"
	return v, nil
}

// Allow spends one of limit events allowed under name in window; when none
// is left it says how long to wait. Shared by every process.
func (s *Store) Allow(ctx context.Context, name string, limit int, window time.Duration) (bool, time.Duration, error) {
	ok, wait, err := s.allowInWindow(ctx, s.limitKey(name), limit, window)
	if err != nil {
		return false, 0, fmt.Errorf("limit %s: %w", name, err)
	}
	return ok, wait, nil
}
