// Package redistest hands tests a Redis connection: the server named by
// REDIS_URL (or 127.0.0.1:6379) when one answers, else an embedded miniredis,
// so `go test ./...` passes on a machine with only Go.
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// New returns a client on database db, emptied before and after the test.
// Each test package passes its own db number because `go test ./...` runs
// packages in parallel against one server and asynq's keys carry no prefix.
func New(t testing.TB, db int) *redis.Client {
	t.Helper()
	opts := Options(t, db)
	rdb := redis.NewClient(opts)
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flush redis db %d: %v", db, err)
	}
	t.Cleanup(func() {
		rdb.FlushDB(context.Background())
		rdb.Close()
	})
	return rdb
}

// Options picks the server for db: REDIS_URL, else a local server if one
// answers, else a fresh miniredis stopped when the test ends.
func Options(t testing.TB, db int) *redis.Options {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
		probe := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DialTimeout: 200 * time.Millisecond, DialerRetries: 1, MaxRetries: -1})
		err := probe.Ping(context.Background()).Err()
		probe.Close()
		if err != nil {
			mr := miniredis.RunT(t)
			inRealTime(t, mr)
			return &redis.Options{Addr: mr.Addr(), DB: db}
		}
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	opts.DB = db
	return opts
}

// inRealTime moves mr's clock for expiries along with the wall clock:
// miniredis expires keys only when told that time passed, and tests wait
// for TTLs (a dead worker's heartbeat, an expired link) in real time.
func inRealTime(t testing.TB, mr *miniredis.Miniredis) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				mr.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}
