package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Heartbeat marks a worker process alive for ttl. Each worker beats well
// within its ttl; when it dies its key expires, its last beat stays in the
// registry of workers, and its claims become orphans.
func (s *Store) Heartbeat(ctx context.Context, worker string, ttl time.Duration) error {
	now := s.now().UnixMilli()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.workerKey(worker), now, ttl)
		p.ZAdd(ctx, s.workersKey(), redis.Z{Score: float64(now), Member: worker})
		return nil
	})
	if err != nil {
		return fmt.Errorf("worker heartbeat: %w", err)
	}
	return nil
}

// Retire ends a worker's heartbeat when it stops cleanly.
func (s *Store) Retire(ctx context.Context, worker string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.workerKey(worker))
		p.ZRem(ctx, s.workersKey(), worker)
		return nil
	})
	if err != nil {
		return fmt.Errorf("retire worker: %w", err)
	}
	return nil
}

// DeadWorkers lists workers whose last beat is older than before and whose
// heartbeat key has expired: both must agree, so neither a skewed clock
// nor a lost key alone declares a live worker dead.
func (s *Store) DeadWorkers(ctx context.Context, before time.Time) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.workersKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(before.UnixMilli(), 10), Count: 100,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("dead workers: %w", err)
	}
	alive := make([]*redis.IntCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			alive[i] = p.Exists(ctx, s.workerKey(id))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("dead workers: %w", err)
	}
	var dead []string
	for i, id := range ids {
		if alive[i].Val() == 0 {
			dead = append(dead, id)
		}
	}
	return dead, nil
}

// ForgetWorker drops a dead worker from the registry once its messages
// were rescued.
func (s *Store) ForgetWorker(ctx context.Context, worker string) error {
	if err := s.rdb.ZRem(ctx, s.workersKey(), worker).Err(); err != nil {
		return fmt.Errorf("forget worker: %w", err)
	}
	return nil
}

// Orphan is a message claimed by a worker whose heartbeat has stopped: the
// worker died between claim and outcome, and asynq would wait out its own
// 30 s lease plus up to a minute before it ran the task again.
type Orphan struct {
	ID       string
	Worker   string
	Priority Priority
	Attempts int

	lease string // lock_until as read: RescueOwn only drops this lease
}

// Orphans lists up to limit claimed messages whose worker is dead, oldest
// claim first. Entries left behind by messages that moved on are dropped
// on the way.
func (s *Store) Orphans(ctx context.Context, limit int64) ([]Orphan, error) {
	ids, err := s.oldestInShards(ctx, s.inflightKey, "+inf", limit)
	if err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	s, err = s.locate(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	fields := make([]*redis.SliceCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			fields[i] = p.HMGet(ctx, s.messageKey(id), "status", "worker", "priority", "attempts")
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	var claims []Orphan
	var stale []string
	workers := map[string]*redis.IntCmd{}
	for i, c := range fields {
		v := c.Val()
		status, worker := str(v[0]), str(v[1])
		if Status(status) != StatusSending {
			stale = append(stale, ids[i])
			continue
		}
		if worker == "" {
			continue // claimed before claims named their worker: asynq recovers it
		}
		attempts, _ := strconv.Atoi(str(v[3]))
		claims = append(claims, Orphan{ID: ids[i], Worker: worker, Priority: Priority(str(v[2])), Attempts: attempts})
		workers[worker] = nil
	}
	if err := s.removeFromShards(ctx, s.inflightKey, stale); err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for w := range workers {
			workers[w] = p.Exists(ctx, s.workerKey(w))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	out := claims[:0]
	for _, c := range claims {
		if workers[c.Worker].Val() == 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// rescueScript drops a dead worker's lease on a message that is still
// sending under its claim, so that a new task can claim it at once.
var rescueScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'sending' or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'lock_until', 0, 'worker', '')
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`)

// Rescue takes a claim back from a dead worker. It reports false when the
// claim moved on meanwhile (another rescuer was first, the message ended,
// or the worker's heartbeat is back). The heartbeat is read again just
// before the step, not in it: it lives on another slot. A worker that
// comes back in between may send the message while a rescued task sends
// it too — the duplicate a rescue may always cause, one per claim.
func (s *Store) Rescue(ctx context.Context, o Orphan) (bool, error) {
	s, err := s.locate(ctx, o.ID)
	if err != nil {
		return false, fmt.Errorf("rescue message %s: %w", o.ID, err)
	}
	alive, err := s.rdb.Exists(ctx, s.workerKey(o.Worker)).Result()
	if err != nil {
		return false, fmt.Errorf("rescue message %s: %w", o.ID, err)
	}
	if alive == 1 {
		return false, nil
	}
	n, err := rescueScript.Run(ctx, s.rdb, []string{s.messageKey(o.ID), s.inflightKey(s.shardOf(o.ID))}, o.Worker, o.ID).Int()
	if err != nil {
		return false, fmt.Errorf("rescue message %s: %w", o.ID, err)
	}
	return n == 1, nil
}

// StaleOwnClaims lists up to limit messages worker claimed before before
// that are still sending under its claim, oldest first. The caller (the
// worker) filters out those its tasks are handling: the rest are claims
// whose answer was lost, and no task will finish them.
func (s *Store) StaleOwnClaims(ctx context.Context, worker string, before time.Time, limit int64) ([]Orphan, error) {
	ids, err := s.oldestInShards(ctx, s.inflightKey, scoreUpTo(before), limit)
	if err != nil {
		return nil, fmt.Errorf("own claims: %w", err)
	}
	s, err = s.locate(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("own claims: %w", err)
	}
	fields := make([]*redis.SliceCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			fields[i] = p.HMGet(ctx, s.messageKey(id), "status", "worker", "priority", "attempts", "lock_until")
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("own claims: %w", err)
	}
	var out []Orphan
	for i, c := range fields {
		v := c.Val()
		if Status(str(v[0])) != StatusSending || str(v[1]) != worker {
			continue
		}
		attempts, _ := strconv.Atoi(str(v[3]))
		out = append(out, Orphan{ID: ids[i], Worker: worker, Priority: Priority(str(v[2])), Attempts: attempts, lease: str(v[4])})
	}
	return out, nil
}

// rescueOwnScript drops a worker's own stale lease, unless a new claim
// replaced it meanwhile (the lease differs).
var rescueOwnScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'status', 'worker', 'lock_until')
if v[1] ~= 'sending' or v[2] ~= ARGV[1] or v[3] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'lock_until', 0, 'worker', '')
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`)

// RescueOwn drops a claim of the caller's own that StaleOwnClaims found,
// so that a new task can claim the message at once. It reports false when
// the claim moved on meanwhile.
func (s *Store) RescueOwn(ctx context.Context, o Orphan) (bool, error) {
	s, err := s.locate(ctx, o.ID)
	if err != nil {
		return false, fmt.Errorf("rescue own claim %s: %w", o.ID, err)
	}
	n, err := rescueOwnScript.Run(ctx, s.rdb, []string{s.messageKey(o.ID), s.inflightKey(s.shardOf(o.ID))}, o.Worker, o.ID, o.lease).Int()
	if err != nil {
		return false, fmt.Errorf("rescue own claim %s: %w", o.ID, err)
	}
	return n == 1, nil
}
