package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// NewOTPTxn starts a verification: verifier asks about beneficiary ("" when
// the name and mobile matched nobody: the transaction then fails every
// confirm exactly like a wrong OTP, so nobody can tell). Only the OTP's
// keyed hash is stored.
func (s *Store) NewOTPTxn(ctx context.Context, verifierID, beneficiaryID, otp string, validFor time.Duration) (string, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("new otp transaction: %w", err)
	}
	txn := hex.EncodeToString(raw[:])
	now := s.now()
	key := s.kyvsKey(txn)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "verifier", verifierID, "ben", beneficiaryID, "otp_hash", s.codeHash.sum("kyvs", txn, otp),
			"tries", 0, "expires_at", now.Add(validFor).UnixMilli(), "created_at", now.UnixMilli())
		p.PExpire(ctx, key, validFor+kyvsKeep)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("new otp transaction: %w", err)
	}
	return txn, nil
}

// confirmOTPScript applies the OTP rules in one step: the verifier that
// created the transaction only; expired, used or burnt → expired; a wrong
// OTP spends a try and the last one burns it.
var confirmOTPScript = redis.NewScript(`
local t = redis.call('HMGET', KEYS[1], 'verifier', 'ben', 'otp_hash', 'tries', 'expires_at', 'used')
if not t[1] then return {'expired'} end
if t[1] ~= ARGV[1] then return {'other'} end
if t[6] or tonumber(t[4]) >= tonumber(ARGV[4]) or tonumber(t[5]) < tonumber(ARGV[3]) then return {'expired'} end
if t[2] == '' or t[3] ~= ARGV[2] then
  local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
  return {'mismatch', tonumber(ARGV[4]) - tries}
end
redis.call('HSET', KEYS[1], 'used', ARGV[3])
return {'ok', t[2]}
`)

// ConfirmOTP checks an OTP for txn on behalf of verifierID and returns the
// beneficiary it unlocks. The transaction is single use.
func (s *Store) ConfirmOTP(ctx context.Context, txn, verifierID, otp string) (string, error) {
	if len(txn) != 32 {
		return "", ErrOTPExpired
	}
	res, err := confirmOTPScript.Run(ctx, s.rdb, []string{s.kyvsKey(txn)},
		verifierID, s.codeHash.sum("kyvs", txn, otp), s.now().UnixMilli(), MaxOTPTries).Slice()
	if err != nil {
		return "", fmt.Errorf("confirm otp: %w", err)
	}
	switch res[0] {
	case "ok":
		ben, _ := res[1].(string)
		return ben, nil
	case "other":
		return "", ErrOTPOtherCaller
	case "mismatch":
		left, _ := res[1].(int64)
		return "", &OTPMismatchError{AttemptsLeft: int(max(0, left))}
	}
	return "", ErrOTPExpired
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
