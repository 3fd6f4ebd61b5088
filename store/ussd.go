package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ussdHistoryLimit bounds the USSD sessions kept per mobile.
const ussdHistoryLimit = 50

// USSDStep is one request of a USSD session and how it was answered.
type USSDStep struct {
	SessionID   string // the provider's
	Mobile      string // E.164
	ServiceCode string
	Text        string // the answers so far, "1*2"
	Steps       int    // how many answers Text holds
	Ended       bool   // the answer closed the session (END)
}

// USSDSession is a USSD session as support sees it.
type USSDSession struct {
	ID          string // keyed hash of the provider's session id
	Mobile      string
	ServiceCode string
	Text        string
	Steps       int
	Ended       bool
	StartedAt   time.Time
	UpdatedAt   time.Time
}

// recordUSSDScript keeps the newest state of a session and lists a new
// session at the head of its mobile's USSD history.
// KEYS: session, mobile's list. ARGV: id, now ms, retention ms, history
// limit, service code, text, steps, ended ("1" or "").
var recordUSSDScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'started_at', ARGV[2])
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2], 'service', ARGV[5], 'text', ARGV[6], 'steps', ARGV[7])
if ARGV[8] == '1' then redis.call('HSET', KEYS[1], 'ended', '1') end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`)

// RecordUSSD notes a step of a USSD session in the mobile's history.
func (s *Store) RecordUSSD(ctx context.Context, st USSDStep) error {
	if st.SessionID == "" || st.Mobile == "" {
		return fmt.Errorf("record ussd: session id and mobile are required")
	}
	// Provider session ids are arbitrary text; the hash makes a safe key
	// and ties the session to its mobile, so one mobile cannot write into
	// another's history by reusing a session id.
	id := s.apiKeyHash.sum("ussd", st.Mobile, st.SessionID)[:32]
	ended := ""
	if st.Ended {
		ended = "1"
	}
	err := recordUSSDScript.Run(ctx, s.rdb, []string{s.ussdKey(id), s.ussdHistoryKey(st.Mobile)},
		id, s.now().UnixMilli(), s.retention.Milliseconds(), ussdHistoryLimit,
		st.ServiceCode, st.Text, st.Steps, ended).Err()
	if err != nil {
		return fmt.Errorf("record ussd: %w", err)
	}
	return nil
}

// USSDSessions returns up to limit USSD sessions of mobile, newest first.
func (s *Store) USSDSessions(ctx context.Context, mobile string, limit int) ([]USSDSession, error) {
	if limit <= 0 || limit > ussdHistoryLimit {
		limit = ussdHistoryLimit
	}
	ids, err := s.rdb.LRange(ctx, s.ussdHistoryKey(mobile), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("ussd history: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.ussdKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ussd history: %w", err)
	}
	out := make([]USSDSession, 0, len(ids))
	for i, c := range cmds {
		h := c.Val()
		if len(h) == 0 {
			continue
		}
		steps, _ := strconv.Atoi(h["steps"])
		out = append(out, USSDSession{
			ID: ids[i], Mobile: mobile, ServiceCode: h["service"], Text: h["text"], Steps: steps,
			Ended: h["ended"] == "1", StartedAt: msTime(h["started_at"]), UpdatedAt: msTime(h["updated_at"]),
		})
	}
	return out, nil
}
