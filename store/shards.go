package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// stepGroups splits ids (of records named by id) into the groups that one
// step may touch together: on a cluster the ids of one shard, in the order
// given; on one server all of them, since a script there may touch any
// key. Each group lists indexes into ids.
func (s *Store) stepGroups(ids []string) [][]int {
	if len(ids) == 0 {
		return nil
	}
	if !s.cluster {
		all := make([]int, len(ids))
		for i := range ids {
			all[i] = i
		}
		return [][]int{all}
	}
	var groups [][]int
	of := map[string]int{}
	for i, id := range ids {
		sh := s.shardOf(id)
		g, ok := of[sh]
		if !ok {
			g = len(groups)
			of[sh] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// sendAll runs calls in one pipeline (one per master on a cluster) and
// returns their answers in order.
func (s *Store) sendAll(ctx context.Context, calls []scriptCall) []*redis.Cmd {
	if len(calls) == 0 {
		return nil
	}
	return runPipelined(ctx, s.rdb, calls)
}

// oldestInShards reads, across the sorted sets key builds for every shard,
// up to limit members scored at most maxScore, lowest score first: one
// pipeline of a read per shard (split per master on a cluster).
func (s *Store) oldestInShards(ctx context.Context, key func(shard string) string, maxScore string, limit int64) ([]string, error) {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, shardCount)
	for i := range shardCount {
		cmds[i] = p.ZRangeByScoreWithScores(ctx, key(shardAt(i)), &redis.ZRangeBy{Min: "-inf", Max: maxScore, Count: limit})
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, err
	}
	var all []redis.Z
	for i, c := range cmds {
		for _, z := range c.Val() {
			if id, ok := z.Member.(string); ok {
				s.learnShard(shardAt(i), id)
			}
		}
		all = append(all, c.Val()...)
	}
	slices.SortStableFunc(all, func(a, b redis.Z) int {
		switch {
		case a.Score < b.Score:
			return -1
		case a.Score > b.Score:
			return 1
		}
		return 0
	})
	if int64(len(all)) > limit {
		all = all[:limit]
	}
	out := make([]string, len(all))
	for i, z := range all {
		out[i], _ = z.Member.(string)
	}
	return out, nil
}

// scoreUpTo is the highest score of a read up to t.
func scoreUpTo(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// removeFromShards takes ids out of the sorted sets key builds for their
// shards, in one pipeline.
func (s *Store) removeFromShards(ctx context.Context, key func(shard string) string, ids []string) error {
	byShard := map[string][]any{}
	for _, id := range ids {
		sh := s.shardOf(id)
		byShard[sh] = append(byShard[sh], id)
	}
	if len(byShard) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh, members := range byShard {
			p.ZRem(ctx, key(sh), members...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove from shards: %w", err)
	}
	return nil
}

// everyKey is the SCAN pattern of every key of kind ("msg:", "appt:"…)
// in every shard.
func (s *Store) everyKey(kind string) string { return s.prefix + kind + "{c*}:*" }

// idInKey is the id at the end of a key built by inShard.
func idInKey(key string) string {
	if i := strings.LastIndex(key, "}:"); i >= 0 {
		return key[i+2:]
	}
	return key
}

// scanKeys walks the keys matching pattern (and of type typ, unless ""),
// handing each batch to each; on a cluster it walks every master, one
// batch at a time across them.
func (s *Store) scanKeys(ctx context.Context, pattern, typ string, each func(keys []string) error) error {
	return scanOn(ctx, s.rdb, pattern, typ, secretScanBatch, each)
}

// scanOn is scanKeys on rdb, count keys a step.
func scanOn(ctx context.Context, rdb redis.UniversalClient, pattern, typ string, count int64, each func(keys []string) error) error {
	walk := func(ctx context.Context, c redis.Cmdable, each func(keys []string) error) error {
		var cursor uint64
		for {
			var keys []string
			var next uint64
			var err error
			if typ == "" {
				keys, next, err = c.Scan(ctx, cursor, pattern, count).Result()
			} else {
				keys, next, err = c.ScanType(ctx, cursor, pattern, count, typ).Result()
			}
			if err != nil {
				return fmt.Errorf("scan %s: %w", pattern, err)
			}
			if err := each(keys); err != nil {
				return err
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return walk(ctx, rdb, each)
	}
	var mu sync.Mutex // ForEachMaster walks the masters at once
	return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return walk(ctx, c, func(keys []string) error {
			mu.Lock()
			defer mu.Unlock()
			return each(keys)
		})
	})
}

// notificationShard is the shard of the citizen a debt is owed to: that of
// the first id it names.
func (s *Store) notificationShard(ctx context.Context, n string) (string, error) {
	_, ids := ParseNotification(n)
	if len(ids) == 0 {
		return shardOfID(""), nil
	}
	s, err := s.locate(ctx, ids[0])
	if err != nil {
		return "", err
	}
	return s.shardOf(ids[0]), nil
}
