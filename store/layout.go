package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// layoutVersion names the key layout this version writes: 2 is the one
// with shard tags (tags.go). Data an earlier version wrote (layout 1, no
// tags) is unreachable under it.
const layoutVersion = "2"

// ErrEarlierLayout: Redis holds data in a key layout this version cannot
// read.
var ErrEarlierLayout = errors.New("redis holds data of an earlier version's key layout")

// layoutKey names the layout the data under the prefix is in.
func (s *Store) layoutKey() string { return s.prefix + "layout" }

// CheckLayout makes sure the data under the prefix is in this version's
// layout, and marks an empty store so: it refuses (ErrEarlierLayout) data
// an earlier version wrote, which this one would not find, rather than
// start beside it.
func (s *Store) CheckLayout(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.layoutKey()).Result()
	switch {
	case err == nil && v == layoutVersion:
		return s.loadMoved(ctx)
	case err == nil && v == layoutMigrating:
		return fmt.Errorf("check key layout: %w: a migration to layout %s has not finished; run `sandesh migrate` again", ErrEarlierLayout, layoutVersion)
	case err == nil:
		return fmt.Errorf("check key layout: %w: layout %q, this version writes %s", ErrEarlierLayout, v, layoutVersion)
	case !errors.Is(err, redis.Nil):
		return fmt.Errorf("check key layout: %w", err)
	}
	if key, err := s.earlierLayoutKey(ctx); err != nil {
		return fmt.Errorf("check key layout: %w", err)
	} else if key != "" {
		return fmt.Errorf("check key layout: %w (%s)", ErrEarlierLayout, key)
	}
	if err := s.rdb.SetNX(ctx, s.layoutKey(), layoutVersion, 0).Err(); err != nil {
		return fmt.Errorf("check key layout: %w", err)
	}
	return nil
}

// earlierLayoutKey finds a key only an earlier layout has: a record named
// by id or mobile without a shard tag, or a shared set that is one set
// there. "" when there is none.
func (s *Store) earlierLayoutKey(ctx context.Context) (string, error) {
	for _, k := range []string{"msgs:pending", "msgs:inflight", "notify:owed", "dead", "apikeys", "audit", "workers"} {
		n, err := s.rdb.Exists(ctx, s.prefix+k).Result()
		if err != nil {
			return "", err
		}
		if n > 0 {
			return s.prefix + k, nil
		}
	}
	var found string
	stop := errors.New("found")
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := s.scanKeys(ctx, s.prefix+"*", "", func(keys []string) error {
		for _, k := range keys {
			rest := strings.TrimPrefix(k, s.prefix)
			for _, kind := range []string{"ben:", "msg:", "appt:", "mobile:", "cert:", "kyvs:", "idem:"} {
				if strings.HasPrefix(rest, kind) && !strings.HasPrefix(rest[len(kind):], "{") {
					found = k
					return stop
				}
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return "", err
	}
	return found, nil
}
