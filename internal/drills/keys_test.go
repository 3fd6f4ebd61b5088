package drills

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/providers/twilio/smsdouble"
)

// TestKeyRevokedInEveryProcess: two web processes on one Redis verify API
// keys from memory; a key revoked as the README says (its revoked flag and
// the keys' version in one MULTI) is refused by both within a second.
func TestKeyRevokedInEveryProcess(t *testing.T) {
	rs := startRedis(t, "")
	d := newDouble(t, smsdouble.Faults{})
	c := gatewayConfig{RedisURL: rs.url(), Providers: []providerConfig{d.provider("primary")}}
	g := startGateway(t, c)
	c.WebPort = freePort(t)
	startSandesh(t, "web", writeConfig(t, c, c.WebPort))
	bases := []string{g.base, fmt.Sprintf("http://127.0.0.1:%d", c.WebPort)}
	waitFor(t, 20*time.Second, "the second web process to be ready", func() bool {
		resp, err := g.http.Get(bases[1] + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	var key struct{ ID, Key string }
	g.mustCall(adminKey, "/v1/admin/keys", map[string]string{"role": "registry", "name": "Registry"}, &key)
	status := func(base string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/centers/NOPE", nil)
		req.Header.Set("Authorization", "Bearer "+key.Key)
		resp, err := g.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, base := range bases {
		for range 3 { // the first look-up reads Redis, the next ones memory
			if got := status(base); got != http.StatusNotFound {
				t.Fatalf("%s: a valid key got %d, want 404 for the unknown centre", base, got)
			}
		}
	}

	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rs.port)})
	defer rdb.Close()
	ctx := context.Background()
	hash, err := rdb.HGet(ctx, "sandesh:apikeys:{keys}", key.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, "sandesh:apikey:{keys}:"+hash, "revoked", revoked.UnixMilli())
		p.Incr(ctx, "sandesh:apikeys:{keys}:version")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, base := range bases {
		for status(base) != http.StatusUnauthorized {
			if time.Since(revoked) > time.Second {
				t.Fatalf("%s still takes the key %v after its revocation", base, time.Since(revoked))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("refused by both processes %v after the revocation", time.Since(revoked).Round(time.Millisecond))
}
