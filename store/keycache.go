package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyCacheOptions shape a KeyCache; zero values take the defaults.
type KeyCacheOptions struct {
	// PollEvery is how often the keys' version is read; default 250 ms. A
	// revocation reaches every process in about that, and four GETs a
	// second per process cost Redis nothing.
	PollEvery time.Duration
	// MaxStale is how long memory is trusted without a successful poll;
	// default 750 ms. Past it every look-up goes to Redis (and fails while
	// Redis is away), so a key revoked meanwhile is refused within the
	// second API.md promises, with room for a poll already on its way.
	// Keep it a few times PollEvery, or one slow GET sends look-ups to Redis.
	MaxStale time.Duration
	// MaxKeys bounds the valid keys remembered; default 10 000, far more
	// than the programme issues: the bound is for memory only.
	MaxKeys int
	// MaxMisses bounds the unknown or revoked keys remembered; default
	// 10 000 (about 1 MB). Anyone can present junk, so this is the bound
	// that matters.
	MaxMisses int
}

// KeyCache answers APIKeyBySecret from memory, so that an authenticated
// request costs no Redis round trip. It remembers keys by their keyed
// hash, never the clear key. Every creation and revocation bumps a version
// in Redis in the same step; the cache reads it every PollEvery and
// forgets everything when it changed, and answers nothing from memory
// when it could not read it for MaxStale. Safe for concurrent use.
type KeyCache struct {
	store *Store
	opts  KeyCacheOptions

	mu     sync.RWMutex
	keys   map[string]APIKey   // by hash: valid keys
	misses map[string]struct{} // by hash: unknown or revoked keys
	// epoch counts the forgets, so that a look-up that read Redis before
	// one does not put back what was forgotten.
	epoch   uint64
	version string    // as last read; "" before the first read
	freshAt time.Time // when the last poll that succeeded was sent

	stop context.CancelFunc
	done chan struct{}
}

// NewKeyCache starts a cache of s's API keys and its poller. Close stops it.
func NewKeyCache(s *Store, opts KeyCacheOptions) *KeyCache {
	if opts.PollEvery <= 0 {
		opts.PollEvery = 250 * time.Millisecond
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = 750 * time.Millisecond
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 10_000
	}
	if opts.MaxMisses <= 0 {
		opts.MaxMisses = 10_000
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &KeyCache{
		store: s, opts: opts,
		keys: map[string]APIKey{}, misses: map[string]struct{}{},
		stop: stop, done: make(chan struct{}),
	}
	go c.run(ctx)
	return c
}

// Close stops the poller. Look-ups still work, from Redis once memory is stale.
func (c *KeyCache) Close() {
	c.stop()
	<-c.done
}

// APIKeyBySecret is Store.APIKeyBySecret, from memory when memory is fresh.
// A Redis error is returned as it is, never answered from memory.
func (c *KeyCache) APIKeyBySecret(ctx context.Context, clear string) (APIKey, error) {
	if !wellFormedKey(clear) {
		return APIKey{}, ErrNotFound
	}
	hash := c.store.apiKeyHash.sum(clear)
	c.mu.RLock()
	fresh, epoch := c.fresh(), c.epoch
	k, known := c.keys[hash]
	_, missed := c.misses[hash]
	c.mu.RUnlock()
	switch {
	case fresh && known:
		return k, nil
	case fresh && missed:
		return APIKey{}, ErrNotFound
	}
	k, err := c.store.apiKeyByClear(ctx, clear, hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return APIKey{}, err
	}
	c.remember(hash, k, err == nil, epoch)
	return k, err
}

// Forget drops everything remembered. The poller does this for changes
// made anywhere; a process that creates or revokes a key calls it so that
// its own next request sees the change without waiting for the poll.
func (c *KeyCache) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget()
}

// remember keeps what a look-up found, unless a forget came between its
// read of Redis and now (what it read may be what was forgotten) or memory
// is stale (it would not be used, and could not be forgotten in time).
func (c *KeyCache) remember(hash string, k APIKey, valid bool, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch || !c.fresh() {
		return
	}
	if valid {
		evictOne(c.keys, c.opts.MaxKeys)
		c.keys[hash] = k
		return
	}
	evictOne(c.misses, c.opts.MaxMisses)
	c.misses[hash] = struct{}{}
}

// evictOne makes room in a full map by deleting one entry. Which one does
// not matter (a valid key is looked up again, a junk one was junk), so it
// is whichever iteration finds first, at no cost in time or memory.
func evictOne[V any](m map[string]V, limit int) {
	if len(m) < limit {
		return
	}
	for h := range m {
		delete(m, h)
		return
	}
}

// fresh reports whether a poll sent within MaxStale succeeded. Callers hold mu.
func (c *KeyCache) fresh() bool { return time.Since(c.freshAt) <= c.opts.MaxStale }

// forget empties memory. Callers hold mu for writing.
func (c *KeyCache) forget() {
	c.epoch++
	clear(c.keys)
	clear(c.misses)
}

func (c *KeyCache) run(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.opts.PollEvery)
	defer tick.Stop()
	for {
		c.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll reads the version once. Memory is fresh as of when the GET was
// sent (its answer is at least that recent), and a GET slower than
// MaxStale could not make it fresh, so it is given up then.
func (c *KeyCache) poll(ctx context.Context) {
	sent := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.MaxStale)
	v, err := c.store.rdb.Get(ctx, c.store.apiKeysVersionKey()).Result()
	cancel()
	if errors.Is(err, redis.Nil) {
		v, err = "0", nil // no key was ever created or revoked
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		// Redis away: from MaxStale on, look-ups go to Redis (and fail)
		// and memory is dropped, so that all of it is read afresh.
		if !c.fresh() {
			c.forget()
		}
		return
	}
	if v != c.version {
		c.forget()
		c.version = v
	}
	c.freshAt = sent
}
