package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// RouterOptions shape a Router.
type RouterOptions struct {
	// Failures is how many consecutive temporary failures open a provider's breaker.
	Failures int
	// OpenFor is how long an open breaker refuses before one trial request.
	OpenFor time.Duration
	// Redis shares breaker state and send-rate caps between processes; nil
	// keeps both local to this process (tests, single-process use).
	Redis redis.UniversalClient
	// Prefix starts the shared keys, e.g. "sandesh:".
	Prefix string
	// TPS caps a provider's send rate in segments per second (0: no cap).
	TPS map[string]int
	// SharedRefresh is how stale this process's view of the shared breaker
	// flag may be; default 250ms. It bounds the Redis reads a send costs.
	SharedRefresh time.Duration
	// OnStateChange is told when a breaker in this process changes state.
	OnStateChange func(provider string, state string)
	Logger        *slog.Logger
}

// Router sends each message through the first healthy provider in order.
// Each provider has a circuit breaker; a temporary failure or an open
// breaker moves the message on to the next provider within the same attempt,
// a permanent failure ends it at once.
type Router struct {
	routes []*route
	opts   RouterOptions
}

type route struct {
	provider Provider
	breaker  *gobreaker.CircuitBreaker[Receipt]
	shared   *sharedFlag
	tps      int
	limiter  *redis_rate.Limiter
	limitKey string
}

// ErrNoProvider is returned by a Router built without providers.
var ErrNoProvider = errors.New("no provider configured")

// NewRouter builds a router over providers in failover order.
func NewRouter(ps []Provider, opts RouterOptions) (*Router, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("new router: %w", ErrNoProvider)
	}
	if opts.Failures <= 0 {
		opts.Failures = 5
	}
	if opts.OpenFor <= 0 {
		opts.OpenFor = 30 * time.Second
	}
	if opts.SharedRefresh <= 0 {
		opts.SharedRefresh = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	names := map[string]bool{}
	for _, p := range ps {
		if names[p.Name()] {
			return nil, fmt.Errorf("new router: provider %q listed twice", p.Name())
		}
		names[p.Name()] = true
	}
	for name := range opts.TPS {
		if !names[name] {
			return nil, fmt.Errorf("new router: tps cap for %q, which is not a provider", name)
		}
	}
	r := &Router{opts: opts}
	for _, p := range ps {
		name := p.Name()
		rt := &route{provider: p, tps: opts.TPS[name]}
		if opts.Redis != nil {
			rt.shared = &sharedFlag{rdb: opts.Redis, key: opts.Prefix + "breaker:" + name + ":open", refresh: opts.SharedRefresh}
			if rt.tps > 0 {
				rt.limiter = redis_rate.NewLimiter(opts.Redis)
				rt.limitKey = opts.Prefix + "tps:" + name
			}
		} else if rt.tps > 0 {
			return nil, fmt.Errorf("new router: provider %q has a tps cap, which needs Redis", name)
		}
		rt.breaker = gobreaker.NewCircuitBreaker[Receipt](gobreaker.Settings{
			Name:        name,
			MaxRequests: 1,
			Timeout:     opts.OpenFor,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= uint32(opts.Failures)
			},
			// A permanent error is the provider working: it judged the message.
			// A provider that refused for its rate (SMPP throttling) is
			// healthy: it must not open the breaker.
			IsSuccessful: func(err error) bool { return err == nil || !Temporary(err) || Code(err) == "rate_limited" },
			// Our own shutdown says nothing about the provider's health.
			IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: r.onStateChange(rt),
		})
		r.routes = append(r.routes, rt)
	}
	return r, nil
}

func (r *Router) onStateChange(rt *route) func(string, gobreaker.State, gobreaker.State) {
	return func(name string, from, to gobreaker.State) {
		r.opts.Logger.Warn("provider breaker changed", "provider", name, "from", from.String(), "to", to.String())
		if r.opts.OnStateChange != nil {
			r.opts.OnStateChange(name, to.String())
		}
		if rt.shared == nil {
			return
		}
		// Called under the breaker's lock: publish without holding it.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var err error
			switch to {
			case gobreaker.StateOpen:
				err = rt.shared.open(ctx, r.opts.OpenFor)
			case gobreaker.StateClosed:
				err = rt.shared.close(ctx)
			}
			if err != nil {
				r.opts.Logger.Error("share breaker state", "provider", name, "err", err)
			}
		}()
	}
}

// Send transmits m through the first provider that takes it. A permanent
// error, or one after which the provider may have taken the message, ends
// the attempt: only a clean temporary failure moves on to the next provider.
func (r *Router) Send(ctx context.Context, m Outbound) (Receipt, error) {
	var last error
	// allOpen stays true while every provider was skipped by its open
	// breaker; then the message can only wait, and reopen says how long.
	allOpen, reopen := true, time.Duration(0)
	skip := func(name string, err error, wait time.Duration) {
		last = TemporaryError(name, "breaker_open", err)
		wait = max(wait, 100*time.Millisecond)
		if reopen == 0 || wait < reopen {
			reopen = wait
		}
	}
	for _, rt := range r.order(m.Prefer) {
		name := rt.provider.Name()
		if rt.shared != nil && rt.shared.isOpen(ctx) {
			skip(name, gobreaker.ErrOpenState, rt.shared.remaining())
			continue
		}
		if rt.limiter != nil {
			if wait, err := rt.wait(ctx, m); err != nil || wait > 0 {
				// Over the cap the message waits for this provider; it is
				// not pushed onto a backup that was not chosen for volume.
				e := TemporaryError(name, "rate_limited", err)
				e.RetryAfter = max(wait, 100*time.Millisecond)
				return Receipt{}, e
			}
		}
		rec, err := rt.breaker.Execute(func() (Receipt, error) { return rt.provider.Send(ctx, m) })
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, gobreaker.ErrOpenState):
			// This process's breaker keeps no clock we can read: open_for
			// bounds the wait.
			skip(name, err, r.opts.OpenFor)
		case errors.Is(err, gobreaker.ErrTooManyRequests):
			skip(name, err, time.Second) // a trial request is in flight
		case !Temporary(err), Ambiguous(err):
			return Receipt{}, err
		default:
			allOpen = false
			r.opts.Logger.Warn("provider failed, trying the next", "provider", name, "code", Code(err), "message_id", m.MessageID)
			last = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Only when nothing was tried does the breakers' clock say when to come
	// back; a provider that was tried and failed takes the normal backoff.
	if pe := (*Error)(nil); allOpen && errors.As(last, &pe) && pe.Code == "breaker_open" {
		pe.RetryAfter = reopen
	}
	return Receipt{}, last
}

// order is the failover order with the preferred provider, if any, first.
func (r *Router) order(prefer string) []*route {
	if prefer == "" || r.routes[0].provider.Name() == prefer {
		return r.routes
	}
	for i, rt := range r.routes {
		if rt.provider.Name() == prefer {
			out := make([]*route, 0, len(r.routes))
			out = append(out, rt)
			out = append(out, r.routes[:i]...)
			return append(out, r.routes[i+1:]...)
		}
	}
	return r.routes
}

// wait takes m's segments from the provider's shared rate budget; a positive
// duration says how long until there is room.
func (rt *route) wait(ctx context.Context, m Outbound) (time.Duration, error) {
	// A message longer than a whole second's budget still has to go: it
	// takes the full second rather than waiting forever.
	n := min(max(m.Segments, 1), rt.tps)
	res, err := rt.limiter.AllowN(ctx, rt.limitKey, redis_rate.PerSecond(rt.tps), n)
	if err != nil {
		return time.Second, fmt.Errorf("rate cap: %w", err)
	}
	if res.Allowed == 0 {
		return res.RetryAfter, nil
	}
	return 0, nil
}

// BreakerState is one provider's health as this process sees it.
type BreakerState struct {
	Provider string `json:"provider"`
	State    string `json:"state"` // closed, half-open, open
}

// States reports every provider's breaker, counting a breaker opened by
// another process as open.
func (r *Router) States(ctx context.Context) []BreakerState {
	out := make([]BreakerState, 0, len(r.routes))
	for _, rt := range r.routes {
		st := rt.breaker.State().String()
		if rt.shared != nil && rt.shared.isOpen(ctx) {
			st = gobreaker.StateOpen.String()
		}
		out = append(out, BreakerState{Provider: rt.provider.Name(), State: st})
	}
	return out
}

// sharedFlag is the one bit of breaker state all workers share: "this
// provider is open until <instant>". gobreaker's
// DistributedCircuitBreaker holds a Redis lock around every request, which
// serialises all sends of all workers; a flag read at most every refresh
// costs nothing per message.
type sharedFlag struct {
	rdb     redis.UniversalClient
	key     string
	refresh time.Duration

	mu        sync.Mutex
	openUntil time.Time
	checked   time.Time
}

func (f *sharedFlag) isOpen(ctx context.Context) bool {
	now := time.Now()
	f.mu.Lock()
	if now.Sub(f.checked) < f.refresh {
		open := now.Before(f.openUntil)
		f.mu.Unlock()
		return open
	}
	f.checked = now // others use the old view while this caller refreshes
	f.mu.Unlock()

	until, err := f.rdb.Get(ctx, f.key).Int64()
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		// The caller gave up; that says nothing about the flag. Keep the
		// old view and let the next caller refresh it.
		f.checked = time.Time{}
		return now.Before(f.openUntil)
	}
	if err != nil {
		// Absent, or Redis trouble, which must not stop sends: the local
		// breaker decides alone.
		f.openUntil = time.Time{}
		return false
	}
	f.openUntil = time.UnixMilli(until)
	return now.Before(f.openUntil)
}

// open stores the instant the breaker may be tried again. The value, not
// the key's expiry, is what readers compare: an embedded Redis (miniredis)
// does not expire keys on its own. The expiry only tidies up.
// remaining is how long the flag, as last read, stays open.
func (f *sharedFlag) remaining() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Until(f.openUntil)
}

func (f *sharedFlag) open(ctx context.Context, d time.Duration) error {
	until := time.Now().Add(d)
	if err := f.rdb.Set(ctx, f.key, until.UnixMilli(), d+time.Minute).Err(); err != nil {
		return fmt.Errorf("open shared breaker: %w", err)
	}
	f.mu.Lock()
	f.openUntil, f.checked = until, time.Now()
	f.mu.Unlock()
	return nil
}

func (f *sharedFlag) close(ctx context.Context) error {
	if err := f.rdb.Del(ctx, f.key).Err(); err != nil {
		return fmt.Errorf("close shared breaker: %w", err)
	}
	f.mu.Lock()
	f.openUntil, f.checked = time.Time{}, time.Now()
	f.mu.Unlock()
	return nil
}
