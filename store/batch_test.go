package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
)

// countScript appends its caller's tag to a list and returns the list's
// new length, so every caller must see its own script's answer.
var countScript = redis.NewScript(`return {redis.call('RPUSH', KEYS[1], ARGV[1]), ARGV[1]}`)

func TestBatcherAnswersEveryCallerItsOwnResult(t *testing.T) {
	rdb := redistest.New(t, 1)
	b := newBatcher(rdb, &replicas{})
	ctx := context.Background()
	const callers = 300
	lengths := make([]int64, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.run(ctx, countScript, []string{"batch:list"}, fmt.Sprint(i)).Slice()
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
				return
			}
			if res[1] != fmt.Sprint(i) {
				t.Errorf("caller %d got caller %v's answer", i, res[1])
			}
			lengths[i] = res[0].(int64)
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, n := range lengths {
		if n < 1 || n > callers || seen[n] {
			t.Fatalf("caller %d saw list length %d: each script must run exactly once", i, n)
		}
		seen[n] = true
	}
	if n := rdb.LLen(ctx, "batch:list").Val(); n != callers {
		t.Fatalf("list holds %d entries, want %d", n, callers)
	}
}

func TestBatcherReloadsScriptsAfterRedisForgetsThem(t *testing.T) {
	rdb := redistest.New(t, 1)
	b := newBatcher(rdb, &replicas{})
	ctx := context.Background()
	if err := b.run(ctx, countScript, []string{"batch:list"}, "warm").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// A pipeline of several calls meets NOSCRIPT; each call is run again.
	var calls []*batchCall
	for i := range 5 {
		calls = append(calls, &batchCall{ctx: ctx, scriptCall: scriptCall{script: countScript, keys: []string{"batch:list"}, args: []any{fmt.Sprint(i)}}})
	}
	b.exec(calls)
	for i, c := range calls {
		if err := c.cmd.Err(); err != nil {
			t.Errorf("call %d after SCRIPT FLUSH: %v", i, err)
		}
	}
	if n := rdb.LLen(ctx, "batch:list").Val(); n != 6 {
		t.Fatalf("list holds %d entries, want 6", n)
	}
}

func TestBatcherSkipsCallsWhoseContextEnded(t *testing.T) {
	rdb := redistest.New(t, 1)
	b := newBatcher(rdb, &replicas{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.run(ctx, countScript, []string{"batch:list"}, "late").Err(); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := rdb.LLen(context.Background(), "batch:list").Val(); n != 0 {
		t.Fatalf("a cancelled call ran: list holds %d entries", n)
	}
}
