package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Kolkata on machines without a zoneinfo database
)

// kolkata is the programme's time zone, in which booking dates are days.
var kolkata = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

// registerTries is how often a registration is tried when the gateway
// does not answer or answers 429 or 5xx.
const registerTries = 3

// setup creates what the run needs and registers its beneficiaries.
func (r *runner) setup(ctx context.Context, rep *SetupReport) error {
	cfg := r.cfg
	uses := func(k Kind) bool { return cfg.Mix.Weight(k) > 0 }
	r.centerID, r.centerKey, r.verifierKey = cfg.CenterID, cfg.CenterKey, cfg.VerifierKey
	if cfg.AdminKey != "" {
		if r.centerID == "" && (uses(KindBook) || (uses(KindDose) && r.centerKey == "")) {
			r.centerID = "LG" + r.runID
			res := r.api.postJSON(ctx, "/v1/centers", cfg.AdminKey, map[string]string{
				"id": r.centerID, "name": "Load Test Centre " + r.runID, "district": "Pune",
				"state": "Maharashtra", "pincode": "411007",
			})
			if !res.ok(http.StatusCreated) {
				return fmt.Errorf("setup: create centre %s: %s", r.centerID, res.describe())
			}
			rep.CreatedCenter = true
		}
		if uses(KindDose) && r.centerKey == "" {
			key, err := r.createKey(ctx, "center", "loadgen "+r.runID, r.centerID)
			if err != nil {
				return err
			}
			r.centerKey = key
			rep.CreatedKeys = append(rep.CreatedKeys, "center")
		}
		if uses(KindKYVS) && r.verifierKey == "" {
			key, err := r.createKey(ctx, "verifier", "loadgen "+r.runID, "")
			if err != nil {
				return err
			}
			r.verifierKey = key
			rep.CreatedKeys = append(rep.CreatedKeys, "verifier")
		}
	}
	rep.CenterID = r.centerID
	// Tomorrow in the programme's time zone: a valid booking date wherever
	// the gateway's "today" is, even across midnight.
	r.bookDate = time.Now().In(kolkata).AddDate(0, 0, 1).Format(time.DateOnly)

	start := time.Now()
	people, latencies, requests, err := r.register(ctx)
	summarize := func() {
		rep.Requests = requests
		rep.Seconds = time.Since(start).Seconds()
		rep.Latency = Summarize(latencies)
	}
	if err != nil {
		summarize()
		return err
	}
	r.people = people

	parts, err := partition(people, cfg.Mix)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	more, fresh, moreLatencies, moreRequests, err := r.registerDosePeople(ctx, parts[KindDose])
	latencies, requests = append(latencies, moreLatencies...), requests+moreRequests
	summarize()
	if err != nil {
		return err
	}
	rep.Pools = map[Kind]int{}
	for k, ps := range parts {
		r.pools[k] = newPool(k, ps, fresh)
		rep.Pools[k] = len(ps)
		for _, p := range ps {
			r.own(p.Mobile, k)
		}
	}
	rep.Beneficiaries = len(people) + more
	if rep.Seconds > 0 {
		rep.RatePerSec = float64(rep.Beneficiaries) / rep.Seconds
	}
	r.progress("setup: %d beneficiaries registered in %.1fs", rep.Beneficiaries, rep.Seconds)
	return nil
}

// registerDosePeople registers cfg.DosePeople more beneficiaries for
// the dose requests: first up to three on each dose mobile beside the
// setup's one (fresh, by mobile: its member takes them in turn), then four
// to a mobile past the setup's (doseGroups: a member whose own are dosed
// takes a mobile's four). It returns how many, with the registrations'
// latencies and requests.
func (r *runner) registerDosePeople(ctx context.Context, dose []Person) (int, map[string][]Person, []time.Duration, int, error) {
	n := r.cfg.DosePeople
	if n <= 0 || len(dose) == 0 {
		return 0, nil, nil, 0, nil
	}
	onOwn := min(n, len(dose)*(perMobile-1))
	mobiles := (n - onOwn + perMobile - 1) / perMobile
	base := int(r.nextMobile.Add(int64(mobiles))) - mobiles
	people, latencies, requests, err := r.registerMany(ctx, n, int(r.registered.Add(int64(n)))-n, func(i int) string {
		if i < onOwn {
			return dose[i%len(dose)].Mobile
		}
		return Mobile(r.prefix, base+(i-onOwn)/perMobile)
	})
	if err != nil {
		return 0, nil, latencies, requests, err
	}
	fresh := map[string][]Person{}
	for _, p := range people[:onOwn] {
		fresh[p.Mobile] = append(fresh[p.Mobile], p)
	}
	for i := onOwn; i < len(people); i += perMobile {
		group := people[i:min(i+perMobile, len(people))]
		r.own(group[0].Mobile, KindDose)
		r.doseGroups = append(r.doseGroups, group)
	}
	return len(people), fresh, latencies, requests, nil
}

// createKey issues an API key with the admin key.
func (r *runner) createKey(ctx context.Context, role, name, centerID string) (string, error) {
	req := map[string]string{"role": role, "name": name}
	if centerID != "" {
		req["center_id"] = centerID
	}
	res := r.api.postJSON(ctx, "/v1/admin/keys", r.cfg.AdminKey, req)
	var out struct {
		Key string `json:"key"`
	}
	if !res.ok(http.StatusCreated) || json.Unmarshal(res.body, &out) != nil || out.Key == "" {
		return "", fmt.Errorf("setup: create %s key: %s", role, res.describe())
	}
	return out.Key, nil
}

// register registers cfg.Beneficiaries people, one per mobile,
// Concurrency at a time, and returns them in order with the registrations'
// latencies.
func (r *runner) register(ctx context.Context) ([]Person, []time.Duration, int, error) {
	return r.registerMany(ctx, r.cfg.Beneficiaries, 0, func(i int) string { return Mobile(r.prefix, i) })
}

// registerMany registers n people, the i-th (names from first+i) on
// mobileOf(i), Concurrency at a time, and returns them in order with the
// registrations' latencies.
func (r *runner) registerMany(ctx context.Context, n, first int, mobileOf func(i int) string) ([]Person, []time.Duration, int, error) {
	people := make([]Person, n)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		requests  int
		wg        sync.WaitGroup
	)
	next := make(chan int)
	for range min(r.cfg.Concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p, took, tries, err := r.registerOne(ctx, first+i, mobileOf(i))
				mu.Lock()
				latencies = append(latencies, took...)
				requests += tries
				mu.Unlock()
				if err != nil {
					cancel(err)
					continue
				}
				people[i] = p
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, latencies, requests, err
	}
	return people, latencies, requests, nil
}

// registration is the i-th beneficiary's registration on mobile.
func (r *runner) registration(i int, mobile string) map[string]any {
	return map[string]any{
		"name": Name(i), "mobile": mobile, "birth_year": 1960 + i%45,
		"gender": [...]string{"F", "M", "O"}[i%3], "language": r.cfg.Languages[i%len(r.cfg.Languages)],
	}
}

// registerOne registers the i-th beneficiary on mobile, retrying what may
// pass on another try.
func (r *runner) registerOne(ctx context.Context, i int, mobile string) (Person, []time.Duration, int, error) {
	body := r.registration(i, mobile)
	var took []time.Duration
	var res result
	tries := 0
	for try := 1; try <= registerTries; try++ {
		res = r.api.postJSON(ctx, "/v1/beneficiaries", r.cfg.RegistryKey, body)
		tries = try
		if res.err == nil {
			took = append(took, res.took)
		}
		if ctx.Err() != nil {
			return Person{}, took, tries, context.Cause(ctx)
		}
		if res.err == nil && res.status != http.StatusTooManyRequests && res.status < 500 {
			break
		}
		if try < registerTries {
			time.Sleep(time.Duration(try) * 200 * time.Millisecond)
		}
	}
	var out Person
	if !res.ok(http.StatusCreated) || json.Unmarshal(res.body, &out) != nil || out.ID == "" || out.Mobile == "" {
		return Person{}, took, tries, fmt.Errorf("setup: register %s (%s): %s", Name(i), mobile, res.describe())
	}
	return out, took, tries, nil
}
