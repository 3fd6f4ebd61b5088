// Package redisdump loads keys dumped as JSON — each {"key", "type",
// "ttl_ms", "value"} — into a Redis, for tests that start from what an
// earlier release wrote (store/testdata/layout1).
package redisdump

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key is one dumped key. Value is, by type: a string (or {"base64": …}
// for bytes that are not UTF-8), an object of fields, an array of
// members, or for a sorted set an array of {"member", "score"}.
type Key struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	TTL   int64           `json:"ttl_ms"` // -1: none
	Value json.RawMessage `json:"value"`
}

// Read parses the dump at path.
func Read(path string) ([]Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dump: %w", err)
	}
	var keys []Key
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, fmt.Errorf("read dump %s: %w", path, err)
	}
	return keys, nil
}

// Load writes keys into rdb with their TTLs, in one pipeline. A key whose
// TTL was under a second when dumped is left out: it would have expired.
func Load(ctx context.Context, rdb redis.UniversalClient, keys []Key) error {
	var bad error
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			if k.TTL >= 0 && k.TTL < 1000 {
				continue
			}
			if err := write(ctx, p, k); err != nil {
				bad = fmt.Errorf("load %s: %w", k.Key, err)
				return bad
			}
			if k.TTL > 0 {
				p.PExpire(ctx, k.Key, time.Duration(k.TTL)*time.Millisecond)
			}
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return fmt.Errorf("load dump: %w", err)
	}
	return nil
}

func write(ctx context.Context, p redis.Pipeliner, k Key) error {
	switch k.Type {
	case "string":
		s, err := text(k.Value)
		if err != nil {
			return err
		}
		p.Set(ctx, k.Key, s, 0)
	case "hash":
		var h map[string]json.RawMessage
		if err := json.Unmarshal(k.Value, &h); err != nil {
			return err
		}
		for field, raw := range h {
			v, err := text(raw)
			if err != nil {
				return err
			}
			p.HSet(ctx, k.Key, field, v)
		}
	case "list", "set":
		var items []json.RawMessage
		if err := json.Unmarshal(k.Value, &items); err != nil {
			return err
		}
		for _, raw := range items {
			v, err := text(raw)
			if err != nil {
				return err
			}
			if k.Type == "list" {
				p.RPush(ctx, k.Key, v)
			} else {
				p.SAdd(ctx, k.Key, v)
			}
		}
	case "zset":
		var zs []struct {
			Member json.RawMessage
			Score  float64
		}
		if err := json.Unmarshal(k.Value, &zs); err != nil {
			return err
		}
		for _, z := range zs {
			m, err := text(z.Member)
			if err != nil {
				return err
			}
			p.ZAdd(ctx, k.Key, redis.Z{Score: z.Score, Member: m})
		}
	default:
		return fmt.Errorf("type %q", k.Type)
	}
	return nil
}

func text(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var b struct{ Base64 string }
	if err := json.Unmarshal(raw, &b); err != nil {
		return "", fmt.Errorf("value %.40s: %w", raw, err)
	}
	out, err := base64.StdEncoding.DecodeString(b.Base64)
	return string(out), err
}
