package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"sandesh/reminders"
	"sandesh/store"
	"sandesh/vaccines"
)

// ReminderOptions are the programme's due-dose reminder settings.
type ReminderOptions struct {
	// Precaution reminds of the precaution dose too (config
	// reminders.precaution); the store must index them (see
	// store.Options.PrecautionReminders).
	Precaution bool
	// Rate paces the queuing, in reminders a second: the providers'
	// summed tps, so a day's millions do not sit in the queue at once.
	// 0: as fast as the store takes them.
	Rate float64
}

// ReminderCounts are what a date's reminder run found (API.md "Due-dose
// reminders"); Due is the sum of the other four. State is "running" while
// a process works through the day's list, "done" after.
type ReminderCounts struct {
	Date        string `json:"date"`
	Due         int    `json:"due"`
	Queued      int    `json:"queued"`
	OptedOut    int    `json:"opted_out"`
	AlreadySent int    `json:"already_sent"`
	Booked      int    `json:"booked"`
	State       string `json:"state"`
}

func countsOf(r store.ReminderRun) ReminderCounts {
	return ReminderCounts{Date: r.Date, Due: r.Due, Queued: r.Queued, OptedOut: r.OptedOut, AlreadySent: r.AlreadySent,
		Booked: r.Booked, State: r.State}
}

// Reminder runs walk the day's due index in batches; each batch is read in
// two round trips and stepped in one pipeline. The lease is renewed by
// every step, so a dead runner's run is taken over within reminderLease.
const (
	reminderBatch = 500
	reminderLease = 30 * time.Second
	// runWaitPoll is how often a request for a date another process is
	// running looks at its counts again.
	runWaitPoll = 250 * time.Millisecond
)

// newRunnerID names this process in reminder runs' leases.
func newRunnerID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

// RunReminders runs the due-dose reminders for the beneficiaries whose
// next dose opens on date (YYYY-MM-DD; "" for today): each one still due
// and not booked gets one dose_due SMS on the bulk lane, in their
// language, unless the mobile opted out or a reminder for that dose went
// already; each is counted once. A run that a dead process left is
// resumed from its cursor; running a finished date again queues nothing
// new. While another live process runs the date, this waits for it as
// long as ctx allows and answers its counts so far.
func (g *Gateway) RunReminders(ctx context.Context, date string) (ReminderCounts, error) {
	date, err := g.reminderDate(date)
	if err != nil {
		return ReminderCounts{}, err
	}
	// Each run holds its own lease, so that two runs in one process (the
	// daily one and an admin's) do not both step the date.
	runner := g.runner + "/" + strconv.FormatUint(g.runs.Add(1), 10)
	run, resumed, err := g.store.TakeReminderRun(ctx, date, runner, reminderLease)
	if errors.Is(err, store.ErrRunBusy) {
		return g.awaitRun(ctx, run)
	}
	if err != nil {
		return ReminderCounts{}, storeErr("reminders", err)
	}
	if resumed {
		g.log.Warn("resuming a reminder run its process left", "date", date, "shard", run.Shard, "after", run.Cursor, "queued", run.Queued)
	}
	start, queued := time.Now(), 0
	shard, cursor := run.Shard, run.Cursor
	ahead := dueShards{store: g.store, date: date, asked: shard + 1}
	for shard < store.DueShards {
		ids, err := g.store.DueOn(ctx, date, shard, cursor, reminderBatch)
		if err != nil {
			return ReminderCounts{}, storeErr("reminders", err)
		}
		if len(ids) == 0 {
			// The next shard with anybody due, from the start of its list.
			next, err := ahead.next(ctx)
			if err != nil {
				return ReminderCounts{}, storeErr("reminders", err)
			}
			shard, cursor = next, 0
			if err := g.store.MoveReminderRun(ctx, run, shard, g.now().Add(reminderLease)); errors.Is(err, store.ErrRunLost) {
				return ReminderCounts{}, fmt.Errorf("reminders for %s: %w", date, err)
			} else if err != nil {
				return ReminderCounts{}, storeErr("reminders", err)
			}
			continue
		}
		n, err := g.remindBatch(ctx, run, cursor, ids)
		queued += n
		if err != nil {
			return ReminderCounts{}, err
		}
		cursor += int64(len(ids))
		if err := g.pace(ctx, start, queued); err != nil {
			return ReminderCounts{}, err
		}
	}
	if err := g.store.FinishReminderRun(ctx, date, runner); err != nil {
		return ReminderCounts{}, storeErr("reminders", err)
	}
	run, err = g.store.ReminderRun(ctx, date)
	if err != nil {
		return ReminderCounts{}, storeErr("reminders", err)
	}
	g.log.Info("reminder run done", "date", date, "due", run.Due, "queued", run.Queued, "opted_out", run.OptedOut,
		"already_sent", run.AlreadySent, "booked", run.Booked, "took", time.Since(start).Round(time.Millisecond))
	return countsOf(run), nil
}

// dueShards walks the shards past a run's whose due list holds anybody,
// asking Redis about a window of them at a time. A shard that was empty
// when its window was asked about is passed over even if somebody joins
// its list later in the run, as a shard the run has left is: a dose
// lists its beneficiary on a later day than its own.
type dueShards struct {
	store *store.Store
	date  string
	due   []int // known to hold somebody, not yet walked
	asked int   // the first shard not yet asked about
}

// next is the next shard with somebody due, store.DueShards past the last.
func (d *dueShards) next(ctx context.Context) (int, error) {
	for len(d.due) == 0 && d.asked < store.DueShards {
		var err error
		if d.due, d.asked, err = d.store.DueShardsIn(ctx, d.date, d.asked); err != nil {
			return 0, err
		}
	}
	if len(d.due) == 0 {
		return store.DueShards, nil
	}
	next := d.due[0]
	d.due = d.due[1:]
	return next, nil
}

// reminderDate is the date a run is for: date (YYYY-MM-DD), "" for today.
func (g *Gateway) reminderDate(date string) (string, error) {
	if date == "" {
		return g.today(), nil
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return "", invalid("date", "date must be a date like 2027-02-14.")
	}
	return date, nil
}

// StartReminders runs the reminders for date (see RunReminders) detached
// from ctx, and answers their counts when the run is done or, should ctx
// end first, the counts so far (State "running"): the run goes on.
func (g *Gateway) StartReminders(ctx context.Context, date string) (ReminderCounts, error) {
	date, err := g.reminderDate(date)
	if err != nil {
		return ReminderCounts{}, err
	}
	type result struct {
		counts ReminderCounts
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, err := g.RunReminders(context.WithoutCancel(ctx), date)
		if err != nil && ctx.Err() != nil {
			g.log.Error("reminder run stopped", "date", date, "err", err)
		}
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.counts, r.err
	case <-ctx.Done():
	}
	run, err := g.store.ReminderRun(context.WithoutCancel(ctx), date)
	if err != nil {
		return ReminderCounts{}, storeErr("reminders", err)
	}
	return countsOf(run), nil
}

// remindBatch words the reminders of ids, the entries of the due list of
// run's shard from position from, steps them and queues those recorded;
// it reports how many it queued.
func (g *Gateway) remindBatch(ctx context.Context, run store.ReminderRun, from int64, ids []string) (int, error) {
	date := run.Date
	cands, err := g.store.DueCandidates(ctx, ids)
	if err != nil {
		return 0, storeErr("reminders", err)
	}
	batch := make([]store.Reminder, len(ids))
	for i, c := range cands {
		batch[i] = g.reminder(ids[i], c, date)
	}
	res, err := g.store.Remind(ctx, run, g.today(), g.now().Add(reminderLease), from, batch)
	var queued []string
	for _, r := range res {
		if r.MessageID != "" {
			queued = append(queued, r.MessageID)
			g.metrics.Status("dose_due", string(store.StatusQueued), "")
		}
	}
	g.dispatch.QueueMany(ctx, queued, store.PriorityBulk)
	n := len(queued)
	if errors.Is(err, store.ErrRunLost) {
		return n, fmt.Errorf("reminders for %s: %w", date, err)
	}
	if err != nil {
		return n, storeErr("reminders", err)
	}
	return n, nil
}

// reminder is the step for due beneficiary c: the dose_due SMS for their
// next dose, or only the cursor moved for one this run does not remind (a
// precaution dose with those reminders off, one gone, one whose reminder
// cannot be worded).
func (g *Gateway) reminder(id string, c store.DueCandidate, date string) store.Reminder {
	r := store.Reminder{BeneficiaryID: id, Dose: c.Given + 1}
	course := vaccines.Course(c.FirstVaccine)
	if c.ID == "" || course == 0 || (c.Given >= course && !g.reminderOpts.Precaution) {
		return r
	}
	lang := g.mobileLanguage(store.MobilePrefs{Language: c.MobileLang}, []store.Beneficiary{c.Beneficiary})
	nm, err := g.render(Outgoing{To: c.Mobile, Template: "dose_due", Language: lang, Priority: store.PriorityBulk,
		Vars: map[string]string{"name": c.Name, "dose": strconv.Itoa(r.Dose), "vaccine": c.FirstVaccine, "date": smsDate(date)}})
	if err != nil {
		g.log.Error("reminder not worded", "beneficiary", id, "err", err)
		return r
	}
	r.Message = &nm
	return r
}

// pace holds the run back to the configured rate: queued reminders since
// start may not run ahead of it.
func (g *Gateway) pace(ctx context.Context, start time.Time, queued int) error {
	if g.reminderOpts.Rate <= 0 {
		return nil
	}
	ahead := paceDelay(g.reminderOpts.Rate, queued, time.Since(start))
	if ahead <= 0 {
		return nil
	}
	t := time.NewTimer(ahead)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// paceDelay is how long a run that queued queued reminders in elapsed
// must wait to stay at rate a second.
func paceDelay(rate float64, queued int, elapsed time.Duration) time.Duration {
	return time.Duration(float64(queued)/rate*float64(time.Second)) - elapsed
}

// awaitRun follows a run another process holds until it is done or ctx
// ends, and answers its counts then.
func (g *Gateway) awaitRun(ctx context.Context, run store.ReminderRun) (ReminderCounts, error) {
	t := time.NewTicker(runWaitPoll)
	defer t.Stop()
	for run.State == "running" {
		select {
		case <-ctx.Done():
			return countsOf(run), nil
		case <-t.C:
		}
		r, err := g.store.ReminderRun(ctx, run.Date)
		if err != nil {
			if ctx.Err() != nil {
				return countsOf(run), nil
			}
			return ReminderCounts{}, storeErr("reminders", err)
		}
		run = r
	}
	return countsOf(run), nil
}

// Reminders reads the counts of the run for date ("" for today);
// ErrNotFound when none ran.
func (g *Gateway) Reminders(ctx context.Context, date string) (ReminderCounts, error) {
	date, err := g.reminderDate(date)
	if err != nil {
		return ReminderCounts{}, err
	}
	run, err := g.store.ReminderRun(ctx, date)
	if errors.Is(err, store.ErrNotFound) {
		return ReminderCounts{}, fmt.Errorf("no reminder run for %s: %w", date, ErrNotFound)
	}
	if err != nil {
		return ReminderCounts{}, storeErr("reminders", err)
	}
	return countsOf(run), nil
}

// RunDailyReminders starts each day's run at start (programme time) and
// checks every interval, until ctx ends: a run that has not finished —
// never started, or left by a process that died — is (re)taken. Many
// workers may call it: the run's lease lets one work at a time.
func (g *Gateway) RunDailyReminders(ctx context.Context, start reminders.Clock, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := g.now().In(g.location)
		if !now.Before(start.On(now)) {
			date := now.Format(time.DateOnly)
			run, err := g.store.ReminderRun(ctx, date)
			if errors.Is(err, store.ErrNotFound) || (err == nil && run.State != "done" && !run.LeaseUntil.After(g.now())) {
				if _, err := g.RunReminders(ctx, date); err != nil && ctx.Err() == nil {
					g.log.Error("reminder run stopped; the next check resumes it", "date", date, "err", err)
				}
			} else if err != nil && ctx.Err() == nil {
				g.log.Error("reminder run state", "date", date, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
