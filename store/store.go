// Package store owns every byte Sandesh keeps in Redis: the types, the keys,
// their lifetimes and the rules that must hold atomically.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/memo"
)

// ErrNotFound is returned when a record does not exist (or has expired).
var ErrNotFound = errors.New("not found")

// Options shape a Store.
type Options struct {
	// Prefix starts every key; default "sandesh:".
	Prefix string
	// Retention is how long message records and histories live; default 90 days.
	Retention time.Duration
	// HistoryLimit bounds the per-mobile message history; default 200.
	HistoryLimit int
	// Secret keys the encryption of message bodies that carry codes or OTPs
	// and the keyed hashes of codes, OTPs, API keys and sessions.
	Secret []byte
	// PreviousSecrets are secrets replaced by Secret: what they keyed still
	// works until it is re-keyed or expires (see keyring).
	PreviousSecrets [][]byte
	// Now is the clock; default time.Now. Tests move it.
	Now func() time.Time
	// PrecautionReminders puts beneficiaries with a complete course in the
	// due index for their precaution dose (config reminders.precaution).
	// Off, they are left out: at national scale most people.
	PrecautionReminders bool
}

// Store is the Redis-backed state of the gateway. It is safe for concurrent use.
type Store struct {
	rdb          redis.UniversalClient
	prefix       string
	retention    time.Duration
	historyLimit int
	keyring                // the current secret's: everything new
	previous     []keyring // the previous secrets': reading only
	now          func() time.Time
	precaution   bool
	batch        *batcher
	replicas     *replicas
	// cluster: a step may touch one slot only (see stepGroups).
	cluster  bool
	profiles *memo.Map[Profile]
	centers  *memo.Map[Center]
	moved    *movedIDs
	// located: the shards of moved records a step of this view names
	// (locate); nil in the store New makes.
	located map[string]string
}

// New wraps a Redis client. The client is owned by the caller.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if len(opts.Secret) < 16 {
		return nil, errors.New("new store: secret must be at least 16 bytes")
	}
	if opts.Prefix == "" {
		opts.Prefix = "sandesh:"
	}
	if opts.Retention <= 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 200
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	current, previous, err := keyrings(opts.Secret, opts.PreviousSecrets)
	if err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	_, cluster := rdb.(*redis.ClusterClient)
	reps := &replicas{}
	return &Store{
		rdb:          rdb,
		cluster:      cluster,
		prefix:       opts.Prefix,
		retention:    opts.Retention,
		historyLimit: opts.HistoryLimit,
		keyring:      current,
		previous:     previous,
		now:          opts.Now,
		precaution:   opts.PrecautionReminders,
		batch:        newBatcher(rdb, reps),
		replicas:     reps,
		profiles:     memo.New[Profile](profileCacheSize),
		centers:      memo.New[Center](centerCacheSize),
		moved:        newMovedIDs(),
	}, nil
}

// sendPath runs one of the scripts of the hot paths (a request's step, a
// claim, an outcome) in a pipeline shared with other callers when there
// are any (see batcher).
func (s *Store) sendPath(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	return s.batch.run(ctx, script, keys, args...)
}

// ackedPath is sendPath for a step whose success the API acknowledges:
// it returns only once a replica holds it, where the master has one
// (ErrNotReplicated when none confirms; see replication.go).
func (s *Store) ackedPath(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	return s.batch.runCall(ctx, scriptCall{script: script, keys: keys, args: args, ack: true})
}

// OwnPipelines returns the store with pipelines of its own for the scripts
// every message passes through (see batcher): a lane whose latency matters
// (OTPs) then never waits behind the pipelines of a busy one.
func (s *Store) OwnPipelines() *Store {
	c := *s
	c.batch = newBatcher(s.rdb, s.replicas)
	return &c
}

// Ping reports whether Redis answers: on a cluster, every master the
// client knows (a dead one fails it until its replica has taken over and
// the client has learned so).
func (s *Store) Ping(ctx context.Context) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
		if err != nil {
			return fmt.Errorf("ping redis cluster: %w", err)
		}
		return nil
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Redis exposes the client for packages that keep their own structures in
// the same server (rate limits, breaker flags).
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// Prefix is the key prefix, for those same packages.
func (s *Store) Prefix() string { return s.prefix }

// MarkOnce sets a named marker and reports whether this call set it, so
// one-time setup (demo data) runs once however many processes start.
func (s *Store) MarkOnce(ctx context.Context, name string) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.markerKey(name), s.now().UnixMilli(), 0).Result()
	if err != nil {
		return false, fmt.Errorf("mark %s: %w", name, err)
	}
	return ok, nil
}

// Unmark clears a marker set by MarkOnce.
func (s *Store) Unmark(ctx context.Context, name string) error {
	if err := s.rdb.Del(ctx, s.markerKey(name)).Err(); err != nil {
		return fmt.Errorf("unmark %s: %w", name, err)
	}
	return nil
}
