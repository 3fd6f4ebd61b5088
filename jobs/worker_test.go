package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
	"sandesh/providers"
	"sandesh/providers/twilio"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/reminders"
	"sandesh/store"
)

const testDB = 2

type rig struct {
	rdb      *redis.Client
	conn     asynq.RedisConnOpt
	store    *store.Store
	client   *asynq.Client
	dispatch *Dispatcher
	doubles  []*twiliotest.Server
	router   *providers.Router
}

// newRig wires store → queue → worker → router → n Twilio doubles over a
// real Redis connection.
func newRig(t *testing.T, n int, ropts providers.RouterOptions) *rig {
	t.Helper()
	return newRigTB(t, n, ropts)
}

func newRigTB(t testing.TB, n int, ropts providers.RouterOptions) *rig {
	t.Helper()
	rdb := redistest.New(t, testDB)
	o := rdb.Options()
	conn := asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB, Password: o.Password}
	st, err := store.New(rdb, store.Options{Secret: []byte("test-secret-test-secret-test-secret")})
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(conn)
	t.Cleanup(func() { client.Close() })
	r := &rig{rdb: rdb, conn: conn, store: st, client: client, dispatch: NewDispatcher(st, client, nil)}
	var ps []providers.Provider
	for i := range n {
		d := twiliotest.NewServer(t)
		p, err := twilio.New(twilio.Config{
			Name: fmt.Sprintf("p%d", i+1), AccountSID: d.AccountSID, AuthToken: d.AuthToken,
			From: "+15005550006", BaseURL: d.URL, PublicURL: "https://sms.example.org",
			Timeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		r.doubles = append(r.doubles, d)
		ps = append(ps, p)
	}
	ropts.Redis, ropts.Prefix = rdb, "sandesh:"
	r.router, err = providers.NewRouter(ps, ropts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) worker(opts WorkerOptions) *Worker {
	return NewWorker(r.conn, r.store, r.router, r.dispatch, opts)
}

// started runs a worker until the test ends.
func (r *rig) started(t *testing.T, opts WorkerOptions) *Worker {
	t.Helper()
	w := r.worker(opts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	return w
}

func (r *rig) queue(t *testing.T, to string, p store.Priority) store.Message {
	t.Helper()
	m, err := r.dispatch.Dispatch(context.Background(), store.NewMessage{
		To: to, Template: "security_code", Language: "en",
		Body: "Your CoWIN security code is 4821", Masked: "Your CoWIN security code is ****",
		Encoding: "GSM-7", Segments: 1, Priority: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sendTask(id string) *asynq.Task {
	b, _ := json.Marshal(sendPayload{MessageID: id})
	return asynq.NewTask(TypeSend, b)
}

func (r *rig) status(t *testing.T, id string) store.Message {
	t.Helper()
	m, err := r.store.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSendReachesFirstProvider(t *testing.T) {
	r := newRig(t, 2, providers.RouterOptions{})
	w := r.worker(WorkerOptions{})
	m := r.queue(t, "+919876543210", store.PriorityTransactional)
	if err := w.ProcessSend(context.Background(), sendTask(m.ID)); err != nil {
		t.Fatal(err)
	}
	got := r.status(t, m.ID)
	if got.Status != store.StatusSent || got.Provider != "p1" || got.ProviderMessageID == "" {
		t.Fatalf("message = %+v", got)
	}
	msgs := r.doubles[0].Messages()
	if len(msgs) != 1 || msgs[0].Body != "Your CoWIN security code is 4821" || msgs[0].To != "+919876543210" {
		t.Fatalf("double got %+v", msgs)
	}
	if want := twilio.StatusCallbackURL("https://sms.example.org", "p1", m.ID); msgs[0].StatusCallback != want {
		t.Fatalf("status callback %q, want %q", msgs[0].StatusCallback, want)
	}
	if r.doubles[1].Calls() != 0 {
		t.Fatal("second provider was called")
	}
	// The same task again (at-least-once delivery) sends nothing new.
	if err := w.ProcessSend(context.Background(), sendTask(m.ID)); err != nil {
		t.Fatal(err)
	}
	if n := r.doubles[0].Count(); n != 1 {
		t.Fatalf("double has %d messages after a repeated task, want 1", n)
	}
}

func TestFailoverAndBreaker(t *testing.T) {
	r := newRig(t, 2, providers.RouterOptions{Failures: 3, OpenFor: time.Minute})
	r.doubles[0].Respond(twiliotest.FailAll(500, 20500))
	w := r.worker(WorkerOptions{})
	const n = 10
	for range n {
		m := r.queue(t, "+919876543210", store.PriorityTransactional)
		if err := w.ProcessSend(context.Background(), sendTask(m.ID)); err != nil {
			t.Fatal(err)
		}
		if got := r.status(t, m.ID); got.Status != store.StatusSent || got.Provider != "p2" {
			t.Fatalf("message = %s via %q, want sent via p2", got.Status, got.Provider)
		}
	}
	if c := r.doubles[0].Calls(); c != 3 {
		t.Fatalf("first provider called %d times, want 3 (then its breaker is open)", c)
	}
	if c := r.doubles[1].Count(); c != n {
		t.Fatalf("second provider accepted %d, want %d", c, n)
	}
	states := r.router.States(context.Background())
	if states[0].State != "open" || states[1].State != "closed" {
		t.Fatalf("breakers = %+v", states)
	}
}

func TestBreakerOpenIsSharedBetweenWorkers(t *testing.T) {
	r := newRig(t, 2, providers.RouterOptions{Failures: 2, OpenFor: time.Minute, SharedRefresh: time.Millisecond})
	r.doubles[0].Respond(twiliotest.FailAll(503, 0))
	w := r.worker(WorkerOptions{})
	for range 2 {
		m := r.queue(t, "+919876543210", store.PriorityTransactional)
		if err := w.ProcessSend(context.Background(), sendTask(m.ID)); err != nil {
			t.Fatal(err)
		}
	}
	// A second process: its own router over the same providers and Redis.
	other := newRigSharing(t, r)
	deadline := time.Now().Add(2 * time.Second)
	for other.States(context.Background())[0].State != "open" {
		if time.Now().After(deadline) {
			t.Fatal("the other process never saw the breaker open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := r.doubles[0].Calls()
	w2 := NewWorker(r.conn, r.store, other, r.dispatch, WorkerOptions{})
	m := r.queue(t, "+919876543210", store.PriorityTransactional)
	if err := w2.ProcessSend(context.Background(), sendTask(m.ID)); err != nil {
		t.Fatal(err)
	}
	if r.doubles[0].Calls() != before {
		t.Fatal("the other process still called the open provider")
	}
	if got := r.status(t, m.ID); got.Provider != "p2" {
		t.Fatalf("sent via %q, want p2", got.Provider)
	}
}

func newRigSharing(t *testing.T, r *rig) *providers.Router {
	t.Helper()
	var ps []providers.Provider
	for i, d := range r.doubles {
		p, err := twilio.New(twilio.Config{
			Name: fmt.Sprintf("p%d", i+1), AccountSID: d.AccountSID, AuthToken: d.AuthToken,
			From: "+15005550006", BaseURL: d.URL, PublicURL: "https://sms.example.org",
		})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	rt, err := providers.NewRouter(ps, providers.RouterOptions{Failures: 2, OpenFor: time.Minute,
		Redis: r.rdb, Prefix: "sandesh:", SharedRefresh: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestPermanentErrorFailsAtOnce(t *testing.T) {
	r := newRig(t, 2, providers.RouterOptions{})
	r.doubles[0].Respond(twiliotest.FailAll(400, 21211))
	w := r.worker(WorkerOptions{})
	m := r.queue(t, "+919876543210", store.PriorityTransactional)
	err := w.ProcessSend(context.Background(), sendTask(m.ID))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want SkipRetry", err)
	}
	got := r.status(t, m.ID)
	if got.Status != store.StatusFailed || got.ErrorCode != "21211" || got.Provider != "p1" {
		t.Fatalf("message = %s code %q provider %q", got.Status, got.ErrorCode, got.Provider)
	}
	if r.doubles[1].Calls() != 0 {
		t.Fatal("a permanent error was tried on the second provider")
	}
	// Failed for good, so listed for an admin to retry after a fix.
	if dead := r.deadLetters(t); len(dead) != 1 || dead[0].Ref != m.ID || dead[0].Reason != "21211" {
		t.Fatalf("dead letters %+v, want the failed message", dead)
	}
}

// deadLetters lists the store's dead letters.
func (r *rig) deadLetters(t *testing.T) []store.DeadLetter {
	t.Helper()
	list, _, err := r.store.DeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestTemporaryErrorIsRetried(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	r.doubles[0].Respond(twiliotest.FailFirst(1, twiliotest.Failure{Status: 500, Code: 20500}))
	r.started(t, WorkerOptions{})
	m := r.queue(t, "+919876543210", store.PriorityOTP)
	r.doubles[0].WaitCount(t, 1, 10*time.Second)
	waitStatus(t, r, m.ID, store.StatusSent)
	if got := r.status(t, m.ID); got.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2", got.Attempts)
	}
}

func TestExpiredOTPIsNotSent(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	w := r.worker(WorkerOptions{})
	m, err := r.dispatch.Dispatch(context.Background(), store.NewMessage{
		To: "+919876543210", Template: "kyvs_otp", Body: "OTP 123456", Masked: "OTP ****",
		Encoding: "GSM-7", Segments: 1, Priority: store.PriorityOTP, ValidFor: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := w.ProcessSend(context.Background(), sendTask(m.ID)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v", err)
	}
	if got := r.status(t, m.ID); got.Status != store.StatusFailed || got.ErrorCode != "expired" {
		t.Fatalf("message = %s %q", got.Status, got.ErrorCode)
	}
	if r.doubles[0].Calls() != 0 {
		t.Fatal("an expired OTP was sent")
	}
	if dead := r.deadLetters(t); len(dead) != 0 {
		t.Fatalf("an expired OTP is a dead letter: %+v", dead)
	}
}

func waitStatus(t *testing.T, r *rig, id string, want store.Status) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.status(t, id).Status != want {
		if time.Now().After(deadline) {
			t.Fatalf("message %s is %s, want %s", id, r.status(t, id).Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A worker dies after the send; its task comes back to a fresh worker (a
// second asynq server). The SMS must not go out twice.
func TestRestartedWorkerDoesNotResend(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	first := r.worker(WorkerOptions{})
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	m := r.queue(t, "+919876543210", store.PriorityTransactional)
	waitStatus(t, r, m.ID, store.StatusSent)
	first.Shutdown()

	// The task is delivered again, as after a lost acknowledgement.
	if err := r.dispatch.Enqueue(context.Background(), m.ID, m.Priority); err != nil {
		t.Fatal(err)
	}
	second := r.worker(WorkerOptions{})
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer second.Shutdown()
	insp := asynq.NewInspector(r.conn)
	defer insp.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := insp.GetQueueInfo(string(store.PriorityTransactional))
		if err == nil && info.Pending == 0 && info.Active == 0 && info.Processed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second worker did not process the task: %+v %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := r.doubles[0].Count(); n != 1 {
		t.Fatalf("the SMS went out %d times", n)
	}
}

func TestOTPNotStuckBehindBulkBacklog(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	ctx := context.Background()
	const backlog = 10000
	for i := range backlog {
		m, err := r.store.CreateMessage(ctx, store.NewMessage{
			To: fmt.Sprintf("+9198%08d", i), Template: "kw_help", Body: "Send STATUS, SLIP, CODE",
			Encoding: "GSM-7", Segments: 1, Priority: store.PriorityBulk,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.dispatch.Enqueue(ctx, m.ID, m.Priority); err != nil {
			t.Fatal(err)
		}
	}
	otp, err := r.dispatch.Dispatch(ctx, store.NewMessage{
		To: "+919876543210", Template: "kyvs_otp", Body: "OTP 123456", Masked: "OTP ****",
		Encoding: "GSM-7", Segments: 1, Priority: store.PriorityOTP, ValidFor: 3 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.started(t, WorkerOptions{Concurrency: map[store.Priority]int{store.PriorityBulk: 4}})
	waitStatus(t, r, otp.ID, store.StatusSent)
	sentBefore := -1
	for i, m := range r.doubles[0].Messages() {
		if m.To == "+919876543210" {
			sentBefore = i
		}
	}
	if sentBefore < 0 || sentBefore > 500 {
		t.Fatalf("the OTP went out after %d bulk messages", sentBefore)
	}
	info, err := asynq.NewInspector(r.conn).GetQueueInfo(string(store.PriorityBulk))
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending < backlog/2 {
		t.Fatalf("only %d bulk pending when the OTP was sent: the test did not have a backlog", info.Pending)
	}
}

func TestSweeperReenqueuesLostTask(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	// Recorded, but its enqueue never happened (a crash in between).
	m, err := r.store.CreateMessage(context.Background(), store.NewMessage{
		To: "+919876543210", Template: "kw_help", Body: "HELP", Encoding: "GSM-7", Segments: 1,
		Priority: store.PriorityTransactional,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := r.started(t, WorkerOptions{})
	if n, err := w.SweepOnce(context.Background(), time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	waitStatus(t, r, m.ID, store.StatusSent)
	// Once sent it is no longer pending: a second sweep finds nothing.
	if n, err := w.SweepOnce(context.Background(), time.Now().Add(time.Second)); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v", n, err)
	}
}

func TestRateCapMakesMessagesWaitNotFail(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{TPS: map[string]int{"p1": 2}})
	r.started(t, WorkerOptions{})
	var ids []string
	for range 5 {
		ids = append(ids, r.queue(t, "+919876543210", store.PriorityTransactional).ID)
	}
	start := time.Now()
	for _, id := range ids {
		waitStatus(t, r, id, store.StatusSent)
	}
	// 5 one-segment messages at 2 per second cannot all go in the first second.
	if el := time.Since(start); el < time.Second {
		t.Fatalf("5 messages under a 2/s cap all went out in %v", el)
	}
	for _, id := range ids {
		if m := r.status(t, id); m.ErrorCode != "" {
			t.Fatalf("message %s carries error %q: waiting under the cap is not a failure", id, m.ErrorCode)
		}
	}
	if n := r.doubles[0].Calls(); n != 5 {
		t.Fatalf("double saw %d requests, want 5 (waiting messages must not reach it)", n)
	}
}

// otpWithOneRetry stores an OTP and queues the task the dispatcher makes
// for it, with a budget of one retry.
func (r *rig) otpWithOneRetry(t *testing.T) store.Message {
	t.Helper()
	m, err := r.store.CreateMessage(context.Background(), store.NewMessage{
		To: "+919876543210", Template: "kyvs_otp", Body: "OTP 123456", Masked: "OTP ****",
		Encoding: "GSM-7", Segments: 1, Priority: store.PriorityOTP, ValidFor: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Enqueue(sendTask(m.ID), asynq.TaskID(m.ID), asynq.Queue(string(m.Priority)), asynq.MaxRetry(1)); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExhaustedRetriesEndFailedWithLastCode(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{Failures: 100})
	r.doubles[0].Respond(twiliotest.FailAll(503, 20503))
	r.started(t, WorkerOptions{})
	m := r.otpWithOneRetry(t)
	waitStatus(t, r, m.ID, store.StatusFailed)
	got := r.status(t, m.ID)
	if got.ErrorCode != "20503" || got.Attempts != 2 {
		t.Fatalf("failed with code %q after %d attempts, want 20503 after 2", got.ErrorCode, got.Attempts)
	}
	if dead := r.deadLetters(t); len(dead) != 0 {
		t.Fatalf("an OTP is a dead letter (stale in minutes; a count would tell a KYVS match): %+v", dead)
	}
	if n := r.doubles[0].Calls(); n != 2 {
		t.Fatalf("provider called %d times, want 2", n)
	}
}

// With its only provider's breaker open, a message waits for the breaker
// to let a trial through instead of spending its retries: here its task
// has one retry left and the breaker stays open longer than the retry
// delay, yet the message is sent once the provider is back.
func TestOpenBreakerMakesMessagesWaitNotFail(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{Failures: 1, OpenFor: 2 * time.Second})
	r.doubles[0].Respond(twiliotest.FailFirst(1, twiliotest.Failure{Status: 503, Code: 20503}))
	r.started(t, WorkerOptions{})
	m := r.otpWithOneRetry(t)
	waitStatus(t, r, m.ID, store.StatusSent)
	if n := r.doubles[0].Calls(); n != 2 {
		t.Fatalf("provider called %d times, want 2: the failure, then the trial after open_for", n)
	}
}

// A message waiting under the rate cap on its task's last retry must not be
// archived with the task (asynq does not consult IsFailure then).
func TestWaitOnLastRetryStillSends(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{TPS: map[string]int{"p1": 1}})
	r.started(t, WorkerOptions{})
	var ids []string
	for range 3 {
		m, err := r.store.CreateMessage(context.Background(), store.NewMessage{
			To: "+919876543210", Template: "kw_help", Body: "HELP", Encoding: "GSM-7", Segments: 1,
			Priority: store.PriorityTransactional,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.client.Enqueue(sendTask(m.ID), asynq.TaskID(m.ID), asynq.Queue(string(m.Priority)), asynq.MaxRetry(0)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		waitStatus(t, r, id, store.StatusSent)
	}
	if n := r.doubles[0].Count(); n != 3 {
		t.Fatalf("double accepted %d, want 3", n)
	}
}

// The provider took the SMS but the task's context ended before we wrote it
// down: it must still be recorded as sent, and a sweep must not resend it.
func TestSentIsRecordedAfterTheTaskContextEnds(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancelling := cancelAfterSend{Sender: r.router, cancel: cancel}
	w := NewWorker(r.conn, r.store, cancelling, r.dispatch, WorkerOptions{})
	m := r.queue(t, "+919876543210", store.PriorityTransactional)
	if err := w.ProcessSend(ctx, sendTask(m.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.status(t, m.ID); got.Status != store.StatusSent {
		t.Fatalf("message is %s, want sent", got.Status)
	}
	if n, err := w.SweepOnce(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep re-enqueued %d (%v), want 0", n, err)
	}
	if n := r.doubles[0].Count(); n != 1 {
		t.Fatalf("double accepted %d, want 1", n)
	}
}

// cancelAfterSend ends the task's context right after a successful send, as
// a deadline or a shutdown would.
type cancelAfterSend struct {
	Sender
	cancel func()
}

func (c cancelAfterSend) Send(ctx context.Context, m providers.Outbound) (providers.Receipt, error) {
	rec, err := c.Sender.Send(ctx, m)
	c.cancel()
	return rec, err
}

// TestRemindersWaitForTheirHours: a due-dose reminder claimed outside
// reminders.hours waits for them to open, spending no retry, while other
// messages go at once.
func TestRemindersWaitForTheirHours(t *testing.T) {
	r := newRig(t, 1, providers.RouterOptions{})
	hours, err := reminders.ParseWindow("09:00-21:00")
	if err != nil {
		t.Fatal(err)
	}
	// The worker's clock reads two seconds before the hours open, and runs on.
	const before = 2 * time.Second
	opening := time.Date(2027, 2, 14, 9, 0, 0, 0, time.UTC)
	began := time.Now()
	r.started(t, WorkerOptions{ReminderHours: &hours, Location: time.UTC,
		Now: func() time.Time { return opening.Add(-before + time.Since(began)) }})

	reminder, err := r.dispatch.Dispatch(context.Background(), store.NewMessage{
		To: "+919876543210", Template: "dose_due", Language: "en", Body: "Priya: dose 2 of COVAXIN is due from 14/02.",
		Encoding: "GSM-7", Segments: 1, Priority: store.PriorityBulk,
	})
	if err != nil {
		t.Fatal(err)
	}
	code := r.queue(t, "+919876543211", store.PriorityBulk)
	waitStatus(t, r, code.ID, store.StatusSent)
	waitStatus(t, r, reminder.ID, store.StatusSent)
	sentAt := func(id string) time.Time {
		at, err := time.Parse(time.RFC3339Nano, r.status(t, id).StatusTimes[store.StatusSent])
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := sentAt(reminder.ID); at.Before(began.Add(before)) {
		t.Errorf("the reminder went %v after start, before the hours opened at %v", at.Sub(began), before)
	}
	if !sentAt(code.ID).Before(sentAt(reminder.ID)) {
		t.Error("the other message waited for the reminder's hours")
	}
	if m := r.status(t, reminder.ID); m.ErrorCode != "" {
		t.Errorf("the reminder carries error %q: waiting for the hours is no failure", m.ErrorCode)
	}
	if n := r.doubles[0].Calls(); n != 2 {
		t.Errorf("the provider saw %d requests, want 2", n)
	}
}
