package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
)

// Ways Redis can be away from one process.
const (
	redisUp = iota
	redisRefuses
	redisHangs // every command waits until its context ends
)

// redisTap counts the commands a client sends, the version poll apart,
// and can cut the client off from Redis.
type redisTap struct {
	mu     sync.Mutex
	counts map[string]int
	polls  int
	away   atomic.Int32
}

func (t *redisTap) DialHook(next redis.DialHook) redis.DialHook { return next }

func (t *redisTap) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := t.pass(ctx, cmd); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (t *redisTap) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if err := t.pass(ctx, cmd); err != nil {
				for _, c := range cmds {
					c.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// pass counts cmd, or fails it as an absent Redis would.
func (t *redisTap) pass(ctx context.Context, cmd redis.Cmder) error {
	switch t.away.Load() {
	case redisRefuses:
		return &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused (test)")}
	case redisHangs:
		<-ctx.Done()
		return ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	if args := cmd.Args(); cmd.Name() == "get" && len(args) == 2 && strings.HasSuffix(args[1].(string), "apikeys:version") {
		t.polls++
	} else {
		t.counts[cmd.Name()]++
	}
	return nil
}

// calls is how many commands were sent besides the version poll.
func (t *redisTap) calls() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.counts {
		n += c
	}
	return n
}

// process is one Sandesh process's view of the shared Redis: its own
// client (tapped), store and key cache.
type process struct {
	store *Store
	keys  *KeyCache
	tap   *redisTap
	rdb   *redis.Client
}

// steadyStale is MaxStale for the tests that are not about staleness:
// memory stays fresh however slow a loaded test machine makes a poll.
const steadyStale = time.Minute

// newProcesses starts n processes on one emptied test database.
func newProcesses(t testing.TB, n int, opts KeyCacheOptions) []*process {
	t.Helper()
	base := redistest.New(t, 1).Options()
	ps := make([]*process, n)
	for i := range ps {
		o := *base
		rdb := redis.NewClient(&o)
		tap := &redisTap{}
		rdb.AddHook(tap)
		s, err := New(rdb, Options{Secret: []byte("0123456789abcdef0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		keys := NewKeyCache(s, opts)
		t.Cleanup(func() {
			keys.Close()
			rdb.Close()
		})
		ps[i] = &process{store: s, keys: keys, tap: tap, rdb: rdb}
	}
	return ps
}

// settle waits until p's cache has read the current version, so that what
// it remembers from now on is not dropped by a poll still to come.
func (p *process) settle(t testing.TB) {
	t.Helper()
	within(t, time.Second, "cache reads the current version", func() bool {
		v, err := p.rdb.Get(context.Background(), p.store.apiKeysVersionKey()).Result()
		if errors.Is(err, redis.Nil) {
			v, err = "0", nil
		}
		p.keys.mu.RLock()
		defer p.keys.mu.RUnlock()
		return err == nil && p.keys.version == v && p.keys.fresh()
	})
}

// lookupTimeout bounds a look-up in these tests (Redis may hang).
const lookupTimeout = 50 * time.Millisecond

// lookup asks p's cache for clear.
func (p *process) lookup(clear string) (APIKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return p.keys.APIKeyBySecret(ctx, clear)
}

// within checks cond until it holds and returns how long that took,
// failing the test if it does not hold within limit.
func within(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func newKey(t testing.TB, p *process) (APIKey, string) {
	t.Helper()
	k, clear, err := p.store.CreateAPIKey(context.Background(), APIKey{Role: RoleCenter, Name: "PHC Aundh", CenterID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	return k, clear
}

// TestKeyCacheAnswersFromMemory: a key looked up once is answered with no
// Redis command, whether it works or not.
func TestKeyCacheAnswersFromMemory(t *testing.T) {
	ps := newProcesses(t, 2, KeyCacheOptions{MaxStale: steadyStale})
	a, b := ps[0], ps[1]
	_, validClear := newKey(t, b)
	revoked, revokedClear := newKey(t, b)
	if err := b.store.RevokeAPIKey(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	valid, err := b.store.APIKeyBySecret(context.Background(), validClear)
	if err != nil {
		t.Fatal(err)
	}
	a.settle(t)
	for _, tc := range []struct {
		name      string
		key       string
		want      APIKey
		wantErr   error
		wantCalls int // over 100 look-ups
	}{
		{"valid", validClear, valid, nil, 1},
		{"revoked", revokedClear, APIKey{}, ErrNotFound, 1},
		{"well formed, never issued", keyPrefix + strings.Repeat("ab", 24), APIKey{}, ErrNotFound, 1},
		{"malformed", "sdk_junk", APIKey{}, ErrNotFound, 0},
		{"empty", "", APIKey{}, ErrNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.tap.calls()
			for range 100 {
				got, err := a.lookup(tc.key)
				if got != tc.want || !errors.Is(err, tc.wantErr) {
					t.Fatalf("APIKeyBySecret = %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
				}
			}
			if n := a.tap.calls() - before; n != tc.wantCalls {
				t.Fatalf("100 look-ups sent %d Redis commands besides the poll, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestKeyCacheRevocation: a key process A answers from memory is refused
// within a second of its revocation, however it was revoked and even when
// A cannot reach Redis; and A never answers from memory while it cannot.
func TestKeyCacheRevocation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		away   int32 // Redis, for A, from just before the revocation
		revoke bool
		byA    bool
		// wantNotFound: refused as unknown, not for want of Redis.
		wantNotFound bool
		// afterBack is the answer once A reaches Redis again.
		afterBack error
	}{
		{"revoked by another process", redisUp, true, false, true, ErrNotFound},
		{"revoked by this process", redisUp, true, true, true, ErrNotFound},
		{"revoked while Redis refuses this process", redisRefuses, true, false, false, ErrNotFound},
		{"revoked while Redis hangs for this process", redisHangs, true, false, false, ErrNotFound},
		{"Redis refuses, nothing revoked", redisRefuses, false, false, false, nil},
		{"Redis hangs, nothing revoked", redisHangs, false, false, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newProcesses(t, 2, KeyCacheOptions{})
			a, b := ps[0], ps[1]
			k, clear := newKey(t, b)
			a.settle(t)
			if _, err := a.lookup(clear); err != nil {
				t.Fatal(err)
			}
			before := a.tap.calls()
			if _, err := a.lookup(clear); err != nil || a.tap.calls() != before {
				t.Fatalf("second look-up: err %v, %d Redis commands; want it from memory", err, a.tap.calls()-before)
			}

			start := time.Now()
			a.tap.away.Store(tc.away)
			if tc.revoke {
				revoker := b
				if tc.byA {
					revoker = a
				}
				if err := revoker.store.RevokeAPIKey(context.Background(), k.ID); err != nil {
					t.Fatal(err)
				}
			}
			// A look-up that waits on a hanging Redis returns up to
			// lookupTimeout after it was refused the memory.
			var err error
			var lastServed time.Duration
			refused := within(t, time.Second+lookupTimeout, "key refused", func() bool {
				_, err = a.lookup(clear)
				if err == nil {
					lastServed = time.Since(start)
				}
				return err != nil
			})
			t.Logf("last served %s after, refused %s after: %v", lastServed.Round(time.Millisecond), refused.Round(time.Millisecond), err)
			if lastServed >= time.Second {
				t.Fatalf("key served %s after it was revoked or Redis went away", lastServed)
			}
			if errors.Is(err, ErrNotFound) != tc.wantNotFound {
				t.Fatalf("refused with %v; want ErrNotFound: %v", err, tc.wantNotFound)
			}
			// And it stays refused, across polls.
			for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if got, err := a.lookup(clear); err == nil {
					t.Fatalf("key answered again after refusal: %+v", got)
				}
			}

			a.tap.away.Store(redisUp)
			if _, err := a.lookup(clear); !errors.Is(err, tc.afterBack) {
				t.Fatalf("Redis back: err = %v, want %v", err, tc.afterBack)
			}
		})
	}
}

// TestKeyCacheTakesCreatedKey: a key is taken as soon as it is created,
// even by a process that had found it unknown before.
func TestKeyCacheTakesCreatedKey(t *testing.T) {
	for i, tc := range []struct {
		name   string
		byA    bool
		within time.Duration // 0: at the first look-up
	}{
		{"created by this process", true, 0},
		{"created by another process", false, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newProcesses(t, 2, KeyCacheOptions{MaxStale: steadyStale})
			a, b := ps[0], ps[1]
			a.settle(t)
			var raw [30]byte
			raw[0] = byte(i + 1)
			clear := keyPrefix + hex.EncodeToString(raw[:24])
			before := a.tap.calls()
			for range 2 {
				if _, err := a.lookup(clear); !errors.Is(err, ErrNotFound) {
					t.Fatalf("before creation: err = %v, want ErrNotFound", err)
				}
			}
			if n := a.tap.calls() - before; n != 1 {
				t.Fatalf("2 look-ups of an unknown key sent %d Redis commands, want 1 (the miss remembered)", n)
			}

			creator := b
			if tc.byA {
				creator = a
			}
			k, got, err := creator.store.createAPIKey(context.Background(), APIKey{Role: RoleAdmin, Name: "ops"}, raw)
			if err != nil || got != clear {
				t.Fatalf("createAPIKey = %q, %v; want %q", got, err, clear)
			}
			if tc.byA {
				a.keys.Forget() // as the gateway does after creating a key
			}
			if tc.within == 0 {
				if found, err := a.lookup(clear); err != nil || found.ID != k.ID {
					t.Fatalf("right after creation: %+v, %v; want %s", found, err, k.ID)
				}
				return
			}
			took := within(t, tc.within, "created key taken", func() bool {
				found, err := a.lookup(clear)
				return err == nil && found.ID == k.ID
			})
			t.Logf("taken after %s", took.Round(time.Millisecond))
		})
	}
}

// TestKeyCacheBoundsJunk: however many unknown keys are presented, the
// cache holds at most MaxMisses of them, and keeps the valid keys it knows.
func TestKeyCacheBoundsJunk(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxMisses  int
		junk       int
		wantMisses int
	}{
		{"under the bound", 100, 40, 40},
		{"at the bound", 100, 100, 100},
		{"five times the bound", 100, 500, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newProcesses(t, 1, KeyCacheOptions{MaxStale: steadyStale, MaxMisses: tc.maxMisses})[0]
			_, clear := newKey(t, a)
			a.settle(t)
			if _, err := a.lookup(clear); err != nil {
				t.Fatal(err)
			}
			for range tc.junk {
				var raw [24]byte
				rand.Read(raw[:])
				if _, err := a.lookup(keyPrefix + hex.EncodeToString(raw[:])); !errors.Is(err, ErrNotFound) {
					t.Fatalf("junk key: err = %v", err)
				}
			}
			a.keys.mu.RLock()
			misses, keys := len(a.keys.misses), len(a.keys.keys)
			a.keys.mu.RUnlock()
			if misses != tc.wantMisses || keys != 1 {
				t.Fatalf("cache holds %d misses and %d keys, want %d and 1", misses, keys, tc.wantMisses)
			}
			before := a.tap.calls()
			if _, err := a.lookup(clear); err != nil || a.tap.calls() != before {
				t.Fatalf("valid key after junk: err %v, %d Redis commands; want it from memory", err, a.tap.calls()-before)
			}
		})
	}
}

// BenchmarkAPIKeyBySecret compares a look-up in Redis with one from
// memory; redis-calls/op counts every command the process sent, the
// cache's version poll included.
func BenchmarkAPIKeyBySecret(b *testing.B) {
	p := newProcesses(b, 1, KeyCacheOptions{MaxStale: steadyStale})[0]
	_, clear := newKey(b, p)
	p.settle(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		lookup func(context.Context, string) (APIKey, error)
	}{
		{"redis", p.store.APIKeyBySecret},
		{"memory", p.keys.APIKeyBySecret},
	} {
		for _, parallel := range []bool{false, true} {
			name := bc.name
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				p.tap.mu.Lock()
				before := p.tap.polls
				p.tap.mu.Unlock()
				before += p.tap.calls()
				b.ResetTimer()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := bc.lookup(ctx, clear); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					for range b.N {
						if _, err := bc.lookup(ctx, clear); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				p.tap.mu.Lock()
				after := p.tap.polls
				p.tap.mu.Unlock()
				after += p.tap.calls()
				b.ReportMetric(float64(after-before)/float64(b.N), "redis-calls/op")
			})
		}
	}
}
