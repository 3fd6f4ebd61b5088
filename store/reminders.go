package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
// The run walks the due lists of the shards in order (DueShards of them);
// its state, holder and shard are one record, and each shard's position
// and counts another, beside the beneficiaries whose steps write them.
type ReminderRun struct {
	Date       string
	State      string // "running" or "done"
	Runner     string // the process holding it, while running
	LeaseUntil time.Time
	// Epoch counts the takes of the run: a step carrying an older one than
	// a shard has seen is fenced (another process took the run over).
	Epoch       int64
	Shard       int   // the shard the run is at, 0 to DueShards
	Cursor      int64 // how many entries of that shard's due list the run passed
	Due         int   // queued + opted out + already sent + booked
	Queued      int
	OptedOut    int
	AlreadySent int
	Booked      int
	StartedAt   time.Time
	FinishedAt  time.Time
}

// DueShards is how many due lists a day has: one a shard.
const DueShards = shardCount

// ErrRunBusy: another live process holds the date's reminder run.
var ErrRunBusy = errors.New("the reminder run is held by another process")

// ErrRunLost: the run was taken over (this process's lease lapsed).
var ErrRunLost = errors.New("the reminder run was taken over by another process")

func reminderRunFrom(date string, h map[string]string) ReminderRun {
	epoch, _ := strconv.ParseInt(h["epoch"], 10, 64)
	shard, _ := strconv.Atoi(h["shard"])
	return ReminderRun{
		Date: date, State: h["state"], Runner: h["runner"], LeaseUntil: msTime(h["lease_until"]), Epoch: epoch, Shard: shard,
		StartedAt: msTime(h["started_at"]), FinishedAt: msTime(h["finished_at"]),
	}
}

// takeRunScript takes the date's run for runner: a run held by another
// live process is refused ('busy'); a running one whose holder's lease
// lapsed is resumed from its shard; a finished one (or none) starts afresh
// at the first shard. Every take raises the epoch. KEYS: run. ARGV:
// runner, now ms, lease ms, retention ms.
// Answer: {'busy'|'resumed'|'started', HGETALL}.
var takeRunScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'state', 'runner', 'lease_until')
local how = 'started'
if h[1] == 'running' then
  if h[2] ~= ARGV[1] and tonumber(h[3] or '0') > tonumber(ARGV[2]) then
    return {'busy', redis.call('HGETALL', KEYS[1])}
  end
  how = 'resumed'
else
  local epoch = redis.call('HGET', KEYS[1], 'epoch') or '0'
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'running', 'shard', 0, 'started_at', ARGV[2], 'epoch', epoch)
end
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'runner', ARGV[1], 'lease_until', ARGV[2] + ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {how, redis.call('HGETALL', KEYS[1])}
`)

// TakeReminderRun takes the run for date for runner, holding it for lease
// (renewed by each Remind); resumed reports a run picked up from a process
// that died in it, with its shard, position and counts. ErrRunBusy while
// another live process holds it.
func (s *Store) TakeReminderRun(ctx context.Context, date, runner string, lease time.Duration) (run ReminderRun, resumed bool, err error) {
	res, err := s.sendPath(ctx, takeRunScript, []string{s.reminderRunKey(date)},
		runner, s.now().UnixMilli(), lease.Milliseconds(), s.retention.Milliseconds()).Slice()
	if err != nil {
		return ReminderRun{}, false, fmt.Errorf("take reminder run: %w", err)
	}
	run = reminderRunFrom(date, pairs(res[1]))
	if err := s.countRun(ctx, &run); err != nil {
		return ReminderRun{}, false, fmt.Errorf("take reminder run: %w", err)
	}
	switch res[0] {
	case "busy":
		return run, false, ErrRunBusy
	case "resumed":
		return run, true, nil
	}
	return run, false, nil
}

// countRun adds to run its counts, summed over the shards, and its
// position in the shard it is at. A shard's record counts for the run
// only when it names the run (its start).
func (s *Store) countRun(ctx context.Context, run *ReminderRun) error {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, shardCount)
	for i := range shardCount {
		cmds[i] = p.HMGet(ctx, s.reminderShardKey(shardAt(i), run.Date), "run", "cursor",
			"due", RemindQueued, RemindOptedOut, RemindAlreadySent, RemindBooked)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("count reminder run: %w", err)
	}
	this := strconv.FormatInt(run.StartedAt.UnixMilli(), 10)
	for i, c := range cmds {
		v := c.Val()
		if str(v[0]) != this {
			continue
		}
		n := func(k int) int { x, _ := strconv.Atoi(str(v[k])); return x }
		if i == run.Shard {
			run.Cursor, _ = strconv.ParseInt(str(v[1]), 10, 64)
		}
		run.Due += n(2)
		run.Queued += n(3)
		run.OptedOut += n(4)
		run.AlreadySent += n(5)
		run.Booked += n(6)
	}
	return nil
}

// moveRunScript renews runner's lease on its run and, with a shard given,
// moves it there. KEYS: run. ARGV: runner, lease until ms, shard (” to
// stay). 0: the run is another's.
var moveRunScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'runner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lease_until', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'shard', ARGV[3]) end
return 1
`)

// MoveReminderRun moves run (its Runner's) on to shard, renewing its
// lease to leaseUntil; ErrRunLost if another process took it over.
func (s *Store) MoveReminderRun(ctx context.Context, run ReminderRun, shard int, leaseUntil time.Time) error {
	ok, err := s.sendPath(ctx, moveRunScript, []string{s.reminderRunKey(run.Date)}, run.Runner, leaseUntil.UnixMilli(), shard).Int()
	if err != nil {
		return fmt.Errorf("move reminder run: %w", err)
	}
	if ok != 1 {
		return ErrRunLost
	}
	return nil
}

// finishRunScript ends runner's run. KEYS: run. ARGV: runner, now ms.
var finishRunScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'runner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'runner', 'lease_until')
return 1
`)

// FinishReminderRun marks runner's run for date done; ErrRunLost if
// another process took it over. The date's due lists then go with the
// run's record, after the retention: no run needs them after that, and
// a day's list of a national programme holds millions.
func (s *Store) FinishReminderRun(ctx context.Context, date, runner string) error {
	ok, err := s.sendPath(ctx, finishRunScript, []string{s.reminderRunKey(date)}, runner, s.now().UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("finish reminder run: %w", err)
	}
	if ok != 1 {
		return ErrRunLost
	}
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range shardCount {
			p.PExpire(ctx, s.dueKey(shardAt(i), date), s.retention)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("finish reminder run: expire the due lists: %w", err)
	}
	return nil
}

// ReminderRun reads the run for date with its counts; ErrNotFound when
// there was none (or it is older than the retention).
func (s *Store) ReminderRun(ctx context.Context, date string) (ReminderRun, error) {
	h, err := s.rdb.HGetAll(ctx, s.reminderRunKey(date)).Result()
	if err != nil {
		return ReminderRun{}, fmt.Errorf("reminder run: %w", err)
	}
	if len(h) == 0 {
		return ReminderRun{}, ErrNotFound
	}
	run := reminderRunFrom(date, h)
	if err := s.countRun(ctx, &run); err != nil {
		return ReminderRun{}, fmt.Errorf("reminder run: %w", err)
	}
	return run, nil
}

// DueOn lists up to n entries of the due list of date in the shard-th
// shard (0 ≤ shard < DueShards) from position from (0 for the first): a
// run's batch. An entry may name a beneficiary who is no longer due that
// day (see dueKey); the step tells.
func (s *Store) DueOn(ctx context.Context, date string, shard int, from int64, n int) ([]string, error) {
	if shard < 0 || shard >= shardCount {
		return nil, nil
	}
	ids, err := s.rdb.LRange(ctx, s.dueKey(shardAt(shard), date), from, from+int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("due on %s: %w", date, err)
	}
	s.learnShard(shardAt(shard), ids...)
	return ids, nil
}

// dueWindow is how many shards' due lists DueShardsIn asks about in one
// round trip.
const dueWindow = 100

// DueShardsIn lists the shards from from on (0 ≤ from), a window of them
// at a time, whose due list of date holds anything, and the first shard
// after the window (DueShards after the last): a run passes over the
// empty ones in nine round trips a day instead of two each.
func (s *Store) DueShardsIn(ctx context.Context, date string, from int) (due []int, next int, err error) {
	from = max(from, 0)
	end := min(from+dueWindow, shardCount)
	if from >= end {
		return nil, DueShards, nil
	}
	lens := make([]*redis.IntCmd, end-from)
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := from; i < end; i++ {
			lens[i-from] = p.LLen(ctx, s.dueKey(shardAt(i), date))
		}
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("due shards of %s: %w", date, err)
	}
	for i, n := range lens {
		if n.Val() > 0 {
			due = append(due, from+i)
		}
	}
	return due, end, nil
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
// the shard's position moved, so a run resumed after a crash counts
// nobody twice. Fenced: a newer take of the run (a higher epoch, or a
// later run) has stepped the shard. The shard's record is reset by the
// first step of a new run.
// KEYS: 1 beneficiary, 2 mobile choices, 3 message, 4 history, 5 pending,
// 6 the run's record in the shard. ARGV: 1 beneficiary id, 2 run
// date, 3 today, 4 dose, 5 epoch, 6 message id, 7 retention ms, 8 history
// limit, 9 now ms, 10 the run's start ms, 11 the entry's position in the
// due list + 1, 12.. the message's field pairs (none: the position only).
var remindScript = redis.NewScript(recordMessageLua + createMessageLua + dosesLua + `
local r = redis.call('HMGET', KEYS[6], 'run', 'epoch')
if r[1] ~= ARGV[10] then
  if r[1] and tonumber(r[1]) > tonumber(ARGV[10]) then return 'fenced' end
  redis.call('DEL', KEYS[6])
  redis.call('HSET', KEYS[6], 'run', ARGV[10])
elseif tonumber(r[2] or '0') > tonumber(ARGV[5]) then
  return 'fenced'
end
redis.call('HSET', KEYS[6], 'epoch', ARGV[5], 'cursor', ARGV[11])
redis.call('PEXPIRE', KEYS[6], ARGV[7])
if #ARGV < 12 then return 'not_due' end
local b = redis.call('HMGET', KEYS[1], 'due', 'reminded', 'reminded_on', 'active_appt', 'active_date', 'mobile')
if not b[1] or b[1] ~= ARGV[2] then return 'not_due' end
if doses_count(KEYS[1]) + 1 ~= tonumber(ARGV[4]) then return 'not_due' end
local outcome
if b[2] == ARGV[4] then
  if b[3] == ARGV[2] and tonumber(ARGV[10]) <= tonumber(redis.call('HGET', KEYS[1], 'reminded_at') or '0') then
    return 'repeat'
  end
  outcome = 'already_sent'
elseif b[4] and b[4] ~= '' and b[5] and b[5] >= ARGV[3] then
  outcome = 'booked'
else
  local out = redis.call('HGET', KEYS[2], 'opted_out')
  if out and out ~= '' and out ~= '0' then
    outcome = 'opted_out'
  else
    create_message(KEYS[3], KEYS[4], KEYS[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], {unpack(ARGV, 12)})
    redis.call('HSET', KEYS[1], 'reminded', ARGV[4], 'reminded_on', ARGV[2], 'reminded_at', ARGV[9])
    outcome = 'queued'
  end
end
redis.call('HINCRBY', KEYS[6], 'due', 1)
redis.call('HINCRBY', KEYS[6], outcome, 1)
return outcome
`)

// RemindResult is one Reminder's outcome; MessageID is set when queued.
type RemindResult struct {
	Outcome   string
	MessageID string
}

// Remind runs the steps of a batch of reminders of run (its Runner's and
// Epoch's), pipelined, in order, renewing its lease to leaseUntil; batch
// holds the entries of the run's shard's due list from position from.
// today is the programme's date, against which an appointment is active.
// ErrRunLost as soon as one step finds the run taken over.
func (s *Store) Remind(ctx context.Context, run ReminderRun, today string, leaseUntil time.Time, from int64, batch []Reminder) ([]RemindResult, error) {
	now := s.now()
	calls := make([]scriptCall, 0, len(batch)+1)
	ids := make([]string, len(batch))
	started := run.StartedAt.UnixMilli()
	for i, r := range batch {
		ids[i] = r.BeneficiaryID
	}
	s, err := s.locate(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("remind: %w", err)
	}
	for i, r := range batch {
		shard := s.shardOf(r.BeneficiaryID)
		args := []any{r.BeneficiaryID, run.Date, today, r.Dose, run.Epoch, "", s.retention.Milliseconds(), s.historyLimit,
			now.UnixMilli(), started, from + int64(i) + 1}
		unused := s.unusedKey(shard)
		keys := []string{s.beneficiaryKey(r.BeneficiaryID), unused, unused, unused, s.pendingKey(shard),
			s.reminderShardKey(shard, run.Date)}
		if nm := r.Message; nm != nil {
			if shardOfMobile(nm.To) != shard {
				return nil, fmt.Errorf("remind %s: %s is not their mobile", r.BeneficiaryID, nm.To)
			}
			ids[i] = newMessageID(shard, now)
			_, fields, err := s.messageRecord(*nm, ids[i], now)
			if err != nil {
				return nil, fmt.Errorf("remind %s: %w", r.BeneficiaryID, err)
			}
			args[5] = ids[i]
			args = append(args, fields...)
			keys[1], keys[2], keys[3] = s.mobileKey(nm.To), s.messageKey(ids[i]), s.historyKey(nm.To)
		}
		calls = append(calls, scriptCall{script: remindScript, keys: keys, args: args})
	}
	calls = append(calls, scriptCall{script: moveRunScript, keys: []string{s.reminderRunKey(run.Date)},
		args: []any{run.Runner, leaseUntil.UnixMilli(), ""}})
	cmds := s.sendAll(ctx, calls)
	out := make([]RemindResult, len(batch))
	for i, c := range cmds[:len(batch)] {
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
	if held, err := cmds[len(batch)].Int(); err != nil {
		return out, fmt.Errorf("renew reminder run: %w", err)
	} else if held != 1 {
		return out, ErrRunLost
	}
	return out, nil
}

// reindexScript puts one beneficiary in the due index from their doses
// (indexDueLua), as their last dose would have. KEYS: beneficiary.
// ARGV: the index's key prefix, the beneficiary id, the last dose date's
// scheduleTable.
var reindexScript = redis.NewScript(dosesLua + indexDueLua + `
if redis.call('EXISTS', KEYS[1]) == 0 or doses_count(KEYS[1]) == 0 then return 0 end
index_due(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
`)

// ReindexDue puts every beneficiary with a dose in the due index as their
// last dose step would have: for data recorded before the index existed,
// or after precaution reminders are turned on. It walks every
// beneficiary (SCAN, a batch at a time) once; run it once, not daily.
// It reports how many it indexed.
func (s *Store) ReindexDue(ctx context.Context) (int, error) {
	// A Redis that restarts meanwhile fails the walk, which is run again
	// (indexing twice changes nothing: index_due).
	// Every beneficiary is a hash under ben:; their lists of an earlier
	// version are lists there, passed over by type.
	tables := map[string]string{} // by last dose date
	n := 0
	err := s.scanKeys(ctx, s.everyKey("ben:"), "hash", func(keys []string) error {
		ids, shards := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			ids[i], shards[i] = idInKey(k), shardInKey(k)
		}
		s := s.knowing(ids, shards)
		bens, err := s.beneficiariesAt(ctx, ids)
		if err != nil {
			return err
		}
		var calls []scriptCall
		for _, b := range bens {
			if len(b.Doses) == 0 {
				continue // gone meanwhile, or not dosed
			}
			last := b.Doses[len(b.Doses)-1].Date
			tbl, ok := tables[last]
			if !ok {
				if tbl, err = scheduleTable(last, s.precaution); err != nil {
					return err
				}
				tables[last] = tbl
			}
			calls = append(calls, scriptCall{script: reindexScript, keys: []string{s.beneficiaryKey(b.ID)},
				args: []any{s.dueKey(s.shardOf(b.ID), ""), b.ID, tbl}})
		}
		for _, c := range s.sendAll(ctx, calls) {
			ok, err := c.Int()
			if err != nil {
				return err
			}
			n += ok
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("reindex due: %w", err)
	}
	return n, nil
}
