package jobs

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/providers"
	"sandesh/reminders"
	"sandesh/store"
)

// Sender is what the worker sends through: the provider router.
type Sender interface {
	Send(ctx context.Context, m providers.Outbound) (providers.Receipt, error)
}

// WorkerOptions shape a Worker.
type WorkerOptions struct {
	// Concurrency per queue; defaults otp 20, transactional 50, bulk 30.
	Concurrency map[store.Priority]int
	// Dequeuers is how many asynq servers share a queue's concurrency. A
	// server fetches tasks one round trip at a time, so under load one
	// loop caps a queue's rate; default 1 for otp, 4 for transactional
	// (with 2, bench/run.sh's confirmations were capped near 1,000/s while
	// the worker used a quarter of a core), 2 for bulk.
	Dequeuers map[store.Priority]int
	// ShutdownTimeout bounds how long in-flight sends may finish on shutdown.
	ShutdownTimeout time.Duration
	// SweepEvery is how often lost tasks are looked for; 0 disables the sweeper.
	SweepEvery time.Duration
	// RescueEvery is how often claims of dead workers are looked for and
	// their messages queued again; 0 disables rescuing (other workers'
	// rescuers still see this one's heartbeat).
	RescueEvery time.Duration
	// HeartbeatTTL is how long this worker counts as alive after its last
	// beat; it beats five times per TTL. Default 5s: a killed worker's
	// messages are rescued within about HeartbeatTTL + RescueEvery.
	HeartbeatTTL time.Duration
	// ReclaimAfter is how long a message a batch claimed may wait for a
	// send slot before it is claimed again just before its send: its lease
	// runs while it waits, and once the lease is out (a provider brownout
	// can hold every slot for many seconds) the sweeper may have queued it
	// again and another worker claimed it. Default 5s.
	ReclaimAfter time.Duration
	// GiveWayAbove is the round trip of an OTP's claim above which the
	// bulk lane narrows (see giveWay). Default 2ms: an idle Redis on the
	// same network answers in well under 1 ms.
	GiveWayAbove time.Duration
	// ReminderHours, when set, holds due-dose reminders (template
	// dose_due) outside these hours of the day in Location until the
	// hours next open, spending no retry. Now is the clock it is read
	// with; default time.Now.
	ReminderHours *reminders.Window
	Location      *time.Location
	Now           func() time.Time
	Metrics       *Metrics
	Logger        *slog.Logger
}

// reminderTemplate is the message ReminderHours holds back.
const reminderTemplate = "dose_due"

// Worker runs one asynq server per priority. Each has its own dequeue loop
// and concurrency, so a bulk backlog neither delays an OTP's pickup nor
// takes its workers; the OTP server also polls its empty queue most often.
type Worker struct {
	id       string // heartbeat id, named by every claim this worker makes
	store    *store.Store
	urgent   *store.Store // the same, with pipelines of its own (pipelineFor)
	sender   Sender
	dispatch *Dispatcher
	servers  map[store.Priority][]*asynq.Server
	opts     WorkerOptions
	log      *slog.Logger

	stopSweep chan struct{}
	swept     sync.WaitGroup
	inspector *asynq.Inspector // the rescuer reads active tasks
	// working holds the ids of the messages a task of this worker is
	// handling, so that a claim this worker still holds on any other is
	// known to be stale.
	working sync.Map
	// slots bounds the sends in flight per lane, of lone messages and
	// batches alike, to the lane's concurrency.
	slots map[store.Priority]chan struct{}
	// senders runs a batch's sends on goroutines kept between them.
	senders *reuse
	// bulkWidth bounds the bulk sends in flight below the lane's slots
	// while OTPs find Redis slow.
	bulkWidth *giveWay
}

// pollEvery is how long an idle server waits before looking at its queue
// again: it is an OTP's pickup latency when nothing else is going on.
var pollEvery = map[store.Priority]time.Duration{
	store.PriorityOTP:           10 * time.Millisecond,
	store.PriorityTransactional: 50 * time.Millisecond,
	store.PriorityBulk:          200 * time.Millisecond,
}

// NewWorker builds the consuming side; dispatch is used by the sweeper.
func NewWorker(conn asynq.RedisConnOpt, st *store.Store, sender Sender, dispatch *Dispatcher, opts WorkerOptions) *Worker {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 20 * time.Second
	}
	if opts.HeartbeatTTL <= 0 {
		opts.HeartbeatTTL = 5 * time.Second
	}
	if opts.ReclaimAfter <= 0 {
		opts.ReclaimAfter = 5 * time.Second
	}
	if opts.GiveWayAbove <= 0 {
		opts.GiveWayAbove = 2 * time.Millisecond
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	defaults := map[store.Priority]int{store.PriorityOTP: 20, store.PriorityTransactional: 50, store.PriorityBulk: 30}
	w := &Worker{
		id:    randomID(),
		store: st, urgent: st.OwnPipelines(), sender: sender, dispatch: dispatch, opts: opts,
		log:       opts.Logger,
		servers:   map[store.Priority][]*asynq.Server{},
		slots:     map[store.Priority]chan struct{}{},
		senders:   newReuse(10 * time.Second),
		stopSweep: make(chan struct{}),
		inspector: asynq.NewInspector(conn),
	}
	dequeuers := map[store.Priority]int{store.PriorityOTP: 1, store.PriorityTransactional: 4, store.PriorityBulk: 2}
	for _, p := range store.Priorities {
		n := opts.Concurrency[p]
		if n <= 0 {
			n = defaults[p]
		}
		d := opts.Dequeuers[p]
		if d <= 0 {
			d = dequeuers[p]
		}
		d = min(d, n)
		w.slots[p] = make(chan struct{}, n)
		if p == store.PriorityBulk {
			w.bulkWidth = newGiveWay(n, opts.GiveWayAbove)
		}
		for i := range d {
			w.servers[p] = append(w.servers[p], w.newServer(conn, p, n/d+btoi(i < n%d)))
		}
	}
	return w
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *Worker) newServer(conn asynq.RedisConnOpt, p store.Priority, concurrency int) *asynq.Server {
	return asynq.NewServer(conn, asynq.Config{
		Concurrency:              concurrency,
		Queues:                   w.laneQueues(p),
		TaskCheckInterval:        pollEvery[p],
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           retryDelay(p),
		IsFailure:                func(err error) bool { var w *waitError; return !errors.As(err, &w) },
		ShutdownTimeout:          w.opts.ShutdownTimeout,
		Logger:                   asynqLogger{w.log},
		LogLevel:                 asynq.WarnLevel,
	})
}

// laneQueues weighs lane p's queues (Queues.Of) alike: a server takes
// from each in turn.
func (w *Worker) laneQueues(p store.Priority) map[string]int {
	out := map[string]int{}
	for _, q := range w.dispatch.Queues.Of(p) {
		out[q] = 1
	}
	return out
}

func randomID() string {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand on Linux)
	return hex.EncodeToString(b[:])
}

// Start beats the heartbeat, then runs the servers, the sweeper and the
// rescuer.
func (w *Worker) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := w.store.Heartbeat(ctx, w.id, w.opts.HeartbeatTTL)
	cancel()
	if err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.swept.Add(1)
	go w.every(w.opts.HeartbeatTTL/5, w.beat)
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeSend, w.ProcessSend)
	mux.HandleFunc(TypeBatch, w.ProcessBatch)
	for _, p := range store.Priorities {
		for _, srv := range w.servers[p] {
			if err := srv.Start(mux); err != nil {
				w.Shutdown()
				return fmt.Errorf("start %s worker: %w", p, err)
			}
		}
	}
	if w.opts.SweepEvery > 0 && w.dispatch != nil {
		w.swept.Add(1)
		go w.every(w.opts.SweepEvery, w.sweep)
	}
	if w.opts.RescueEvery > 0 && w.dispatch != nil {
		w.swept.Add(1)
		go w.every(w.opts.RescueEvery, w.rescue)
	}
	return nil
}

// Shutdown stops taking tasks and waits, up to ShutdownTimeout, for the
// sends in flight. Unfinished tasks go back to their queue.
func (w *Worker) Shutdown() {
	var wg sync.WaitGroup
	for _, srvs := range w.servers {
		for _, srv := range srvs {
			wg.Add(1)
			go func() { defer wg.Done(); srv.Shutdown() }()
		}
	}
	wg.Wait()
	// The heartbeat stops only now: until the last send has ended, this
	// worker's claims must not look orphaned to others.
	select {
	case <-w.stopSweep:
	default:
		close(w.stopSweep)
	}
	w.swept.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := w.store.Retire(ctx, w.id); err != nil {
		w.log.Warn("retire worker heartbeat", "err", err)
	}
	w.inspector.Close()
}

// pipelineFor is the store whose send-path scripts (claim, advance) a
// lane's sends share pipelines in: the OTP lane has its own, so its claims
// and outcomes never queue behind a backlog's.
func (w *Worker) pipelineFor(lane store.Priority) *store.Store {
	if lane == store.PriorityOTP {
		return w.urgent
	}
	return w.store
}

// waitError asks for the task to come back after d without spending a retry:
// the message is waiting for room under a rate cap or for another worker's lease.
type waitError struct {
	d      time.Duration
	reason string
}

func (e *waitError) Error() string { return "wait " + e.d.String() + ": " + e.reason }

// retryDelay is exponential backoff with full jitter; OTPs retry fast
// because they are worthless after three minutes.
func retryDelay(p store.Priority) asynq.RetryDelayFunc {
	base, ceiling := 2*time.Second, 10*time.Minute
	if p == store.PriorityOTP {
		base, ceiling = 500*time.Millisecond, 15*time.Second
	}
	return func(n int, err error, _ *asynq.Task) time.Duration {
		var w *waitError
		if errors.As(err, &w) {
			return w.d
		}
		d := min(base<<min(n, 20), ceiling)
		return d/2 + rand.N(d/2+1)
	}
}

// ProcessSend is the handler of TypeSend. It is idempotent: a message
// already handed to a provider is never sent again, however often its task
// runs (asynq delivers at least once).
func (w *Worker) ProcessSend(ctx context.Context, t *asynq.Task) error {
	ids, _, err := taskMessages(TypeSend, t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	queue, _ := asynq.GetQueueName(ctx)
	lane := store.Priority(queue)
	if slots := w.slots[lane]; slots != nil {
		// Lone messages and batches share the lane's slots, so the sends
		// in flight — what a kill -9 may duplicate — stay within its
		// concurrency.
		if err := w.sendSlot(ctx, slots, lane); err != nil {
			return err
		}
		defer w.sendDone(slots, lane)
	}
	return w.send(ctx, ids[0], lane, lastAttempt(ctx))
}

// ProcessBatch is the handler of TypeBatch: it claims the messages of a
// batch claimChunk to a script, sends them in parallel (at most the lane's
// concurrency at once across this worker's batches; one that waited long
// for its turn is claimed again first, see ReclaimAfter), and hands a
// message that must try again later back as a task of its own, so the
// batch ends once each message is sent, failed or handed back. If a
// hand-back cannot be queued the whole batch is retried; its messages
// already sent are not sent again.
func (w *Worker) ProcessBatch(ctx context.Context, t *asynq.Task) error {
	ids, lane, err := taskMessages(TypeBatch, t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	errs := make([]error, len(ids))
	var mine []int // the indexes of the ids no other task of ours is on
	for i, id := range ids {
		if _, busy := w.working.LoadOrStore(id, struct{}{}); busy {
			errs[i] = w.handBack(ctx, id, lane, w.ourTaskHolds(ctx, id, lane, false))
			continue
		}
		mine = append(mine, i)
	}
	slots := w.slots[lane]
	var wg sync.WaitGroup
	for start := 0; start < len(mine); start += claimChunk {
		chunk := mine[start:min(start+claimChunk, len(mine))]
		if err := ctx.Err(); err != nil { // stopping: claim no more
			for _, i := range chunk {
				w.working.Delete(ids[i])
				errs[i] = err
			}
			continue
		}
		claims, err := w.pipelineFor(lane).ClaimStaleBatch(ctx, pick(ids, chunk), w.id, taskTimeout)
		claimed := time.Now()
		for j, i := range chunk {
			c := store.Claim{ID: ids[i], Err: err}
			if err == nil {
				c = claims[j]
			}
			if err := w.sendSlot(ctx, slots, lane); err != nil {
				w.unclaim(ctx, c)
				w.working.Delete(c.ID)
				errs[i] = err
				continue
			}
			wg.Add(1)
			w.senders.Go(func() {
				defer func() { w.sendDone(slots, lane); w.working.Delete(c.ID); wg.Done() }()
				if c.Err == nil && c.Result == store.Claimed && time.Since(claimed) > w.opts.ReclaimAfter {
					m, res, err := w.pipelineFor(lane).ClaimStale(ctx, c.ID, w.id, taskTimeout)
					c = store.Claim{ID: c.ID, Message: m, Result: res, Err: err}
				}
				errs[i] = w.handBack(ctx, c.ID, lane, w.sendClaimed(ctx, c, lane, false))
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendSlot waits for a batch message's turn to be sent: a slot of its
// lane and, on the bulk lane, room under the width OTPs leave it.
func (w *Worker) sendSlot(ctx context.Context, slots chan struct{}, lane store.Priority) error {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if lane == store.PriorityBulk {
		if err := w.bulkWidth.enter(ctx); err != nil {
			<-slots
			return err
		}
	}
	return nil
}

// sendDone gives back what sendSlot took.
func (w *Worker) sendDone(slots chan struct{}, lane store.Priority) {
	if lane == store.PriorityBulk {
		w.bulkWidth.leave()
	}
	<-slots
}

// claimChunk is how many messages of a batch one claim script takes, the
// next chunk once the one before has its send slots: a script runs alone
// in Redis, so a whole batch (64) held it for a few milliseconds at a time
// on a small machine, and messages claimed long before their send slot
// comes up only wait out their leases.
const claimChunk = 8

func pick(ids []string, at []int) []string {
	out := make([]string, len(at))
	for j, i := range at {
		out[j] = ids[i]
	}
	return out
}

// unclaim gives back the lease of a claimed message that will not be sent
// now (the task is stopping), so that its next task need not wait it out.
func (w *Worker) unclaim(ctx context.Context, c store.Claim) {
	if c.Err != nil || c.Result != store.Claimed {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := w.store.Release(ctx, c.ID, w.id, "", ""); err != nil {
		w.log.Warn("release unsent message", "message_id", c.ID, "err", err)
	}
}

// handBack turns the outcome of one message of a batch into a task of its
// own when it must try again: after the wait it asked for (spending no
// retry), or after the first retry's backoff.
func (w *Worker) handBack(ctx context.Context, id string, lane store.Priority, err error) error {
	var wait *waitError
	switch {
	case err == nil, errors.Is(err, asynq.SkipRetry):
		return nil
	case errors.As(err, &wait):
		return w.dispatch.enqueue(ctx, id+"~w"+randomID(), id, lane, asynq.ProcessIn(wait.d))
	}
	return w.dispatch.enqueue(ctx, id+"~h"+randomID(), id, lane, asynq.ProcessIn(retryDelay(lane)(0, err, nil)))
}

// send makes one attempt at message id. Its error says what asynq should
// do with a task that carried only this message: nil done, a waitError
// come back later without spending a retry, SkipRetry failed for good,
// anything else retry. lane is the task's queue ("" unknown); last: the
// task will not be retried.
func (w *Worker) send(ctx context.Context, id string, lane store.Priority, last bool) error {
	if _, busy := w.working.LoadOrStore(id, struct{}{}); busy {
		return w.ourTaskHolds(ctx, id, lane, last)
	}
	defer w.working.Delete(id)
	// No task of ours is on it: a lease of ours on it is left from a claim
	// whose answer was lost, and need not be waited out.
	start := time.Now()
	m, res, err := w.pipelineFor(lane).ClaimStale(ctx, id, w.id, taskTimeout)
	if lane == store.PriorityOTP && err == nil {
		w.bulkWidth.sample(time.Since(start))
	}
	return w.sendClaimed(ctx, store.Claim{ID: id, Message: m, Result: res, Err: err}, lane, last)
}

// ourTaskHolds is send's answer for a message another task of this worker
// is on (the same message queued twice: a replayed request, a sweep). It
// must not claim too: its claim and ours could both take effect, ours
// taking over its lease as stale. It comes back once that task is done.
func (w *Worker) ourTaskHolds(ctx context.Context, id string, lane store.Priority, last bool) error {
	return w.wait(ctx, store.Message{ID: id, Priority: lane}, 5*time.Second, "another task of this worker holds the message", last)
}

// sendClaimed is send after the claim c: it sends a message claimed, and
// says what the task does about one that was not.
func (w *Worker) sendClaimed(ctx context.Context, c store.Claim, lane store.Priority, last bool) error {
	switch {
	case errors.Is(c.Err, store.ErrNotFound):
		w.log.Warn("send task for a message that does not exist", "message_id", c.ID)
		return nil
	case c.Err != nil:
		return c.Err
	case c.Result == store.AlreadyHandled:
		return nil
	case c.Result == store.Busy:
		// c.Message is empty here; a requeue on the task's last retry needs its id.
		return w.wait(ctx, store.Message{ID: c.ID, Priority: lane}, 5*time.Second, "another task holds the message", last)
	}
	m := c.Message

	if m.Expired(time.Now()) {
		return w.fail(ctx, m, "", "expired", false)
	}
	if hours := w.opts.ReminderHours; hours != nil && m.Template == reminderTemplate {
		now := w.opts.Now().In(w.opts.Location)
		if !hours.Open(now) {
			// Not by night: it waits for the hours to open, its retries kept.
			if err := w.store.Release(ctx, m.ID, w.id, "", ""); err != nil {
				return err
			}
			return w.wait(ctx, m, hours.Next(now).Sub(now), "outside reminders.hours", last)
		}
	}
	if m.Priority == store.PriorityBulk {
		// STOP ends non-essential messages only: codes, OTPs and
		// confirmations travel on the other queues.
		prefs, err := w.store.MobilePrefs(ctx, m.To)
		if err != nil {
			return err
		}
		if prefs.OptedOut {
			return w.fail(ctx, m, "", "opted_out", false)
		}
	}

	start := time.Now()
	rec, err := w.sender.Send(ctx, providers.Outbound{
		MessageID:     m.ID,
		To:            m.To,
		Body:          m.SendBody(),
		Encoding:      m.Encoding,
		Segments:      m.Segments,
		DLTTemplateID: m.DLTTemplateID,
		Prefer:        m.Prefer,
	})
	if m.Priority != store.PriorityOTP { // OTPs are counted nowhere: see kyvsOTP
		w.observe(start, err)
	}
	// What the provider said must be written down even if the task's
	// context ended meanwhile (deadline, shutdown): an SMS that went out
	// but is not recorded as sent would be sent again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err == nil {
		if err := w.recordSent(ctx, m, rec); err != nil {
			// The SMS is out; retrying the task would send it again once
			// the lease lapses, so only report the bookkeeping failure.
			w.log.Error("record sent message", "message_id", m.ID, "err", err)
			return nil
		}
		if w.opts.Metrics != nil && m.Priority != store.PriorityOTP {
			w.opts.Metrics.Status(m.Template, string(store.StatusSent), rec.Provider)
			w.opts.Metrics.Sent(m.Template, rec.Provider, m.Segments)
		}
		return nil
	}

	provider, code := errProvider(err), providers.Code(err)
	if providers.OptedOut(err) {
		if oerr := w.store.SetOptedOut(ctx, m.To, true); oerr != nil {
			w.log.Error("record provider opt-out", "message_id", m.ID, "err", oerr)
		}
	}
	if !providers.Temporary(err) {
		return w.fail(ctx, m, provider, code, !providers.OptedOut(err))
	}
	if wait := providers.RetryAfter(err); wait > 0 && (code == "rate_limited" || code == "breaker_open") {
		// Over a send-rate cap, or every provider's breaker open: nothing
		// was tried, so the message waits without spending a retry. A long
		// outage would otherwise use up its retries and fail it.
		if rerr := w.store.Release(ctx, m.ID, w.id, "", ""); rerr != nil {
			return rerr
		}
		reason := "provider send-rate cap"
		if code == "breaker_open" {
			reason = "every provider's breaker open"
		}
		return w.wait(ctx, m, wait, reason, last)
	}
	if last {
		return w.fail(ctx, m, provider, code, true)
	}
	if rerr := w.store.Release(ctx, m.ID, w.id, provider, code); rerr != nil {
		w.log.Error("release message", "message_id", m.ID, "err", rerr)
	}
	w.log.Warn("send failed, will retry", "message_id", m.ID, "provider", provider, "code", code, "attempt", m.Attempts)
	return err
}

// recordSent marks m sent, trying a few times: a Redis blip here would
// otherwise leave an SMS that went out looking unsent.
func (w *Worker) recordSent(ctx context.Context, m store.Message, rec providers.Receipt) error {
	var err error
	for i, pause := range []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second} {
		if i > 0 {
			time.Sleep(pause)
		}
		if _, err = w.pipelineFor(m.Priority).Advance(ctx, m.ID, store.Update{
			Status: store.StatusSent, Provider: rec.Provider, ProviderMessageID: rec.ProviderMessageID,
		}); err == nil {
			return nil
		}
	}
	return err
}

// wait brings the message back after d without spending a retry. On the
// task's last retry asynq would archive the task instead of retrying it, so
// a fresh task is queued for later and this one ends.
func (w *Worker) wait(ctx context.Context, m store.Message, d time.Duration, reason string, last bool) error {
	if !last {
		return &waitError{d: d, reason: reason}
	}
	if err := w.dispatch.requeue(ctx, m.ID, m.Attempts, m.Priority, d); err != nil {
		return fmt.Errorf("requeue waiting message %s: %w", m.ID, err)
	}
	return nil
}

// lastAttempt reports whether asynq will not retry the running task again.
func lastAttempt(ctx context.Context) bool {
	n, ok := asynq.GetRetryCount(ctx)
	limit, ok2 := asynq.GetMaxRetry(ctx)
	return ok && ok2 && n >= limit
}

// fail ends a message as failed; the task is archived, not retried. dead
// lists it as a dead letter, for an admin to retry after a fix: it failed
// for good, not by the programme's rules (opted out, expired).
func (w *Worker) fail(ctx context.Context, m store.Message, provider, code string, dead bool) error {
	if _, err := w.pipelineFor(m.Priority).Advance(ctx, m.ID, store.Update{
		// An OTP is not kept: it is stale in minutes, and a count that
		// moved with one would tell /metrics readers a KYVS match.
		Status: store.StatusFailed, Provider: provider, ErrorCode: code, DeadLetter: dead && m.Priority != store.PriorityOTP,
	}); err != nil {
		return err
	}
	w.opts.Metrics.Status(m.Template, string(store.StatusFailed), provider)
	w.log.Warn("message failed", "message_id", m.ID, "provider", provider, "code", code)
	return fmt.Errorf("message %s failed with %q: %w", m.ID, code, asynq.SkipRetry)
}

func (w *Worker) observe(start time.Time, err error) {
	if w.opts.Metrics == nil {
		return
	}
	outcome := "sent"
	if err != nil {
		outcome = "error"
	}
	w.opts.Metrics.SendLatency.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}

func errProvider(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe.Provider
	}
	return ""
}

// every runs job each period until the worker shuts down.
func (w *Worker) every(period time.Duration, job func(ctx context.Context)) {
	defer w.swept.Done()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-w.stopSweep:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), period)
			job(ctx)
			cancel()
		}
	}
}

func (w *Worker) beat(ctx context.Context) {
	if err := w.store.Heartbeat(ctx, w.id, w.opts.HeartbeatTTL); err != nil {
		w.log.Error("worker heartbeat", "err", err)
	}
}

// inTurn tells whether this worker runs the periodic job now: every
// worker ticks, one a period runs it (store.TakeTurn).
func (w *Worker) inTurn(ctx context.Context, job string, period time.Duration) bool {
	ok, err := w.store.TakeTurn(ctx, job, w.id, period)
	if err != nil {
		w.log.Error("periodic job", "job", job, "err", err)
	}
	return ok
}

// sweep re-enqueues messages that have waited too long without reaching a
// provider: their enqueue failed after the record was written, or their
// task was lost with a crashed Redis. Enqueue is keyed by message id, so a
// message whose task still exists is left alone. One worker a period
// sweeps, however many there are.
func (w *Worker) sweep(ctx context.Context) {
	if !w.inTurn(ctx, "sweep", w.opts.SweepEvery) {
		return
	}
	if n, err := w.SweepOnce(ctx, time.Now().Add(-2*time.Minute)); err != nil {
		w.log.Error("sweep pending messages", "err", err)
	} else if n > 0 {
		w.log.Warn("re-enqueued pending messages", "count", n)
	}
}

// rescue takes back the claims of dead workers (one worker a period, as
// sweep) and this worker's own claims whose answer was lost.
func (w *Worker) rescue(ctx context.Context) {
	if w.inTurn(ctx, "rescue", w.opts.RescueEvery) {
		if n, err := w.RescueOnce(ctx); err != nil {
			w.log.Error("rescue messages of dead workers", "err", err)
		} else if n > 0 {
			w.log.Warn("rescued messages of a dead worker", "count", n)
		}
	}
	if n, err := w.RescueOwnStale(ctx, time.Now().Add(-ownStaleAfter)); err != nil {
		w.log.Error("rescue this worker's stale claims", "err", err)
	} else if n > 0 {
		w.log.Warn("rescued claims whose answer was lost", "count", n)
	}
}

// ownStaleAfter is how old a claim of this worker's must be, with no task
// of it on the message, before it is taken for one whose answer was lost.
const ownStaleAfter = 3 * time.Second

// RescueOwnStale queues again the messages this worker claimed before
// before and that none of its tasks is handling: the claim took effect but
// its answer was lost (Redis went away as it ran), so the task failed and
// asynq would bring it back only after its lease and recoverer (up to
// about 90 s). It reports how many it queued.
func (w *Worker) RescueOwnStale(ctx context.Context, before time.Time) (int, error) {
	claims, err := w.store.StaleOwnClaims(ctx, w.id, before, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range claims {
		if _, busy := w.working.Load(o.ID); busy {
			continue
		}
		ok, err := w.store.RescueOwn(ctx, o)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		if err := w.dispatch.enqueue(ctx, fmt.Sprintf("%s~s%d", o.ID, o.Attempts), o.ID, o.Priority); err != nil {
			return n, fmt.Errorf("rescue own claim: %w", err)
		}
		n++
	}
	return n, nil
}

// RescueOnce queues again the messages of workers that died, and reports
// how many. asynq would run a killed worker's tasks again only after its
// 30 s lease and its recoverer's next minute tick — a third of an OTP's
// life. Two kinds are rescued:
//   - messages the dead worker had claimed: its lease is dropped and a fresh
//     task queued. Whether its SMS reached the provider is unknown, so a
//     rescue may send one twice (at most one per claim the dead worker held);
//   - messages whose task asynq handed out but that nobody claimed (the
//     worker died between dequeue and claim): a second task is queued. If
//     the task belongs to a live worker after all, the claim makes the extra
//     task a no-op.
//
// When asynq finally runs the orphaned tasks they find their messages sent
// and do nothing. A worker counts as dead two beats after its heartbeat
// expired: after a Redis restart that outlasted the TTL, live workers beat
// again within one beat. A worker never rescues itself.
func (w *Worker) RescueOnce(ctx context.Context) (int, error) {
	grace := 2 * w.opts.HeartbeatTTL / 5
	dead, err := w.store.DeadWorkers(ctx, time.Now().Add(-w.opts.HeartbeatTTL-grace))
	if err != nil {
		return 0, err
	}
	isDead := map[string]bool{}
	for _, id := range dead {
		if id != w.id {
			isDead[id] = true
		}
	}
	if len(isDead) == 0 {
		return 0, nil
	}
	orphans, err := w.store.Orphans(ctx, 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range orphans {
		if !isDead[o.Worker] {
			continue
		}
		ok, err := w.store.Rescue(ctx, o)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		if err := w.dispatch.enqueue(ctx, fmt.Sprintf("%s~r%d", o.ID, o.Attempts), o.ID, o.Priority); err != nil {
			// asynq's own recovery still runs the orphaned task later.
			return n, fmt.Errorf("rescue: %w", err)
		}
		n++
	}
	m, err := w.requeueUnclaimed(ctx)
	n += m
	if err != nil {
		return n, err
	}
	for id := range isDead {
		if err := w.store.ForgetWorker(ctx, id); err != nil {
			return n, err
		}
	}
	return n, nil
}

// requeueUnclaimed queues a second task for every message whose task is
// active in asynq while the message was never claimed.
func (w *Worker) requeueUnclaimed(ctx context.Context) (int, error) {
	n := 0
	var queues []string
	for _, p := range store.Priorities {
		queues = append(queues, w.dispatch.Queues.Of(p)...)
	}
	for _, q := range queues {
		active, err := w.inspector.ListActiveTasks(q, asynq.PageSize(1000))
		if err != nil {
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue
			}
			return n, fmt.Errorf("rescue: active %s tasks: %w", q, err)
		}
		for _, t := range active {
			ids, _, err := taskMessages(t.Type, t.Payload)
			if err != nil {
				continue
			}
			for _, id := range ids {
				m, err := w.store.Message(ctx, id)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return n, fmt.Errorf("rescue: %w", err)
				}
				if m.Status != store.StatusQueued {
					continue
				}
				if err := w.dispatch.enqueue(ctx, m.ID+"~o", m.ID, m.Priority); err != nil {
					return n, fmt.Errorf("rescue: %w", err)
				}
				n++
			}
		}
	}
	return n, nil
}

// SweepOnce re-enqueues messages still queued that were created before
// cutoff and reports how many it enqueued (a task that still exists is not
// duplicated: the task id is the message id).
func (w *Worker) SweepOnce(ctx context.Context, cutoff time.Time) (int, error) {
	ids, err := w.store.PendingBefore(ctx, cutoff, 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		m, err := w.store.Message(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			if err := w.store.ForgetPending(ctx, id); err != nil {
				return 0, fmt.Errorf("sweep: %w", err)
			}
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
		if m.Status != store.StatusQueued {
			// Claimed at least once: its task exists (or it ended); a message
			// whose outcome at the provider is unknown is not sent blindly again.
			if err := w.store.ForgetPending(ctx, id); err != nil {
				return 0, fmt.Errorf("sweep: %w", err)
			}
			continue
		}
		if err := w.dispatch.Enqueue(ctx, m.ID, m.Priority); err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
		n++
	}
	return n, nil
}

// asynqLogger routes asynq's own logging into slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
