package clustertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestCluster: the cluster serves every slot from three masters; a
// script's keys in two slots are refused (CROSSSLOT), in one slot run;
// a master killed is replaced by its replica, which kept what a WAIT
// confirmed.
func TestCluster(t *testing.T) {
	c := Start(t)
	ctx := context.Background()
	rdb := c.Client()
	defer rdb.Close()

	var mu sync.Mutex // ForEachMaster calls on every master at once
	masters := map[string]bool{}
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		masters[m.Options().Addr] = true
		return nil
	})
	if err != nil || len(masters) != 3 {
		t.Fatalf("masters %v, %v; want 3", masters, err)
	}

	script := redis.NewScript(`redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return 1`)
	if err := script.Run(ctx, rdb, []string{"a", "b"}, "x").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("a script over two slots: %v, want CROSSSLOT", err)
	}
	if err := script.Run(ctx, rdb, []string{"{citizen}:a", "{citizen}:b"}, "x").Err(); err != nil {
		t.Fatalf("a script over one hash tag: %v", err)
	}

	// Writes on the master about to die, confirmed by its replica: WAIT
	// counts the acks of its own connection's writes, so one connection
	// does both.
	victim, err := c.MasterOf(ctx, "{citizen}:a")
	if err != nil {
		t.Fatal(err)
	}
	master := redis.NewClient(&redis.Options{Addr: victim, PoolSize: 1})
	for i := range 100 {
		if err := master.Set(ctx, fmt.Sprintf("{citizen}:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	acked, err := master.Wait(ctx, 1, 2*time.Second).Result()
	master.Close()
	if err != nil || acked < 1 {
		t.Fatalf("WAIT 1 on %s = %d, %v; want the replica's ack", victim, acked, err)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	heal, cancel := context.WithTimeout(ctx, 10*NodeTimeout)
	defer cancel()
	start := time.Now()
	if err := c.AwaitHealthy(heal); err != nil {
		t.Fatalf("after killing %s: %v", victim, err)
	}
	t.Logf("master %s killed; every slot served again after %s", victim, time.Since(start).Round(time.Millisecond))
	if now, err := c.MasterOf(ctx, "{citizen}:a"); err != nil || now == victim {
		t.Fatalf("the slot's master is %q (%v), want its replica", now, err)
	}
	after := c.Client()
	defer after.Close()
	for i := range 100 {
		if v, err := after.Get(ctx, fmt.Sprintf("{citizen}:%d", i)).Int(); err != nil || v != i {
			t.Fatalf("{citizen}:%d after failover = %d, %v", i, v, err)
		}
	}
}
