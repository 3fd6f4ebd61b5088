package store

import (
	"context"
	"fmt"
	"time"
)

// turnShare is the part of a period a turn is held for: a little under
// the period, so that whoever ticks next after it takes the next turn,
// the holder included, and the job runs about once a period.
const turnShare = 0.9

// TakeTurn reports whether holder runs the periodic job now. Every
// process ticks; the first to ask in a period takes the turn (one SET NX
// with an expiry) and the others skip theirs, so N processes run a
// sweeper once a period between them, not N times. A holder that dies
// only loses its turn: the key expires before the next period.
func (s *Store) TakeTurn(ctx context.Context, job, holder string, period time.Duration) (bool, error) {
	held := max(time.Duration(float64(period)*turnShare), time.Millisecond)
	ok, err := s.rdb.SetNX(ctx, s.turnKey(job), holder, held).Result()
	if err != nil {
		return false, fmt.Errorf("take turn of %s: %w", job, err)
	}
	return ok, nil
}
