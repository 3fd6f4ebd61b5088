package drills

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sandesh/providers/twilio/smsdouble"
)

// TestWebCrashDrill: kill -9 the web process in the middle of a burst of
// doses sent as a careful client sends them — each with its own
// Idempotency-Key, retried until it is answered 201 — and start it again.
// Every dose is recorded once and confirmed once, and a retry after the
// restart is answered at once: no request cut off by the crash holds its
// key for a lease.
func TestWebCrashDrill(t *testing.T) {
	rs := startRedis(t, "")
	d := newDouble(t, smsdouble.Faults{Latency: 5 * time.Millisecond, Jitter: 5 * time.Millisecond})
	g := startGateway(t, gatewayConfig{RedisURL: rs.url(), Providers: []providerConfig{d.provider("primary")}, Workers: 20})
	const n, clients = 1200, 16
	pop := g.populate(n)
	l := &doseLoad{accepted: map[string]time.Time{}, codes: map[int]int{}, messageIDs: map[string]string{}}
	var next, done atomic.Int64
	var lastAnswer atomic.Int64 // unix ns of the last 201
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				body := map[string]string{"beneficiary_id": pop.beneficiaries[i%int64(len(pop.beneficiaries))], "vaccine": "COVISHIELD", "batch": "DRILL2"}
				key := fmt.Sprintf("web-crash-%d", i)
				for try := 0; ; try++ {
					var res struct {
						CertificateID string `json:"certificate_id"`
						MessageID     string `json:"message_id"`
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					code, err := g.call(ctx, pop.centerKey, "/v1/doses", body, &res, "Idempotency-Key", key)
					cancel()
					l.mu.Lock()
					l.codes[code]++
					l.mu.Unlock()
					if err == nil && code == http.StatusCreated {
						l.mu.Lock()
						if _, seen := l.accepted[res.CertificateID]; !seen {
							l.accepted[res.CertificateID] = time.Now()
						}
						l.messageIDs[res.CertificateID] = res.MessageID
						l.mu.Unlock()
						lastAnswer.Store(time.Now().UnixNano())
						done.Add(1)
						break
					}
					if try > 2000 {
						t.Errorf("dose %d never answered 201 (last %d %v)", i, code, err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	waitFor(t, 30*time.Second, "300 doses answered", func() bool { return done.Load() >= 300 })
	g.web.kill()
	time.Sleep(500 * time.Millisecond)
	g.web.start()
	waitFor(t, 20*time.Second, "the web process to be ready again", func() bool { return g.get("/readyz") == http.StatusOK })
	restarted := time.Now()
	wg.Wait()

	got, missing := awaitDelivery(t, map[string]*double{"primary": d}, l, 60*time.Second)
	last := lastDelivery(got)
	t.Logf("doses %d, certificates %d, codes %v, delivered %d, duplicates %d; after the restart: last answer %v, last delivery %v",
		done.Load(), len(l.accepted), l.statusCodes(), len(got), duplicates(got),
		time.Unix(0, lastAnswer.Load()).Sub(restarted).Round(time.Millisecond), last.Sub(restarted).Round(time.Millisecond))
	if len(missing) > 0 {
		g.explainMissing(t, l, missing)
		t.Fatalf("%d accepted doses never got their SMS, e.g. certificate %s", len(missing), missing[0])
	}
	if len(l.accepted) != n {
		t.Fatalf("%d certificates for %d doses: a retry recorded a dose twice or lost one", len(l.accepted), n)
	}
	if dup := duplicates(got); dup != 0 {
		var twice []string
		for cert, dl := range got {
			if dl.count > 1 {
				twice = append(twice, cert)
			}
		}
		g.explainMissing(t, l, twice)
		t.Fatalf("%d confirmations sent twice; only the web process died", dup)
	}
	// With a lease held by the dead process the retries would wait it out
	// (a minute, before); the bound is 15 s.
	if after := last.Sub(restarted); after > 15*time.Second {
		t.Fatalf("last confirmation %v after the restart, want < 15 s", after)
	}
	total := 0
	for _, id := range pop.beneficiaries {
		var b struct{ Doses int }
		g.getJSON(t, "/v1/beneficiaries/"+id, &b)
		total += b.Doses
	}
	if total != n {
		t.Fatalf("%d doses recorded for %d requests", total, n)
	}
}
