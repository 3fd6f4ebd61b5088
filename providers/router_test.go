package providers_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
	"sandesh/providers"
	"sandesh/providers/twilio"
	"sandesh/providers/twilio/twiliotest"
)

// testDB is this package's Redis database (see redistest.New).
const testDB = 3

// Basic failover and a breaker opened in one process being seen by another
// are covered end to end in jobs/worker_test.go; these tests cover the rest
// of the Router's rules.

// doubles starts n Twilio doubles and a real twilio.Provider on each, named
// p1…pn, in failover order.
func doubles(t *testing.T, n int, timeout time.Duration) ([]*twiliotest.Server, []providers.Provider) {
	t.Helper()
	var ds []*twiliotest.Server
	var ps []providers.Provider
	for i := range n {
		d := twiliotest.NewServer(t)
		ds, ps = append(ds, d), append(ps, provider(t, fmt.Sprintf("p%d", i+1), d, timeout))
	}
	return ds, ps
}

// provider is a twilio.Provider named name sending to the double d.
func provider(t *testing.T, name string, d *twiliotest.Server, timeout time.Duration) *twilio.Provider {
	t.Helper()
	p, err := twilio.New(twilio.Config{
		Name: name, AccountSID: d.AccountSID, AuthToken: d.AuthToken,
		From: "+15005550006", BaseURL: d.URL, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// router builds a Router over ps sharing state through rdb.
func router(t *testing.T, ps []providers.Provider, rdb *redis.Client, opts providers.RouterOptions) *providers.Router {
	t.Helper()
	opts.Redis, opts.Prefix = rdb, "sandesh:"
	r, err := providers.NewRouter(ps, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// outbound is a message of segs GSM-7 segments.
func outbound(id string, segs int) providers.Outbound {
	body := "Your CoWIN security code is 4821"
	if segs > 1 {
		body = strings.Repeat("a", 153*segs)
	}
	return providers.Outbound{MessageID: id, To: "+919876543210", Body: body, Encoding: "GSM-7", Segments: segs}
}

// states renders Router.States as "p1=closed p2=open".
func states(r *providers.Router) string {
	var b []string
	for _, s := range r.States(context.Background()) {
		b = append(b, s.Provider+"="+s.State)
	}
	return strings.Join(b, " ")
}

// fail answers the calls listed in codes (1-based call number → HTTP status
// and Twilio code) and accepts every other call.
func fail(codes map[int][2]int) func(int, url.Values) *twiliotest.Failure {
	return func(n int, _ url.Values) *twiliotest.Failure {
		if c, ok := codes[n]; ok {
			return &twiliotest.Failure{Status: c[0], Code: c[1]}
		}
		return nil
	}
}

// A permanent error is the provider judging the message: it neither counts
// toward opening the breaker nor moves the message to the next provider, and
// it resets the run of consecutive temporary failures.
func TestRouterPermanentErrorKeepsBreakerClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   int
	}{
		{"invalid To", 400, 21211},
		{"unsubscribed", 400, 21610},
		{"not a mobile", 400, 21614},
		{"body too long", 400, 21617},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, ps := doubles(t, 2, 0)
			r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 3, OpenFor: time.Minute})
			ds[0].Respond(twiliotest.FailAll(tc.status, tc.code))
			for i := range 10 {
				_, err := r.Send(context.Background(), outbound(fmt.Sprint("m", i), 1))
				if err == nil || providers.Temporary(err) || providers.Code(err) != fmt.Sprint(tc.code) {
					t.Fatalf("send %d: err %v (temporary %v, code %q), want permanent %d", i, err, providers.Temporary(err), providers.Code(err), tc.code)
				}
			}
			if c := ds[0].Calls(); c != 10 {
				t.Errorf("first provider called %d times, want 10", c)
			}
			if c := ds[1].Calls(); c != 0 {
				t.Errorf("second provider called %d times, want 0", c)
			}
			if s := states(r); s != "p1=closed p2=closed" {
				t.Errorf("breakers %s", s)
			}
		})
	}

	t.Run("resets consecutive failures", func(t *testing.T) {
		ds, ps := doubles(t, 2, 0)
		r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 3, OpenFor: time.Minute})
		ds[0].Respond(fail(map[int][2]int{1: {500, 20500}, 2: {500, 20500}, 3: {400, 21211}, 4: {500, 20500}, 5: {500, 20500}, 6: {500, 20500}}))
		for i, want := range []string{"p2", "p2", "21211", "p2", "p2", "p2"} {
			rec, err := r.Send(context.Background(), outbound(fmt.Sprint("m", i), 1))
			if got := cmp(rec, err); got != want {
				t.Fatalf("send %d: %s, want %s", i+1, got, want)
			}
		}
		// Calls 4–6 are three consecutive temporary failures: now it opens.
		if s := states(r); s != "p1=open p2=closed" {
			t.Errorf("breakers %s, want p1 open only after the 3 failures following the permanent error", s)
		}
		before := ds[0].Calls()
		if rec, err := r.Send(context.Background(), outbound("m7", 1)); err != nil || rec.Provider != "p2" || ds[0].Calls() != before {
			t.Errorf("with p1 open: %+v, %v, p1 calls %d→%d", rec, err, before, ds[0].Calls())
		}
	})
}

// cmp is what a send came to: the provider that took it or the error code.
func cmp(rec providers.Receipt, err error) string {
	if err != nil {
		return providers.Code(err)
	}
	return rec.Provider
}

// After OpenFor the breaker lets exactly one trial through: a recovered
// provider gets its traffic back, a still failing one is opened again and
// the backup carries the message.
func TestRouterHalfOpenTrial(t *testing.T) {
	const openFor = 200 * time.Millisecond
	for _, tc := range []struct {
		name       string
		recovered  bool
		wantVia    string
		wantStates string
	}{
		{"recovered", true, "p1", "p1=closed p2=closed"},
		{"still failing", false, "p2", "p1=open p2=closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, ps := doubles(t, 2, 0)
			r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 2, OpenFor: openFor})
			ds[0].Respond(twiliotest.FailAll(503, 20503))
			for i := range 3 {
				if rec, err := r.Send(context.Background(), outbound(fmt.Sprint("m", i), 1)); err != nil || rec.Provider != "p2" {
					t.Fatalf("send %d: %+v %v", i, rec, err)
				}
			}
			if c := ds[0].Calls(); c != 2 {
				t.Fatalf("p1 called %d times before opening, want 2", c)
			}
			if tc.recovered {
				ds[0].Respond(nil)
			}
			time.Sleep(openFor + 100*time.Millisecond)

			rec, err := r.Send(context.Background(), outbound("trial", 1))
			if err != nil || rec.Provider != tc.wantVia {
				t.Fatalf("trial send: %+v %v, want via %s", rec, err, tc.wantVia)
			}
			if c := ds[0].Calls(); c != 3 {
				t.Fatalf("p1 called %d times, want 3 (one trial)", c)
			}
			if s := states(r); s != tc.wantStates {
				t.Fatalf("breakers after the trial %s, want %s", s, tc.wantStates)
			}
			// The next messages follow the trial's verdict.
			for i := range 3 {
				if rec, err := r.Send(context.Background(), outbound(fmt.Sprint("n", i), 1)); err != nil || rec.Provider != tc.wantVia {
					t.Fatalf("send after trial %d: %+v %v, want via %s", i, rec, err, tc.wantVia)
				}
			}
			wantCalls := 3
			if tc.recovered {
				wantCalls = 6
			}
			if c := ds[0].Calls(); c != wantCalls {
				t.Errorf("p1 called %d times, want %d", c, wantCalls)
			}
		})
	}

	// While the trial is in flight, the other sends go to the backup.
	t.Run("one trial among concurrent sends", func(t *testing.T) {
		ds, ps := doubles(t, 2, 0)
		r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 1, OpenFor: openFor})
		ds[0].Respond(twiliotest.FailAll(500, 20500))
		if rec, err := r.Send(context.Background(), outbound("m0", 1)); err != nil || rec.Provider != "p2" {
			t.Fatalf("first send: %+v %v", rec, err)
		}
		ds[0].Respond(func(int, url.Values) *twiliotest.Failure {
			return &twiliotest.Failure{Delay: 200 * time.Millisecond} // a slow success
		})
		time.Sleep(openFor + 100*time.Millisecond)

		const n = 10
		via := make(chan string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec, err := r.Send(context.Background(), outbound(fmt.Sprint("c", i), 1))
				via <- cmp(rec, err)
			}()
		}
		wg.Wait()
		close(via)
		got := map[string]int{}
		for v := range via {
			got[v]++
		}
		if got["p1"] != 1 || got["p2"] != n-1 || ds[0].Calls() != 2 {
			t.Errorf("sends went %v, p1 calls %d; want one trial on p1 (2 calls in all), %d on p2", got, ds[0].Calls(), n-1)
		}
		if s := states(r); s != "p1=closed p2=closed" {
			t.Errorf("breakers %s", s)
		}
	})
}

// A context cancelled by the caller (shutdown) says nothing about the
// provider: it does not count toward opening the breaker, and the message
// is not pushed onto the next provider.
func TestRouterCancelledContextIsNotAFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		midway bool // cancel while the request is in flight, else before Send
	}{
		{"cancelled before send", false},
		{"cancelled during the request", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, ps := doubles(t, 2, 5*time.Second)
			r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 2, OpenFor: time.Minute})
			ds[0].Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Hang: true} })
			for i := range 5 {
				ctx, cancel := context.WithCancel(context.Background())
				if !tc.midway {
					cancel()
				}
				errs := make(chan error, 1)
				go func() {
					_, err := r.Send(ctx, outbound(fmt.Sprint("m", i), 1))
					errs <- err
				}()
				if tc.midway {
					deadline := time.Now().Add(5 * time.Second)
					for ds[0].Calls() < i+1 {
						if time.Now().After(deadline) {
							t.Fatal("request never reached p1")
						}
						time.Sleep(2 * time.Millisecond)
					}
					cancel()
				}
				var err error
				select {
				case err = <-errs:
				case <-time.After(5 * time.Second):
					t.Fatal("Send did not return after cancel")
				}
				cancel()
				if err == nil || !providers.Temporary(err) {
					t.Fatalf("send %d: err %v, want a temporary error (the message is not lost)", i, err)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("send %d: err %v does not wrap context.Canceled", i, err)
				}
				// The caller gave up: the next provider is not even tried.
				if !strings.HasPrefix(err.Error(), "p1:") {
					t.Errorf("send %d: err %v, want p1's", i, err)
				}
			}
			if c := ds[1].Calls(); c != 0 {
				t.Errorf("p2 called %d times for cancelled sends", c)
			}
			if s := states(r); s != "p1=closed p2=closed" {
				t.Fatalf("breakers %s after 5 cancelled sends with Failures 2", s)
			}
			ds[0].Respond(nil)
			if rec, err := r.Send(context.Background(), outbound("after", 1)); err != nil || rec.Provider != "p1" {
				t.Errorf("send after cancellations: %+v %v, want via p1", rec, err)
			}
		})
	}
}

// When every provider fails temporarily, the error says so and carries the
// last provider's code, so the worker retries with the right record.
func TestRouterAllProvidersFail(t *testing.T) {
	for _, tc := range []struct {
		name     string
		second   twiliotest.Failure
		wantCode string
	}{
		{"Twilio error code", twiliotest.Failure{Status: 503, Code: 20503}, "20503"},
		{"proxy error page", twiliotest.Failure{Status: 502}, "http_502"},
		{"too many requests", twiliotest.Failure{Status: 429, Code: 20429, RetryAfter: "3"}, "20429"},
		{"timeout", twiliotest.Failure{Hang: true}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, ps := doubles(t, 2, 300*time.Millisecond)
			r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 5, OpenFor: time.Minute})
			ds[0].Respond(twiliotest.FailAll(500, 20500))
			ds[1].Respond(func(int, url.Values) *twiliotest.Failure { f := tc.second; return &f })
			_, err := r.Send(context.Background(), outbound("m1", 1))
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v is not a *providers.Error", err)
			}
			if !providers.Temporary(err) || pe.Provider != "p2" || pe.Code != tc.wantCode {
				t.Errorf("err %v: temporary %v provider %q code %q, want temporary from p2 with %q",
					err, providers.Temporary(err), pe.Provider, pe.Code, tc.wantCode)
			}
			if ds[0].Calls() != 1 || ds[1].Calls() != 1 {
				t.Errorf("calls p1 %d p2 %d, want 1 each", ds[0].Calls(), ds[1].Calls())
			}
		})
	}

	t.Run("last provider's breaker open", func(t *testing.T) {
		ds, ps := doubles(t, 2, 0)
		r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 1, OpenFor: time.Minute})
		ds[0].Respond(twiliotest.FailAll(500, 20500))
		ds[1].Respond(twiliotest.FailAll(500, 20500))
		r.Send(context.Background(), outbound("m1", 1)) // opens both
		_, err := r.Send(context.Background(), outbound("m2", 1))
		if !providers.Temporary(err) || providers.Code(err) != "breaker_open" || !strings.HasPrefix(err.Error(), "p2:") {
			t.Errorf("err %v (code %q), want temporary breaker_open from p2", err, providers.Code(err))
		}
		// Nothing was tried: the message is told to wait for the first
		// breaker to let a trial through, not to spend a retry.
		if wait := providers.RetryAfter(err); wait <= 50*time.Second || wait > time.Minute {
			t.Errorf("retry after %s, want the breakers' remaining open time (about 1 min)", wait)
		}
		if ds[0].Calls() != 1 || ds[1].Calls() != 1 {
			t.Errorf("calls p1 %d p2 %d, want 1 each", ds[0].Calls(), ds[1].Calls())
		}
	})

	t.Run("one breaker open, the other provider failed", func(t *testing.T) {
		ds, ps := doubles(t, 2, 0)
		r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 1, OpenFor: time.Minute})
		ds[0].Respond(twiliotest.FailAll(500, 20500))
		r.Send(context.Background(), outbound("m1", 1)) // opens p1; p2 takes it
		ds[1].Respond(twiliotest.FailAll(500, 20500))
		_, err := r.Send(context.Background(), outbound("m2", 1))
		if !providers.Temporary(err) || providers.RetryAfter(err) != 0 {
			t.Errorf("err %v, retry after %s: a provider that was tried and failed takes the normal backoff", err, providers.RetryAfter(err))
		}
	})
}

// The tps cap is a shared budget of segments per second: over it a message
// waits for its provider (rate_limited with a RetryAfter) instead of going
// to the backup, and the double is not called.
func TestRouterTPS(t *testing.T) {
	type send struct {
		router   int // which of the two routers sends
		segments int
		wantOK   bool
	}
	for _, tc := range []struct {
		name  string
		sends []send
	}{
		{"five one-segment messages, the sixth waits", []send{
			{0, 1, true}, {0, 1, true}, {0, 1, true}, {0, 1, true}, {0, 1, true}, {0, 1, false},
		}},
		{"segments count", []send{
			{0, 3, true}, {0, 1, true}, {0, 1, true}, {0, 1, false},
		}},
		{"a message larger than the room left waits", []send{
			{0, 3, true}, {0, 3, false}, {0, 2, true}, {0, 1, false},
		}},
		{"shared by two routers over one Redis", []send{
			{0, 3, true}, {1, 1, true}, {0, 1, true}, {1, 1, false}, {0, 1, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, ps := doubles(t, 2, 0)
			// A second process: its own providers reaching the same doubles.
			ps2 := []providers.Provider{provider(t, "p1", ds[0], 0), provider(t, "p2", ds[1], 0)}
			rdb := redistest.New(t, testDB)
			opts := providers.RouterOptions{TPS: map[string]int{"p1": 5}}
			routers := []*providers.Router{router(t, ps, rdb, opts), router(t, ps2, rdb, opts)}
			start := time.Now()
			accepted := 0
			for i, s := range tc.sends {
				rec, err := routers[s.router].Send(context.Background(), outbound(fmt.Sprint("m", i), s.segments))
				if s.wantOK {
					if err != nil || rec.Provider != "p1" {
						t.Fatalf("send %d (%d segments): %+v %v, want via p1", i+1, s.segments, rec, err)
					}
					accepted++
				} else if !providers.Temporary(err) || providers.Code(err) != "rate_limited" || providers.RetryAfter(err) <= 0 || providers.RetryAfter(err) > time.Second {
					t.Fatalf("send %d (%d segments): %+v %v (code %q, retry after %v), want temporary rate_limited with 0 < RetryAfter ≤ 1s",
						i+1, s.segments, rec, err, providers.Code(err), providers.RetryAfter(err))
				}
				if c := ds[0].Calls(); c != accepted {
					t.Fatalf("after send %d p1 was called %d times, want %d (a capped send calls nobody)", i+1, c, accepted)
				}
			}
			if d := time.Since(start); d > 150*time.Millisecond {
				// GCRA refills one segment every 200ms at 5/s; a slow run
				// would make the expectations above meaningless.
				t.Logf("sends took %v; the budget may have refilled meanwhile", d)
			}
			if c := ds[1].Calls(); c != 0 {
				t.Errorf("the backup was called %d times: capped messages must wait for their provider", c)
			}
		})
	}

	// Known bug: a message with
	// more segments than the cap can never fit in the budget, so it is
	// rate-limited on every attempt until the worker gives up on it.
	t.Run("a message longer than the cap is eventually sent", func(t *testing.T) {
		ds, ps := doubles(t, 1, 0)
		r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{TPS: map[string]int{"p1": 2}})
		deadline := time.Now().Add(3 * time.Second)
		for {
			_, err := r.Send(context.Background(), outbound("long", 3))
			if err == nil {
				break
			}
			if providers.Code(err) != "rate_limited" || time.Now().After(deadline) {
				t.Fatalf("3-segment message with tps 2: %v (p1 calls %d)", err, ds[0].Calls())
			}
			time.Sleep(providers.RetryAfter(err))
		}
	})
}

func TestNewRouterErrors(t *testing.T) {
	_, ps := doubles(t, 2, 0)
	rdb := redistest.New(t, testDB)
	dup, err := twilio.New(twilio.Config{Name: "p1", AccountSID: "AC1", AuthToken: "t1", From: "+15005550006"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		ps      []providers.Provider
		opts    providers.RouterOptions
		wantErr string // "" = no error
		wantIs  error
	}{
		{"no providers", nil, providers.RouterOptions{}, "no provider configured", providers.ErrNoProvider},
		{"empty list", []providers.Provider{}, providers.RouterOptions{Redis: rdb}, "no provider configured", providers.ErrNoProvider},
		{"same name twice", []providers.Provider{ps[0], ps[1], dup}, providers.RouterOptions{Redis: rdb}, `"p1" listed twice`, nil},
		{"tps without Redis", ps, providers.RouterOptions{TPS: map[string]int{"p2": 10}}, `"p2" has a tps cap, which needs Redis`, nil},
		{"tps with Redis", ps, providers.RouterOptions{Redis: rdb, TPS: map[string]int{"p2": 10}}, "", nil},
		{"no Redis, no tps", ps, providers.RouterOptions{}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := providers.NewRouter(tc.ps, tc.opts)
			if tc.wantErr == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRouter: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || r != nil {
				t.Fatalf("NewRouter = %v, %v; want nil and an error containing %q", r, err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err %v is not %v", err, tc.wantIs)
			}
		})
	}
}

// States follows a breaker through closed → open → half-open → open →
// half-open → closed, and reports every change to OnStateChange.
func TestRouterStates(t *testing.T) {
	const openFor = 200 * time.Millisecond
	ds, ps := doubles(t, 2, 0)
	var mu sync.Mutex
	var changes []string
	r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 1, OpenFor: openFor,
		OnStateChange: func(p, s string) { mu.Lock(); changes = append(changes, p+"="+s); mu.Unlock() }})
	ds[0].Respond(twiliotest.FailAll(500, 20500))
	wait := func() { time.Sleep(openFor + 100*time.Millisecond) }
	send := func() { r.Send(context.Background(), outbound("m", 1)) }
	for _, step := range []struct {
		name string
		do   func()
		want string
	}{
		{"new", func() {}, "p1=closed p2=closed"},
		{"after a failure", send, "p1=open p2=closed"},
		{"after OpenFor", wait, "p1=half-open p2=closed"},
		{"trial failed", send, "p1=open p2=closed"},
		{"after OpenFor again", wait, "p1=half-open p2=closed"},
		{"trial succeeded", func() { ds[0].Respond(nil); send() }, "p1=closed p2=closed"},
	} {
		step.do()
		if got := states(r); got != step.want {
			t.Fatalf("%s: %s, want %s", step.name, got, step.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(changes, " "), "p1=open p1=half-open p1=open p1=half-open p1=closed"; got != want {
		t.Errorf("OnStateChange got %s, want %s", got, want)
	}
}

// Known bug: a send whose
// context is already cancelled fails its PTTL read, and sharedFlag.isOpen
// then caches "not open" for SharedRefresh, so this process's other sends
// call a provider another process has opened, and States says closed.
func TestRouterCancelledSendKeepsSharedOpen(t *testing.T) {
	ds, ps := doubles(t, 2, 0)
	rdb := redistest.New(t, testDB)
	a := router(t, ps, rdb, providers.RouterOptions{Failures: 1, OpenFor: time.Minute})
	ds[0].Respond(twiliotest.FailAll(500, 20500))
	a.Send(context.Background(), outbound("m1", 1)) // opens p1, shared through Redis
	// Another process, whose own breaker for p1 is closed.
	b := router(t, []providers.Provider{provider(t, "p1", ds[0], 0), provider(t, "p2", ds[1], 0)}, rdb,
		providers.RouterOptions{Failures: 5, OpenFor: time.Minute, SharedRefresh: 50 * time.Millisecond})
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Send(ctx, outbound("m2", 1))
	before := ds[0].Calls()
	if rec, err := b.Send(context.Background(), outbound("m3", 1)); err != nil || rec.Provider != "p2" || ds[0].Calls() != before {
		t.Errorf("send after a cancelled one: %+v %v, p1 calls %d→%d; want via p2 without calling open p1", rec, err, before, ds[0].Calls())
	}
	if s := states(b); s != "p1=open p2=closed" {
		t.Errorf("breakers %s, want p1 open", s)
	}
}

// A provider that timed out may have taken the message: sending it through
// the backup in the same attempt would deliver it twice.
func TestRouterDoesNotFailOverAnAmbiguousOutcome(t *testing.T) {
	ds, ps := doubles(t, 2, 200*time.Millisecond)
	r := router(t, ps, redistest.New(t, testDB), providers.RouterOptions{Failures: 5, OpenFor: time.Minute})
	ds[0].Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Hang: true} })
	_, err := r.Send(context.Background(), outbound("m1", 1))
	if !providers.Temporary(err) || !providers.Ambiguous(err) || providers.Code(err) != "timeout" {
		t.Fatalf("err %v: want a temporary, ambiguous timeout", err)
	}
	if ds[1].Calls() != 0 {
		t.Fatal("the backup was called after the primary timed out")
	}
}

// A reply goes back through the provider the citizen wrote to, while it is
// healthy; otherwise the configured order applies.
func TestRouterPrefer(t *testing.T) {
	rdb := redistest.New(t, testDB)
	ds, ps := doubles(t, 3, time.Second)
	r := router(t, ps, rdb, providers.RouterOptions{Failures: 1, OpenFor: time.Minute})
	ctx := context.Background()
	for _, tc := range []struct {
		prefer, want string
	}{
		{"", "p1"}, {"p2", "p2"}, {"p3", "p3"}, {"p1", "p1"}, {"nobody", "p1"},
	} {
		m := outbound("m-"+tc.prefer, 1)
		m.Prefer = tc.prefer
		rec, err := r.Send(ctx, m)
		if err != nil || rec.Provider != tc.want {
			t.Fatalf("prefer %q: sent by %q (%v), want %q", tc.prefer, rec.Provider, err, tc.want)
		}
	}
	ds[2].Respond(twiliotest.FailAll(500, 20500))
	m := outbound("m-down", 1)
	m.Prefer = "p3"
	if rec, err := r.Send(ctx, m); err != nil || rec.Provider != "p1" {
		t.Fatalf("preferred provider failing: sent by %q (%v), want the first in order", rec.Provider, err)
	}
}
