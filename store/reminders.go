package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outcomes of one beneficiary in a reminder run (Remind).
const (
	RemindQueued      = "queued"       // the reminder is recorded and pending
	RemindOptedOut    = "opted_out"    // the mobile sent STOP: nothing sent, counted
	RemindAlreadySent = "already_sent" // a reminder for this dose went before
	RemindBooked      = "booked"       // an active appointment: no reminder needed
	// Not counted: the beneficiary is no longer due that day (a dose since,
	// or gone), or the run already counted them (its own step replayed).
	RemindNotDue = "not_due"
	RemindRepeat = "repeat"
	// RemindFenced: another process took the run over; this one stops.
	RemindFenced = "fenced"
)

// ReminderRun is one date's reminder run: its counts and where it stands.
type ReminderRun struct {
	Date        string
	State       string // "running" or "done"
	Runner      string // the process holding it, while running
	LeaseUntil  time.Time
	Cursor      int64 // how many entries of the day's due list the run passed
	Due         int   // queued + opted out + already sent + booked
	Queued      int
	OptedOut    int
	AlreadySent int
	Booked      int
	StartedAt   time.Time
	FinishedAt  time.Time
}

// ErrRunBusy: another live process holds the date's reminder run.
var ErrRunBusy = errors.New("the reminder run is held by another process")

// ErrRunLost: the run was taken over (this process's lease lapsed).
var ErrRunLost = errors.New("the reminder run was taken over by another process")

func reminderRunFrom(date string, h map[string]string) ReminderRun {
	n := func(k string) int { v, _ := strconv.Atoi(h[k]); return v }
	// A run of the sorted-set index kept the last id passed: read as 0,
	// it walks the list from the start, and the steps it took before
	// answer 'repeat' (remindScript).
	cursor, _ := strconv.ParseInt(h["cursor"], 10, 64)
	return ReminderRun{
		Date: date, State: h["state"], Runner: h["runner"], LeaseUntil: msTime(h["lease_until"]), Cursor: cursor,
		Due: n("due"), Queued: n(RemindQueued), OptedOut: n(RemindOptedOut), AlreadySent: n(RemindAlreadySent), Booked: n(RemindBooked),
		StartedAt: msTime(h["started_at"]), FinishedAt: msTime(h["finished_at"]),
	}
}

// takeRunScript takes the date's run for runner: a run held by another
// live process is refused ('busy'); a running one whose holder's lease
// lapsed is resumed from its cursor with its counts; a finished one (or
// none) starts afresh. KEYS: run. ARGV: runner, now ms, lease ms,
// retention ms. Answer: {'busy'|'resumed'|'started', HGETALL}.
var takeRunScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'state', 'runner', 'lease_until')
local how = 'started'
if h[1] == 'running' then
  if h[2] ~= ARGV[1] and tonumber(h[3] or '0') > tonumber(ARGV[2]) then
    return {'busy', redis.call('HGETALL', KEYS[1])}
  end
  how = 'resumed'
else
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'running', 'cursor', 0, 'started_at', ARGV[2],
    'due', 0, 'queued', 0, 'opted_out', 0, 'already_sent', 0, 'booked', 0)
end
redis.call('HSET', KEYS[1], 'runner', ARGV[1], 'lease_until', ARGV[2] + ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {how, redis.call('HGETALL', KEYS[1])}
`)

// TakeReminderRun takes the run for date for runner, holding it for lease
// (renewed by each Remind); resumed reports a run picked up from a process
// that died in it. ErrRunBusy while another live process holds it.
func (s *Store) TakeReminderRun(ctx context.Context, date, runner string, lease time.Duration) (run ReminderRun, resumed bool, err error) {
	res, err := s.sendPath(ctx, takeRunScript, []string{s.reminderRunKey(date)},
		runner, s.now().UnixMilli(), lease.Milliseconds(), s.retention.Milliseconds()).Slice()
	if err != nil {
		return ReminderRun{}, false, fmt.Errorf("take reminder run: %w", err)
	}
	run = reminderRunFrom(date, pairs(res[1]))
	switch res[0] {
	case "busy":
		return run, false, ErrRunBusy
	case "resumed":
		return run, true, nil
	}
	return run, false, nil
}

// finishRunScript ends runner's run. KEYS: run. ARGV: runner, now ms.
var finishRunScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'runner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'runner', 'lease_until')
return 1
`)

// FinishReminderRun marks runner's run for date done; ErrRunLost if
// another process took it over.
func (s *Store) FinishReminderRun(ctx context.Context, date, runner string) error {
	ok, err := s.sendPath(ctx, finishRunScript, []string{s.reminderRunKey(date)}, runner, s.now().UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("finish reminder run: %w", err)
	}
	if ok != 1 {
		return ErrRunLost
	}
	return nil
}

// ReminderRun reads the run for date; ErrNotFound when there was none (or
// it is older than the retention).
func (s *Store) ReminderRun(ctx context.Context, date string) (ReminderRun, error) {
	h, err := s.rdb.HGetAll(ctx, s.reminderRunKey(date)).Result()
	if err != nil {
		return ReminderRun{}, fmt.Errorf("reminder run: %w", err)
	}
	if len(h) == 0 {
		return ReminderRun{}, ErrNotFound
	}
	return reminderRunFrom(date, h), nil
}

// DueOn lists up to n entries of the due list of date from position from
// (0 for the first): a run's batch. An entry may name a beneficiary who
// is no longer due that day (see dueKey); the step tells.
func (s *Store) DueOn(ctx context.Context, date string, from int64, n int) ([]string, error) {
	ids, err := s.rdb.LRange(ctx, s.dueKey(date), from, from+int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("due on %s: %w", date, err)
	}
	return ids, nil
}

// DueCandidate is what a reminder run reads of a due beneficiary before
// its step, to word the reminder: the step checks again what counts.
type DueCandidate struct {
	Beneficiary         // with their doses
	FirstVaccine string // the vaccine the course started with
	Given        int    // doses given
	MobileLang   string // the language the mobile chose (LANG, USSD), "" for none
}

// DueCandidates reads the beneficiaries ids in two round trips; one gone
// comes back with an empty ID.
func (s *Store) DueCandidates(ctx context.Context, ids []string) ([]DueCandidate, error) {
	bens, err := s.beneficiariesAt(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("due candidates: %w", err)
	}
	out := make([]DueCandidate, len(ids))
	langs := s.rdb.Pipeline()
	prefs := make([]*redis.StringCmd, len(ids))
	for i, b := range bens {
		if b.ID == "" {
			continue
		}
		c := DueCandidate{Beneficiary: b, Given: len(b.Doses)}
		if len(b.Doses) > 0 {
			c.FirstVaccine = b.Doses[0].Vaccine
		}
		out[i] = c
		prefs[i] = langs.HGet(ctx, s.mobileKey(c.Mobile), "lang")
	}
	if _, err := langs.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("due candidates: languages: %w", err)
	}
	for i := range out {
		if prefs[i] != nil {
			out[i].MobileLang = prefs[i].Val()
		}
	}
	return out, nil
}

// Reminder is one due beneficiary's step in a run: the reminder for dose
// Dose, rendered; or, with Message nil, only the cursor moved past them
// (one the run does not remind, like a precaution dose with those
// reminders off).
type Reminder struct {
	BeneficiaryID string
	Dose          int
	Message       *NewMessage
}

// remindScript is one beneficiary of a reminder run in one step: still
// due that day with the dose the reminder names (else not counted), not
// already counted by this run, then already sent, booked, opted out or
// the reminder recorded and pending with its marker — each counted and
// the run's cursor moved, so a run resumed after a crash counts nobody
// twice. Fenced: the run is another process's now.
// KEYS: 1 beneficiary, 2 doses (dosesLua), 3 mobile choices, 4 message, 5 history,
// 6 pending, 7 run. ARGV: 1 beneficiary id, 2 run date, 3 today, 4 dose,
// 5 runner, 6 message id, 7 retention ms, 8 history limit, 9 now ms,
// 10 lease until ms, 11 the entry's position in the due list + 1, 12.. the
// message's field pairs (none: the cursor only).
var remindScript = redis.NewScript(recordMessageLua + createMessageLua + dosesLua + `
if redis.call('HGET', KEYS[7], 'runner') ~= ARGV[5] then return 'fenced' end
redis.call('HSET', KEYS[7], 'cursor', ARGV[11], 'lease_until', ARGV[10])
if #ARGV < 12 then return 'not_due' end
local b = redis.call('HMGET', KEYS[1], 'due', 'reminded', 'reminded_on', 'active_appt', 'active_date', 'mobile')
if not b[1] or b[1] ~= ARGV[2] then return 'not_due' end
if doses_count(KEYS[1], KEYS[2]) + 1 ~= tonumber(ARGV[4]) then return 'not_due' end
local outcome
if b[2] == ARGV[4] then
  local started = tonumber(redis.call('HGET', KEYS[7], 'started_at') or '0')
  if b[3] == ARGV[2] and started <= tonumber(redis.call('HGET', KEYS[1], 'reminded_at') or '0') then
    return 'repeat'
  end
  outcome = 'already_sent'
elseif b[4] and b[4] ~= '' and b[5] and b[5] >= ARGV[3] then
  outcome = 'booked'
else
  local out = redis.call('HGET', KEYS[3], 'opted_out')
  if out and out ~= '' and out ~= '0' then
    outcome = 'opted_out'
  else
    create_message(KEYS[4], KEYS[5], KEYS[6], ARGV[6], ARGV[7], ARGV[8], ARGV[9], {unpack(ARGV, 12)})
    redis.call('HSET', KEYS[1], 'reminded', ARGV[4], 'reminded_on', ARGV[2], 'reminded_at', ARGV[9])
    outcome = 'queued'
  end
end
redis.call('HINCRBY', KEYS[7], 'due', 1)
redis.call('HINCRBY', KEYS[7], outcome, 1)
return outcome
`)

// RemindResult is one Reminder's outcome; MessageID is set when queued.
type RemindResult struct {
	Outcome   string
	MessageID string
}

// Remind runs the steps of a batch of reminders of runner's run for date
// (remindScript), pipelined, in order, renewing its lease to leaseUntil;
// batch holds the entries of the due list from position from. today is
// the programme's date, against which an appointment is active.
// ErrRunLost as soon as one step finds the run taken over.
func (s *Store) Remind(ctx context.Context, date, today, runner string, leaseUntil time.Time, from int64, batch []Reminder) ([]RemindResult, error) {
	now := s.now()
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	ids := make([]string, len(batch))
	keysOf, argsOf := make([][]string, len(batch)), make([][]any, len(batch))
	for i, r := range batch {
		args := []any{r.BeneficiaryID, date, today, r.Dose, runner, "", s.retention.Milliseconds(), s.historyLimit,
			now.UnixMilli(), leaseUntil.UnixMilli(), from + int64(i) + 1}
		keys := []string{s.beneficiaryKey(r.BeneficiaryID), s.dosesKey(r.BeneficiaryID), "", "", "", s.pendingKey(),
			s.reminderRunKey(date)}
		if nm := r.Message; nm != nil {
			ids[i] = newMessageID(now)
			_, fields, err := s.messageRecord(*nm, ids[i], now)
			if err != nil {
				return nil, fmt.Errorf("remind %s: %w", r.BeneficiaryID, err)
			}
			args[5] = ids[i]
			args = append(args, fields...)
			keys[2], keys[3], keys[4] = s.mobileKey(nm.To), s.messageKey(ids[i]), s.historyKey(nm.To)
		}
		keysOf[i], argsOf[i] = keys, args
		cmds[i] = remindScript.EvalSha(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	out := make([]RemindResult, len(batch))
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			// A restarted Redis has forgotten the script: Run loads it again.
			c = remindScript.Run(ctx, s.rdb, keysOf[i], argsOf[i]...)
		}
		o, err := c.Text()
		if err != nil {
			return out[:i], fmt.Errorf("remind %s: %w", batch[i].BeneficiaryID, err)
		}
		if o == RemindFenced {
			return out[:i], ErrRunLost
		}
		out[i].Outcome = o
		if o == RemindQueued {
			out[i].MessageID = ids[i]
		}
	}
	return out, nil
}

// reindexScript puts one beneficiary in the due index from their doses
// (indexDueLua), as their last dose would have. KEYS: beneficiary, doses.
// ARGV: the index's key prefix, the beneficiary id, the last dose date's
// scheduleTable.
var reindexScript = redis.NewScript(dosesLua + indexDueLua + `
if redis.call('EXISTS', KEYS[1]) == 0 or doses_count(KEYS[1], KEYS[2]) == 0 then return 0 end
index_due(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return 1
`)

// moveLegacyDueScript moves up to ARGV[1] ids from a day's sorted-set
// index to the front of what is left into its list, in one step, so that
// a move cut short is taken up where it stopped. KEYS: sorted set, list.
var moveLegacyDueScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return 0 end
redis.call('RPUSH', KEYS[2], unpack(ids))
redis.call('ZREM', KEYS[1], unpack(ids))
return #ids
`)

// moveLegacyDue moves every day's sorted-set index (legacyDueKey) into
// that day's list; it reports how many entries it moved.
func (s *Store) moveLegacyDue(ctx context.Context) (int, error) {
	prefix := s.legacyDueKey("")
	var cursor uint64
	moved := 0
	for {
		keys, next, err := s.rdb.ScanType(ctx, cursor, prefix+"*", secretScanBatch, "zset").Result()
		if err != nil {
			return moved, fmt.Errorf("move due index: %w", err)
		}
		for _, k := range keys {
			date := strings.TrimPrefix(k, prefix)
			for {
				n, err := moveLegacyDueScript.Run(ctx, s.rdb, []string{k, s.dueKey(date)}, 500).Int()
				if err != nil {
					return moved, fmt.Errorf("move due index of %s: %w", date, err)
				}
				if moved += n; n == 0 {
					break
				}
			}
		}
		if cursor = next; cursor == 0 {
			return moved, nil
		}
	}
}

// ReindexDue puts every beneficiary with a dose in the due index as their
// last dose step would have: for data recorded before the index existed,
// or after precaution reminders are turned on. The sorted sets an earlier
// version kept are moved into the lists first. It walks every
// beneficiary (SCAN, a batch at a time) once; run it once, not daily.
// It reports how many it indexed.
func (s *Store) ReindexDue(ctx context.Context) (int, error) {
	if _, err := s.moveLegacyDue(ctx); err != nil {
		return 0, fmt.Errorf("reindex due: %w", err)
	}
	// Loaded once: a Redis that restarts meanwhile fails the walk, which
	// is run again (indexing twice changes nothing: index_due).
	if err := reindexScript.Load(ctx, s.rdb).Err(); err != nil {
		return 0, fmt.Errorf("reindex due: %w", err)
	}
	// Every beneficiary is a hash under ben:; their lists of an earlier
	// version are lists there, passed over by type.
	pattern := s.beneficiaryKey("*")
	tables := map[string]string{} // by last dose date
	var cursor uint64
	n := 0
	for {
		keys, next, err := s.rdb.ScanType(ctx, cursor, pattern, secretScanBatch, "hash").Result()
		if err != nil {
			return n, fmt.Errorf("reindex due: %w", err)
		}
		ids := make([]string, len(keys))
		for i, k := range keys {
			ids[i] = strings.TrimPrefix(k, s.beneficiaryKey(""))
		}
		bens, err := s.beneficiariesAt(ctx, ids)
		if err != nil {
			return n, fmt.Errorf("reindex due: %w", err)
		}
		write := s.rdb.Pipeline()
		var cmds []*redis.Cmd
		for _, b := range bens {
			if len(b.Doses) == 0 {
				continue // gone meanwhile, or not dosed
			}
			last := b.Doses[len(b.Doses)-1].Date
			tbl, ok := tables[last]
			if !ok {
				if tbl, err = scheduleTable(last, s.precaution); err != nil {
					return n, fmt.Errorf("reindex due: %w", err)
				}
				tables[last] = tbl
			}
			cmds = append(cmds, reindexScript.EvalSha(ctx, write, []string{s.beneficiaryKey(b.ID), s.dosesKey(b.ID)}, s.dueKey(""), b.ID, tbl))
		}
		_, _ = write.Exec(ctx) // each command carries its own error
		for _, c := range cmds {
			if ok, err := c.Int(); err != nil {
				return n, fmt.Errorf("reindex due: %w", err)
			} else if ok == 1 {
				n++
			}
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}
