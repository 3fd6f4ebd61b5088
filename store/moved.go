package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/memo"
)

// Records an earlier version wrote (layout 1, see layout.go) keep their
// ids when `sandesh migrate` moves them into their citizen's shard, for
// those ids are printed on slips and certificates and kept by centres and
// clients. Such an id does not name its shard: a beneficiary's first
// three digits were random, and an appointment's or a message's (27 hex
// characters, against 30 now) start with the time in hex ("1a2…"), which
// names none. So migrate leaves, for each record whose id names another
// shard than its own, a pointer movedKey(id) → shard, and a step reads it
// (once per process and id) before it builds a key from the id (locate).
// A store that migrate never wrote to does none of this: movedIDs is off
// and shardOf is shardOfID.

// movedCacheSize bounds the ids a process remembers the shard of: about
// 60 bytes each.
const movedCacheSize = 200_000

// movedIDs is what a process knows of moved records.
type movedIDs struct {
	on     atomic.Bool // migrate moved records here (movedMarkerKey)
	shards *memo.Map[string]
}

func newMovedIDs() *movedIDs { return &movedIDs{shards: memo.New[string](movedCacheSize)} }

// movedMarkerKey counts the pointers migrate wrote; it exists only where
// some were.
func (s *Store) movedMarkerKey() string { return s.prefix + "moved" }

// movedKey is the pointer to the shard of the record an earlier version
// named id. It lives in the slot a new id of the same digits would name
// (so a step issuing a new id can see, in its own slot, that an earlier
// record has it: see createBeneficiaryScript), or, for an id that names
// none, in one the id hashes to.
func (s *Store) movedKey(id string) string {
	return s.prefix + "moved:" + tag(movedSlot(id)) + ":" + id
}

func movedSlot(id string) string {
	if sh := shardOfID(id); sh != "000" {
		return sh
	}
	return shardOfMobile(id)
}

// mayHaveMoved tells an id an earlier version could have issued: a
// beneficiary's 14 digits or a message's or an appointment's 27 hex
// characters (certificates are never looked up by id, and KYVS
// transactions are not migrated).
func mayHaveMoved(id string) bool {
	switch len(id) {
	case 14:
		for i := range len(id) {
			if id[i] < '0' || id[i] > '9' {
				return false
			}
		}
		return true
	case 27:
		for i := range len(id) {
			if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	return false
}

// shardOf is the shard whose keys hold the record named id: the one its
// digits name, unless the locate that made this view of the store found it
// moved.
func (s *Store) shardOf(id string) string {
	if sh, ok := s.located[id]; ok {
		return sh
	}
	return shardOfID(id)
}

// locate finds where the records named by ids that an earlier version
// could have issued are, and answers a view of the store whose shardOf
// knows them: every store method that builds keys from ids it was given
// (or read outside its step) calls it first and goes on with the view. It
// asks Redis (one round trip for all of ids) only about ids this process
// has not met; where migrate moved no record it does nothing. The answer
// rides in the view, not only in the process's cache, so that a cache
// full of other ids cannot lose it between here and the step.
func (s *Store) locate(ctx context.Context, ids ...string) (*Store, error) {
	if !s.moved.on.Load() {
		return s, nil
	}
	var found map[string]string
	note := func(id, sh string) {
		if sh == shardOfID(id) {
			return
		}
		if found == nil {
			found = maps.Clone(s.located)
			if found == nil {
				found = map[string]string{}
			}
		}
		found[id] = sh
	}
	var ask []string
	for _, id := range ids {
		if _, ok := s.located[id]; ok || !mayHaveMoved(id) {
			continue
		}
		if sh, ok := s.moved.shards.Get(id); ok {
			note(id, sh)
		} else {
			ask = append(ask, id)
		}
	}
	if len(ask) > 0 {
		cmds := make([]*redis.StringCmd, len(ask))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ask {
				cmds[i] = p.Get(ctx, s.movedKey(id))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("locate moved records: %w", err)
		}
		for i, id := range ask {
			sh, err := cmds[i].Result()
			switch {
			case errors.Is(err, redis.Nil):
				sh = shardOfID(id) // never moved: pointers are written only offline, by migrate
			case err != nil:
				return nil, fmt.Errorf("locate moved records: %w", err)
			case !validShard(sh):
				return nil, fmt.Errorf("locate moved records: %s points to %q", id, sh)
			}
			s.moved.shards.Put(id, sh)
			note(id, sh)
		}
	}
	if found == nil {
		return s, nil
	}
	view := *s
	view.located = found
	return &view, nil
}

// knowing is a view of the store whose shardOf answers shards[i] for
// ids[i], read where the shard is known without asking (a history's
// mobile's, a key's tag): no round trip.
func (s *Store) knowing(ids, shards []string) *Store {
	if !s.moved.on.Load() {
		return s
	}
	view := *s
	view.located = maps.Clone(s.located)
	if view.located == nil {
		view.located = map[string]string{}
	}
	for i, id := range ids {
		if shards[i] != shardOfID(id) {
			view.located[id] = shards[i]
		}
	}
	return &view
}

// learnShard remembers that ids, read from a structure of shard (a pending
// set, a due list), live there, sparing their next locate a round trip.
func (s *Store) learnShard(shard string, ids ...string) {
	if !s.moved.on.Load() {
		return
	}
	for _, id := range ids {
		if shardOfID(id) != shard && mayHaveMoved(id) {
			s.moved.shards.Put(id, shard)
		}
	}
}

// loadMoved turns locate on where migrate moved records.
func (s *Store) loadMoved(ctx context.Context) error {
	n, err := s.rdb.Exists(ctx, s.movedMarkerKey()).Result()
	if err != nil {
		return fmt.Errorf("load moved records: %w", err)
	}
	s.moved.on.Store(n > 0)
	return nil
}

func validShard(sh string) bool {
	return len(sh) == 3 && shardOfID(sh) == sh
}
