// Package loadgen drives a running Sandesh gateway over HTTP, as a black
// box, and reports what it achieved: per kind of request the rate, status
// codes and latencies, and — given the provider double's HTTP API — how
// many of the SMS the requests owed reached the provider, how fast, and
// how many were lost or duplicated.
//
// A run has three phases:
//
//  1. Setup (not timed with the run): with an admin key it creates a centre
//     LG<run id>, a centre key and a verifier key as the mix needs them,
//     then registers the beneficiaries concurrently, one per mobile, on the
//     mobiles +91 9 PPPP NNNNN where PPPP is the run's random prefix.
//  2. The timed run. With a rate, open loop: a ticker starts requests on
//     schedule whatever the gateway's speed, at most Concurrency in flight;
//     a request due while Concurrency are in flight is not sent but counted
//     as missed. With rate 0, closed loop: Concurrency workers, each sending
//     its next request when the last is answered.
//  3. The drain (with a double): the generator reads the double's messages
//     until every SMS it expects has arrived or Drain has passed, then
//     matches them to the requests.
//
// Each kind that sends SMS (dose, book, kyvs, inbound) has mobiles of its
// own, and a mobile is lent to one request at a time. So an SMS whose
// message id the API does not return (a KYVS OTP, a keyword reply) is the
// first one to its mobile after its request was sent, unambiguously.
//
// Limits of the gateway a drill must respect:
//   - kyvs_verifier_per_hour (config) caps the OTPs of one verifier key an
//     hour: set it above the drill's KYVS requests (1000 by default), or
//     they are refused with 429.
//   - 5 KYVS OTPs per mobile an hour: give enough beneficiaries (the kyvs
//     pool holds about weight/total of them); past it the gateway answers
//     429 and no SMS is expected.
//   - 5 keyword replies per mobile per 10 minutes: the generator keeps the
//     same count and expects no reply past it (the request is still sent).
//   - one active appointment per beneficiary: a book request on a
//     beneficiary booked earlier in the run cancels that appointment first
//     (reported as kind "cancel", whose SMS is expected too).
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run. URL, Duration, Mix and Beneficiaries are required,
// with the keys the mix needs: AdminKey alone (the generator creates what
// it lacks), or RegistryKey with CenterKey (dose), VerifierKey (kyvs) and
// CenterID (book).
type Config struct {
	URL       string // the gateway's base URL
	PublicURL string // the gateway's public_url, the base of webhook signatures; "" means URL
	AdminKey  string

	RegistryKey string // registers beneficiaries, books and cancels; "" means AdminKey
	CenterKey   string // records walk-in doses; "" creates one with AdminKey
	VerifierKey string // asks for KYVS OTPs; "" creates one with AdminKey
	CenterID    string // the centre of CenterKey and of bookings; "" creates LG<run id> with AdminKey

	Provider   string // the twilio provider's name in webhook paths; "" means "primary"
	AuthToken  string // that provider's auth token, to sign inbound SMS
	AccountSID string // AccountSid of inbound SMS; "" makes one up
	USSDToken  string // the gateway's ussd_token, if it has one

	Duration    time.Duration // how long to start requests for
	Rate        float64       // requests/s for all kinds together; 0: as fast as Concurrency allows
	Concurrency int           // requests in flight at most; 0 means 64
	Mix         Mix
	// Beneficiaries registered for the run (1 to MaxBeneficiaries).
	Beneficiaries int
	// SetupDone, when set, is called once the setup is over and before
	// the timed run starts: a bench samples its counters there.
	SetupDone func()
	// DosePeople are beneficiaries registered besides, four to a mobile,
	// for the dose requests: each person takes one dose (the schedule
	// allows one a day), so a run of many doses needs many people. Past
	// them a dose request registers a person first (kind register).
	DosePeople int
	// Languages the beneficiaries are registered with, in turn; nil means en.
	Languages []string

	DoubleURL   string        // the provider double's base URL; "" skips end-to-end results
	ResetDouble bool          // POST /reset to the double before the run
	Drain       time.Duration // the longest wait after the run for SMS on their way
	Timeout     time.Duration // per request; 0 means 30s

	// Seed makes the run id and mobile prefix reproducible; 0 picks them at random.
	Seed uint64
	// Progress receives a line now and then; nil for none.
	Progress io.Writer
	// HTTPClient is used instead of NewHTTPClient's when set.
	HTTPClient *http.Client
}

var providerName = regexp.MustCompile(`^[a-z0-9-]+$`)

// Validate reports everything wrong with cfg at once.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults fills the defaults and checks cfg.
func (cfg Config) withDefaults() (Config, error) {
	cfg.URL = strings.TrimSuffix(strings.TrimSpace(cfg.URL), "/")
	if cfg.PublicURL == "" {
		cfg.PublicURL = cfg.URL
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Provider == "" {
		cfg.Provider = "primary"
	}
	if cfg.AccountSID == "" {
		cfg.AccountSID = newSID("AC")
	}
	if cfg.RegistryKey == "" {
		cfg.RegistryKey = cfg.AdminKey
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 64
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if len(cfg.Languages) == 0 {
		cfg.Languages = []string{"en"}
	}
	cfg.DoubleURL = strings.TrimSuffix(strings.TrimSpace(cfg.DoubleURL), "/")

	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, u := range []struct{ name, v string }{{"url", cfg.URL}, {"public url", cfg.PublicURL}, {"double url", cfg.DoubleURL}} {
		if u.v == "" && u.name == "double url" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("%s: %q is not an http(s) URL", u.name, u.v)
		}
	}
	if cfg.Duration <= 0 {
		bad("duration must be positive")
	}
	if cfg.Rate < 0 {
		bad("rate must not be negative")
	}
	if cfg.Concurrency < 1 {
		bad("concurrency must be at least 1")
	}
	if cfg.Timeout < 0 || cfg.Drain < 0 {
		bad("timeout and drain must not be negative")
	}
	if len(cfg.Mix) == 0 || cfg.Mix.Total() == 0 {
		bad("mix is empty")
	}
	if cfg.Beneficiaries < 1 || cfg.Beneficiaries > MaxBeneficiaries {
		bad("beneficiaries must be from 1 to %d", MaxBeneficiaries)
	} else if cfg.DosePeople < 0 || cfg.Beneficiaries+(cfg.DosePeople+perMobile-1)/perMobile > MaxBeneficiaries {
		bad("dose people must be from 0 to %d: four to a mobile, and the run has %d mobiles", perMobile*(MaxBeneficiaries-cfg.Beneficiaries), MaxBeneficiaries)
	} else if _, err := partition(make([]Person, cfg.Beneficiaries), cfg.Mix); err != nil {
		bad("%v", err)
	}
	if !providerName.MatchString(cfg.Provider) {
		bad("provider %q must match [a-z0-9-]+", cfg.Provider)
	}
	uses := func(k Kind) bool { return cfg.Mix.Weight(k) > 0 }
	if uses(KindInbound) && cfg.AuthToken == "" {
		bad("inbound requests need the provider's auth token to sign them")
	}
	if cfg.RegistryKey == "" {
		bad("an admin key or a registry key is needed to register beneficiaries")
	}
	if cfg.AdminKey == "" {
		if uses(KindDose) && cfg.CenterKey == "" {
			bad("dose requests need a centre key (or an admin key to create one)")
		}
		if uses(KindKYVS) && cfg.VerifierKey == "" {
			bad("kyvs requests need a verifier key (or an admin key to create one)")
		}
		if uses(KindBook) && cfg.CenterID == "" {
			bad("book requests need a centre id (or an admin key to create a centre)")
		}
	}
	return cfg, errors.Join(errs...)
}

// Run sets up, runs and drains one load run and reports it. Cancelling
// ctx during the timed run stops it early (the report says so; in-flight
// requests finish and SMS are read once more, without waiting for the
// drain); an error is returned only when the run could not start.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := newRunner(cfg)
	rep := &Report{
		RunID: r.runID, URL: cfg.URL, Mix: cfg.Mix.String(), Rate: cfg.Rate, Concurrency: cfg.Concurrency,
		MobilePrefix: fmt.Sprintf("%04d", r.prefix),
	}
	if err := r.setup(ctx, &rep.Setup); err != nil {
		return nil, err
	}
	if cfg.SetupDone != nil {
		cfg.SetupDone()
	}
	rep.Warnings = r.capacityWarnings()
	for _, w := range rep.Warnings {
		r.progress("warning: %s", w)
	}
	var dbl *double
	if cfg.DoubleURL != "" {
		dbl = &double{c: client{base: cfg.DoubleURL, hc: r.api.hc}}
		if cfg.ResetDouble {
			if err := dbl.reset(ctx); err != nil {
				return nil, err
			}
		}
	}

	rep.Started = time.Now()
	window := r.load(ctx)
	rep.Interrupted = ctx.Err() != nil
	r.fill(rep, window)

	if dbl != nil {
		dctx := ctx
		drain := cfg.Drain
		if rep.Interrupted {
			// Read what arrived once; do not wait.
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			dctx, drain = c, 0
		}
		rep.E2E = r.drain(dctx, dbl, rep, drain)
		rep.Interrupted = rep.Interrupted || ctx.Err() != nil
	}
	return rep, nil
}

// runner is one run's state.
type runner struct {
	cfg    Config
	api    client
	runID  string
	prefix int

	// From setup.
	centerID, centerKey, verifierKey string
	people                           []Person
	pools                            map[Kind]*pool
	bookDate                         string

	// ownerMu guards owner, which dose requests add to while the run lasts
	// (freshPerson); the drain reads it once every request has ended.
	ownerMu sync.Mutex
	owner   map[string]Kind // mobile → the kind whose SMS it receives
	// nextMobile is the next mobile index past the setup's for fresh
	// beneficiaries; registered counts every registration, for names.
	nextMobile, registered atomic.Int64
	// doseGroups are DosePeople by mobile; doseTaken counts the groups
	// dose requests took.
	doseGroups [][]Person
	doseTaken  atomic.Int64

	picker *picker
	stats  map[Kind]*kindStats
	ussdN  atomic.Int64 // USSD requests started

	expMu sync.Mutex
	exps  []expectation

	// otpMu guards otps: when each mobile was sent an OTP, for the
	// gateway's budget of OTP SMS per mobile.
	otpMu sync.Mutex
	otps  map[string][]time.Time
}

func newRunner(cfg Config) *runner {
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(cfg.Concurrency, cfg.Timeout)
	}
	r := &runner{
		cfg:    cfg,
		api:    client{base: cfg.URL, hc: hc},
		runID:  fmt.Sprintf("%08x", rng.Uint32()),
		prefix: rng.IntN(10000),
		picker: newPicker(cfg.Mix),
		stats:  map[Kind]*kindStats{},
		pools:  map[Kind]*pool{},
		owner:  map[string]Kind{},
		otps:   map[string][]time.Time{},
	}
	for _, k := range reportKinds {
		r.stats[k] = &kindStats{statuses: map[string]int{}}
	}
	r.nextMobile.Store(int64(cfg.Beneficiaries))
	r.registered.Store(int64(cfg.Beneficiaries))
	return r
}

// own notes that mobile receives the SMS of kind k only.
func (r *runner) own(mobile string, k Kind) {
	r.ownerMu.Lock()
	r.owner[mobile] = k
	r.ownerMu.Unlock()
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "loadgen: "+format+"\n", args...)
	}
}

// capacityWarnings says where the planned run will meet the gateway's
// per-mobile limits with the pools it has.
func (r *runner) capacityWarnings() []string {
	var out []string
	total := float64(r.cfg.Mix.Total())
	planned := func(k Kind) float64 {
		return r.cfg.Rate * r.cfg.Duration.Seconds() * float64(r.cfg.Mix.Weight(k)) / total
	}
	if p := r.pools[KindKYVS]; p != nil && r.cfg.Rate > 0 {
		if n := planned(KindKYVS); n > float64(5*p.size) {
			out = append(out, fmt.Sprintf("about %.0f kyvs requests on %d mobiles: past 5 OTPs per mobile an hour the gateway answers 429 (register more beneficiaries)", n, p.size))
		}
	}
	if p := r.pools[KindInbound]; p != nil && r.cfg.Rate > 0 {
		perWindow := planned(KindInbound) * min(1, (10*time.Minute).Seconds()/r.cfg.Duration.Seconds())
		if perWindow > float64(5*p.size) {
			out = append(out, fmt.Sprintf("about %.0f inbound SMS per 10 minutes on %d mobiles: past 5 per mobile the gateway stops replying (register more beneficiaries)", perWindow, p.size))
		}
	}
	if r.cfg.Mix.Weight(KindKYVS) > 0 {
		// The gateway's setting is not visible from outside; 1000 is its default.
		switch n := planned(KindKYVS); {
		case r.cfg.Rate == 0:
			out = append(out, "kyvs at full speed: the gateway's kyvs_verifier_per_hour (default 1000) must exceed the run's kyvs requests, or the rest are refused with 429")
		case n > 1000:
			out = append(out, fmt.Sprintf("about %.0f kyvs requests: the gateway's kyvs_verifier_per_hour (default 1000) must be higher, or the rest are refused with 429", n))
		}
	}
	return out
}

// kindStats gathers one kind's requests.
type kindStats struct {
	mu        sync.Mutex
	requests  int
	statuses  map[string]int
	latencies []time.Duration
	badBodies int
	missed    int
}

// record counts one request; badBody marks an answer with the right
// status and a body that breaks the contract.
func (r *runner) record(k Kind, res result, badBody bool) {
	if errors.Is(res.err, context.Canceled) {
		return // the run was interrupted: not the gateway's doing
	}
	s := r.stats[k]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.statuses[res.statusKey()]++
	if res.err == nil {
		s.latencies = append(s.latencies, res.took)
	}
	if badBody {
		s.badBodies++
	}
}

func (r *runner) missed(k Kind) {
	s := r.stats[k]
	s.mu.Lock()
	s.missed++
	s.mu.Unlock()
}

// expect notes an SMS the gateway owes for a request.
func (r *runner) expect(k Kind, mobile, messageID string, sent time.Time) {
	r.expMu.Lock()
	r.exps = append(r.exps, expectation{kind: k, mobile: mobile, messageID: messageID, sent: sent})
	r.expMu.Unlock()
}

// fill writes the timed run's numbers into rep.
func (r *runner) fill(rep *Report, window time.Duration) {
	rep.Seconds = window.Seconds()
	for _, k := range reportKinds {
		s := r.stats[k]
		s.mu.Lock()
		kr := KindReport{
			Kind: k, Requests: s.requests, Statuses: s.statuses, BadBodies: s.badBodies,
			Latency: Summarize(s.latencies), Missed: s.missed,
		}
		s.mu.Unlock()
		if p := r.pools[k]; p != nil {
			kr.MobileWaits = int(p.waits.Load())
		}
		if kr.Requests == 0 && kr.Missed == 0 && r.cfg.Mix.Weight(k) == 0 {
			continue
		}
		if rep.Seconds > 0 {
			kr.RatePerSec = float64(kr.Requests) / rep.Seconds
		}
		rep.Requests += kr.Requests
		rep.Missed += kr.Missed
		rep.Kinds = append(rep.Kinds, kr)
	}
	if rep.Seconds > 0 {
		rep.RatePerSec = float64(rep.Requests) / rep.Seconds
	}
}

// drain reads the double until every expected SMS has arrived or drain
// has passed, and writes the end-to-end results into rep.
func (r *runner) drain(ctx context.Context, d *double, rep *Report, drain time.Duration) *E2EReport {
	e := &E2EReport{Double: r.cfg.DoubleURL}
	r.expMu.Lock()
	exps := slices.Clone(r.exps)
	r.expMu.Unlock()
	// A little before the run: the double's clock may lag ours a bit.
	col := newCollector(d, rep.Started.Add(-time.Second))
	start := time.Now()
	deadline := start.Add(drain)
	var found map[Kind]*deliveries
	var pollErr error
	lastSaid := start
	for first := true; ; first = false {
		n, err := col.poll(ctx)
		pollErr = err
		if err == nil && (n > 0 || first) {
			found = match(exps, col.msgs, r.owner)
			if delivered(found) == len(exps) {
				e.Complete = true
				break
			}
		}
		if err != nil {
			r.progress("%v", err)
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		if time.Since(lastSaid) >= progressEvery {
			r.progress("drain: %d of %d expected SMS arrived", delivered(found), len(exps))
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(250*time.Millisecond, time.Until(deadline))):
		}
	}
	if found == nil {
		found = match(exps, col.msgs, r.owner)
	}
	e.DrainSeconds = time.Since(start).Seconds()
	e.Messages = len(col.msgs)
	for _, m := range col.msgs {
		if _, ours := r.owner[m.To]; !ours {
			e.Foreign++
		}
	}
	for i := range rep.Kinds {
		k := &rep.Kinds[i]
		if !k.Kind.sendsSMS() {
			continue
		}
		x := &KindE2E{}
		if d := found[k.Kind]; d != nil {
			*x = KindE2E{Expected: d.expected, Delivered: d.delivered, Lost: d.expected - d.delivered,
				Duplicates: d.duplicates, Unexpected: d.unexpected, Latency: Summarize(d.latencies)}
		}
		k.E2E = x
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rec, err := d.record(rctx); err != nil {
		e.RecordError = err.Error()
	} else {
		e.Record = &rec
	}
	if pollErr != nil && e.RecordError == "" {
		e.RecordError = "last read of messages failed: " + pollErr.Error()
	}
	return e
}

func delivered(found map[Kind]*deliveries) int {
	n := 0
	for _, d := range found {
		n += d.delivered
	}
	return n
}
