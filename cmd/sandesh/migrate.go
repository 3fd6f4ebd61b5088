package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/store"
)

// migrate moves the data an earlier version wrote (key layout 1) into this
// version's layout (store.Migrate): in place, or from the Redis at from
// into the configured one (a cluster, say). Offline: every process of
// either version must be stopped first.
func (c cli) migrate(ctx context.Context, cfg *Config, log *slog.Logger, from string) int {
	a := &app{cfg: cfg, log: log}
	if err := a.connect(ctx); err != nil {
		fmt.Fprintf(c.stderr, "sandesh migrate: %v\n", err)
		return 1
	}
	defer a.Close()
	st, err := newStore(cfg, a.rdb)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh migrate: %v\n", err)
		return 1
	}
	var src redis.UniversalClient
	if from != "" {
		if src, err = dialSource(ctx, from); err != nil {
			fmt.Fprintf(c.stderr, "sandesh migrate: --from: %v\n", err)
			return 2
		}
		defer src.Close()
	} else if _, cluster := a.rdb.(*redis.ClusterClient); cluster {
		fmt.Fprint(c.stderr, "sandesh migrate: the earlier layout never ran on a cluster: name the Redis it is on with --from\n")
		return 2
	}
	start := time.Now()
	report, err := st.Migrate(ctx, src)
	c.printMigration(report)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh migrate: %v\n(run it again: it goes on where it stopped)\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "migrated in %s; this version starts on it now\n", time.Since(start).Round(time.Millisecond))
	return 0
}

// dialSource connects to the Redis an earlier version wrote to: one
// server or a Sentinel group, as redis_url names them.
func dialSource(ctx context.Context, raw string) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redactURL(raw), err)
	}
	var rdb redis.UniversalClient
	switch {
	case strings.HasSuffix(u.Scheme, "+cluster"):
		return nil, fmt.Errorf("%s: the earlier layout never ran on a cluster", redactURL(raw))
	case u.Query().Has("master_name"):
		fo, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", redactURL(raw), err)
		}
		rdb = redis.NewFailoverClient(fo)
	default:
		opts, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", redactURL(raw), err)
		}
		rdb = redis.NewClient(opts)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("%s: %w", redactURL(raw), err)
	}
	return rdb, nil
}

func (c cli) printMigration(r store.MigrateReport) {
	for _, kind := range slices.Sorted(maps.Keys(r.Written)) {
		fmt.Fprintf(c.stdout, "written  %8d  %s\n", r.Written[kind], kind)
	}
	for _, kind := range slices.Sorted(maps.Keys(r.Dropped)) {
		fmt.Fprintf(c.stdout, "left     %8d  %s\n", r.Dropped[kind], kind)
	}
	fmt.Fprintf(c.stdout, "pointers %8d  records whose ids name another shard (read once per process)\n", r.Pointers)
	if r.Removed > 0 {
		fmt.Fprintf(c.stdout, "removed  %8d  keys of the earlier layout\n", r.Removed)
	}
	if r.Unknowns > 0 {
		fmt.Fprintf(c.stdout, "unknown  %8d  keys left as they are, e.g. %s\n", r.Unknowns, strings.Join(r.Unknown, " "))
	}
}
