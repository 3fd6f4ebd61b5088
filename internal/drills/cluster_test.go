package drills

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"sandesh/internal/clustertest"
	"sandesh/providers/twilio/smsdouble"
)

// clusterURL is redis_url for c: one seed node, the others as addr.
func clusterURL(c *clustertest.Cluster) string {
	addrs := c.Addrs()
	return "redis+cluster://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
}

// Drill 7: a Redis Cluster of three masters and three replicas, two web
// and two worker processes, walk-in doses through both web processes; a
// master is killed with SIGKILL mid-load and its replica takes over. The
// API answers 201 or 503 throughout — never 500, never a hang — /readyz
// says 503 while a slot has no master and 200 again afterwards without a
// restart, and every dose the API accepted gets its SMS.
func TestClusterFailoverDrill(t *testing.T) {
	c := clustertest.Start(t)
	d := newDouble(t, smsdouble.Faults{Latency: 5 * time.Millisecond})
	cfg := gatewayConfig{RedisURL: clusterURL(c), Providers: []providerConfig{d.provider("primary")}}
	one := startGateway(t, cfg)
	two := startGateway(t, cfg)
	began := time.Now()
	pop := one.populate(1000)
	t.Logf("1,000 registered in %v", time.Since(began).Round(time.Millisecond))
	half := len(pop.beneficiaries) / 2
	popOne, popTwo := pop, pop
	popOne.beneficiaries, popTwo.beneficiaries = pop.beneficiaries[:half], pop.beneficiaries[half:]

	loads := []*doseLoad{
		one.startDoses(context.Background(), popOne, half, 6, 20*time.Millisecond),
		two.startDoses(context.Background(), popTwo, half, 6, 20*time.Millisecond),
	}
	waitFor(t, 30*time.Second, "the first 200 SMS", func() bool { return len(d.Messages(0)) >= 200 })

	// The master of a beneficiary's shard: doses keep landing on it.
	ctx := context.Background()
	victim, err := c.MasterOf(ctx, "sandesh:ben:{c"+pop.beneficiaries[half-1][:3]+"}:"+pop.beneficiaries[half-1])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	sawNotReady := false
	for time.Since(killedAt) < 3*time.Second && !sawNotReady {
		start := time.Now()
		code := one.get("/readyz")
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("/readyz took %v with a master gone", took)
		}
		sawNotReady = code == http.StatusServiceUnavailable
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.AwaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	healedAt := time.Now()
	for _, g := range []*gateway{one, two} {
		waitFor(t, 30*time.Second, "the web process to be ready again", func() bool { return g.get("/readyz") == http.StatusOK })
	}
	readyAgain := time.Since(healedAt)
	for _, l := range loads {
		l.wait()
	}

	codes := map[int]int{}
	accepted := &doseLoad{accepted: map[string]time.Time{}, messageIDs: map[string]string{}, codes: codes}
	for _, l := range loads {
		for code, n := range l.statusCodes() {
			codes[code] += n
		}
		l.mu.Lock()
		for cert, at := range l.accepted {
			accepted.accepted[cert] = at
			accepted.messageIDs[cert] = l.messageIDs[cert]
		}
		l.mu.Unlock()
	}
	t.Logf("master %s killed; cluster healed %v later; web ready again %v after; /readyz 503 seen: %v; codes %v",
		victim, healedAt.Sub(killedAt).Round(time.Millisecond), readyAgain.Round(time.Millisecond), sawNotReady, codes)
	for code, n := range codes {
		if code != http.StatusCreated && code != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d (0: no answer in 5 s); want only 201 and 503", n, code)
		}
	}
	if !sawNotReady {
		t.Error("/readyz never said 503 while a master was gone")
	}
	loadsDone := time.Now()
	got, missing := awaitDelivery(t, map[string]*double{"primary": d}, accepted, 170*time.Second)
	t.Logf("accepted %d, delivered %d (the last %v after the load ended), duplicates %d, owed at the answer %d",
		accepted.count(), len(got), lastDelivery(got).Sub(loadsDone).Round(time.Millisecond), duplicates(got), accepted.owed())
	if len(missing) > 0 {
		one.explainMissing(t, accepted, missing)
		t.Fatalf("%d accepted doses never got their SMS, e.g. certificate %s", len(missing), missing[0])
	}
	if accepted.count() == 0 {
		t.Fatal(fmt.Sprint("no dose was accepted: codes ", codes))
	}
}
