package store

import "errors"

// Idempotency outcomes for a request that carries a key already seen.
var (
	ErrIdempotencyMismatch = errors.New("idempotency key reused with another request")
	ErrIdempotencyRunning  = errors.New("a request with this idempotency key is in progress")
)

// Replay is the first answer to a request, given again to its repeats.
type Replay struct {
	Status int
	Body   []byte
}

// Kept renders what an idempotent step keeps for its key's repeats once
// the record the step makes (or the message it sends) is known: the
// answer to the change done and to the refusal the step keeps, as sent.
type Kept[T any] func(v T) (done, refused Replay, err error)

// keptFor is idem (kept under tag, the step's) with the answers kept
// renders for v, as keptAnswersLua reads them: the key, then its
// fingerprint, TTL and the two answers; no key and an empty fingerprint
// without idem. It is keptAnswers, the booking's and the cancel's, for a
// step that is not an appointment's.
func keptFor[T any](s *Store, tag string, v T, idem *IdempotencyKey, kept Kept[T]) ([]string, []any, error) {
	var answers Answers
	if kept != nil {
		answers = func(Appointment, string) (Replay, Replay, error) { return kept(v) }
	}
	return s.keptAnswers(tag, Appointment{}, "", true, idem, answers)
}
