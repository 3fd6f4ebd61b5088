package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
	// EndedWith, when set, says whether the answer closes the session by
	// how many beneficiaries the mobile has, for a step that reads them
	// (StepUSSD) before the answer is known: EndedWith[n] with n of them,
	// the last entry for more. It overrides Ended.
	EndedWith []bool
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

// USSDView is what answering a USSD request needs of the calling mobile,
// read in the step that records the request.
type USSDView struct {
	Prefs  MobilePrefs
	People []PersonView // registered on the mobile, oldest first
}

// ussdStepScript is a USSD request in one step: the newest state of its
// session, a new session listed at the head of its mobile's USSD history,
// and — with read '1' — what the menu needs read back: the mobile's
// choices and each beneficiary on it (doses as one JSON array, booking,
// centre). Whether the answer ends the session depends on how many
// beneficiaries there are, so it is given for each count.
//
// The beneficiaries', appointments' and centres' keys are named from ids
// read in this step, so they cannot be listed in KEYS: the script is
// given what stands before and after an id in each (keyParts) instead of
// a second round trip to learn them. Like the session load, it needs the
// keys on one node.
//
// KEYS: session, mobile's USSD list, mobile's choices, mobile's
// beneficiaries. ARGV: 1 id, 2 now ms, 3 retention ms, 4 history limit,
// 5 service code, 6 text, 7 steps, 8 ended by count ('1' or '0' each),
// 9 read, 10-13 before and after the id in the keys of a beneficiary and
// an appointment.
// Answer: {lang, opted_out, {{beneficiary pairs, appointment pairs}, ...}}.
var ussdStepScript = redis.NewScript(readPeopleLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'started_at', ARGV[2])
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
end
local people = {}
if ARGV[9] == '1' then people = read_people(KEYS[4], 10) end
local ends = ARGV[8]
local at = math.min(#people, #ends - 1) + 1
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2], 'service', ARGV[5], 'text', ARGV[6], 'steps', ARGV[7])
if string.sub(ends, at, at) == '1' then redis.call('HSET', KEYS[1], 'ended', '1') end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[9] ~= '1' then return {} end
local prefs = redis.call('HMGET', KEYS[3], 'lang', 'opted_out')
return {prefs[1] or '', prefs[2] or '', people}
`)

// StepUSSD is a USSD request in one step: it notes st in the mobile's
// history and reads what answering it needs.
func (s *Store) StepUSSD(ctx context.Context, st USSDStep) (USSDView, error) {
	v, err := s.ussdStep(ctx, st, true)
	if err != nil {
		return USSDView{}, fmt.Errorf("ussd step: %w", err)
	}
	return v, nil
}

func (s *Store) ussdStep(ctx context.Context, st USSDStep, read bool) (USSDView, error) {
	if st.SessionID == "" || st.Mobile == "" {
		return USSDView{}, fmt.Errorf("session id and mobile are required")
	}
	// Provider session ids are arbitrary text; the hash makes a safe key
	// and ties the session to its mobile, so one mobile cannot write into
	// another's history by reusing a session id.
	id := s.apiKeyHash.sum("ussd", st.Mobile, st.SessionID)[:32]
	ends := flag(st.Ended)
	if len(st.EndedWith) > 0 {
		var b strings.Builder
		for _, e := range st.EndedWith {
			b.WriteString(flag(e))
		}
		ends = b.String()
	}
	args := []any{id, s.now().UnixMilli(), s.retention.Milliseconds(), ussdHistoryLimit,
		st.ServiceCode, st.Text, st.Steps, ends, flag(read)}
	args = append(args, s.peopleKeyParts(shardOfMobile(st.Mobile))...)
	res, err := s.ackedPath(ctx, ussdStepScript, []string{s.ussdKey(st.Mobile, id), s.ussdHistoryKey(st.Mobile),
		s.mobileKey(st.Mobile), s.mobileBeneficiariesKey(st.Mobile)}, args...).Slice()
	if err != nil || !read {
		return USSDView{}, err
	}
	if len(res) != 3 {
		return USSDView{}, fmt.Errorf("unexpected answer of %d values", len(res))
	}
	var v USSDView
	v.Prefs.Language, _ = res[0].(string)
	out, _ := res[1].(string)
	v.Prefs.OptedOut = out != "" && out != "0"
	if v.People, err = s.peopleViews(ctx, res[2]); err != nil {
		return USSDView{}, err
	}
	return v, nil
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
			cmds[i] = p.HGetAll(ctx, s.ussdKey(mobile, id))
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
