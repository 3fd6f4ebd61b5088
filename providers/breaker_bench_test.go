package providers_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"sandesh/internal/redistest"
	"sandesh/providers"
)

// The figures behind sharing only an "open until" flag between workers
// (sharedFlag in router.go) instead of gobreaker's DistributedCircuitBreaker,
// which holds a Redis lock around every request. Each benchmark runs the
// same do-nothing request at several concurrencies; a worker runs ~100
// sends at once. Run against a real Redis:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench Breaker -benchtime 2s ./providers/
//
// Besides ns/op they report p99-ns and max-ns (latency of one request,
// where measuring it costs little next to it) and errors/op (the distributed lock gives up after
// 5s of waiting).

// concurrencies are the numbers of goroutines sending at once.
var concurrencies = []int{1, 2, 100}

// redisStore is a gobreaker.SharedDataStore on Redis: a SET NX PX lock
// holding a random token, released by a compare-and-delete script so a
// holder whose lock expired cannot release someone else's.
type redisStore struct {
	rdb    *redis.Client
	mu     sync.Mutex
	tokens map[string]string // lock name → our token, while we hold it
}

var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

var errLocked = errors.New("lock held elsewhere")

func (s *redisStore) Lock(name string) error {
	token := rand.Text()
	ok, err := s.rdb.SetNX(context.Background(), name, token, 5*time.Second).Result()
	if err != nil || !ok {
		return errors.Join(errLocked, err)
	}
	s.mu.Lock()
	s.tokens[name] = token
	s.mu.Unlock()
	return nil
}

func (s *redisStore) Unlock(name string) error {
	s.mu.Lock()
	token := s.tokens[name]
	delete(s.tokens, name)
	s.mu.Unlock()
	n, err := unlockScript.Run(context.Background(), s.rdb, []string{name}, token).Int()
	if err == nil && n == 0 {
		err = fmt.Errorf("lock %s expired before unlock", name)
	}
	return err
}

func (s *redisStore) GetData(name string) ([]byte, error) {
	b, err := s.rdb.Get(context.Background(), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil // gobreaker reads no data as "no shared state yet"
	}
	return b, err
}

func (s *redisStore) SetData(name string, data []byte) error {
	return s.rdb.Set(context.Background(), name, data, 0).Err()
}

// settings are the Router's breaker settings.
func settings() gobreaker.Settings {
	return gobreaker.Settings{
		Name: "p1", MaxRequests: 1, Timeout: 30 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
	}
}

func noop() (providers.Receipt, error) { return providers.Receipt{}, nil }

func BenchmarkBreakerDistributed(b *testing.B) {
	rdb := redistest.New(b, testDB)
	dcb, err := gobreaker.NewDistributedCircuitBreaker[providers.Receipt](
		&redisStore{rdb: rdb, tokens: map[string]string{}}, settings())
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range concurrencies {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			concurrently(b, n, true, func() error { _, err := dcb.Execute(noop); return err })
		})
	}
}

// instant is a Provider that answers at once. It skips HTTP on purpose:
// this benchmark measures what the Router's breaker adds to a send, not the
// provider; the Router's behaviour over real HTTP is tested in
// router_test.go.
type instant struct{}

func (instant) Name() string { return "p1" }
func (instant) Send(context.Context, providers.Outbound) (providers.Receipt, error) {
	return providers.Receipt{Provider: "p1"}, nil
}

func BenchmarkBreakerSharedFlag(b *testing.B) {
	rdb := redistest.New(b, testDB)
	r, err := providers.NewRouter([]providers.Provider{instant{}}, providers.RouterOptions{
		Failures: 5, OpenFor: 30 * time.Second, Redis: rdb, Prefix: "sandesh:", // SharedRefresh: default 250ms
	})
	if err != nil {
		b.Fatal(err)
	}
	m := outbound("m1", 1)
	for _, n := range concurrencies {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			concurrently(b, n, true, func() error { _, err := r.Send(context.Background(), m); return err })
		})
	}
}

func BenchmarkBreakerLocal(b *testing.B) {
	cb := gobreaker.NewCircuitBreaker[providers.Receipt](settings())
	for _, n := range concurrencies {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			// Too cheap to time each call without doubling its cost.
			concurrently(b, n, false, func() error { _, err := cb.Execute(noop); return err })
		})
	}
}

// concurrently runs op b.N times over n goroutines (b.RunParallel with
// n/GOMAXPROCS goroutines per CPU; a plain loop for n = 1) and reports
// errors/op and, if timed, the p99 latency of one op (to within 25%, from
// a histogram: recording every latency would cost more than the op) and
// the exact max.
func concurrently(b *testing.B, n int, timed bool, op func() error) {
	var ops, errs atomic.Int64
	var mu sync.Mutex
	var all histogram
	run := func(next func() bool) {
		var mine histogram
		for next() {
			ops.Add(1)
			start := time.Now()
			if err := op(); err != nil {
				errs.Add(1)
			}
			if timed {
				mine.add(time.Since(start))
			}
		}
		mu.Lock()
		all.merge(&mine)
		mu.Unlock()
	}
	b.ReportAllocs()
	b.ResetTimer()
	if n == 1 {
		run(b.Loop)
	} else {
		b.SetParallelism(max(1, n/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) { run(pb.Next) })
	}
	b.StopTimer()
	b.ReportMetric(float64(errs.Load())/float64(max(ops.Load(), 1)), "errors/op")
	if timed {
		b.ReportMetric(float64(all.quantile(0.99)), "p99-ns")
		b.ReportMetric(float64(all.max), "max-ns")
	}
}

// histogram counts durations in buckets four to each power of two.
type histogram struct {
	counts [64 * 4]int64
	total  int64
	max    time.Duration
}

func bucket(d time.Duration) int {
	n := uint64(max(d, 0))
	if n < 8 {
		return int(n)
	}
	l := bits.Len64(n)             // ≥ 4
	return (l-3)*4 + int(n>>(l-3)) // n's top three bits are 4…7: buckets 8 on
}

// upper is the largest duration in bucket i.
func upper(i int) time.Duration {
	if i < 8 {
		return time.Duration(i)
	}
	shift := i/4 - 1
	top := uint64(i%4 + 4)
	return time.Duration((top+1)<<shift - 1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucket(d)]++
	h.total++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile is the upper bound of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	want := int64(float64(h.total) * q)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen > want {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
