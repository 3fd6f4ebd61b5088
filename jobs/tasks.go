// Package jobs moves stored messages to providers through asynq: task types,
// queues, retry policy and the send handler.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/internal/groupcommit"
	"sandesh/store"
)

// Task types. A message travels alone (TypeSend: OTPs always, a message
// handed back from a batch, one queued when nothing else was) or with
// others queued in the same moment (TypeBatch), so asynq's cost per task —
// enqueue, dequeue, done — is paid once per batch.
const (
	TypeSend  = "sms:send"
	TypeBatch = "sms:batch"
)

type sendPayload struct {
	MessageID string `json:"message_id"`
}

type batchPayload struct {
	Priority   store.Priority `json:"priority"`
	MessageIDs []string       `json:"message_ids"`
}

// Batching of enqueues (see groupcommit): at most two enqueues in flight
// per lane, each carrying up to batchMax messages. Under load a batch holds
// what arrived during one enqueue's round trip; when idle a message goes at
// once, alone.
const (
	batchFlights = 2
	batchMax     = 64
)

// taskMessages reads the messages a send task carries, of either type, and
// the lane of a batch.
func taskMessages(typ string, payload []byte) ([]string, store.Priority, error) {
	switch typ {
	case TypeSend:
		var p sendPayload
		if err := json.Unmarshal(payload, &p); err != nil || p.MessageID == "" {
			return nil, "", fmt.Errorf("bad %s payload", typ)
		}
		return []string{p.MessageID}, "", nil
	case TypeBatch:
		var p batchPayload
		if err := json.Unmarshal(payload, &p); err != nil || len(p.MessageIDs) == 0 || !p.Priority.Valid() {
			return nil, "", fmt.Errorf("bad %s payload", typ)
		}
		return p.MessageIDs, p.Priority, nil
	}
	return nil, "", fmt.Errorf("unknown task type %q", typ)
}

// maxRetry per queue. OTPs also stop at their validity, whichever comes first.
var maxRetry = map[store.Priority]int{
	store.PriorityOTP:           30,
	store.PriorityTransactional: 15,
	store.PriorityBulk:          15,
}

// Dispatcher records a message and queues its send task, in that order, so
// a task always finds its record and a record never waits for nothing: the
// worker's sweeper re-enqueues one whose task was lost.
type Dispatcher struct {
	// Queues names the lanes' queues; set it (as the workers' Queues)
	// before the first enqueue.
	Queues Queues

	store  *store.Store
	client *asynq.Client
	log    *slog.Logger
	// retrying bounds the enqueues retried in the background at once.
	retrying chan struct{}
	// batches group the enqueues of the lanes that batch.
	batches map[store.Priority]*groupcommit.Committer[string]
}

// enqueueRetries are the pauses before each background retry of an
// enqueue that failed after its message was recorded (about 30 s in all;
// past them the worker's sweeper re-enqueues the message after 2 minutes).
var enqueueRetries = []time.Duration{200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second}

// NewDispatcher builds the enqueue side. The client is owned by the caller;
// log may be nil.
func NewDispatcher(st *store.Store, client *asynq.Client, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{store: st, client: client, log: log, retrying: make(chan struct{}, 1000),
		batches: map[store.Priority]*groupcommit.Committer[string]{}}
	for _, p := range []store.Priority{store.PriorityTransactional, store.PriorityBulk} {
		d.batches[p] = groupcommit.New(batchFlights, batchMax, func(ids []string) error { return d.enqueueBatch(p, ids) })
	}
	return d
}

// Dispatch stores nm as a queued message and enqueues its send task.
func (d *Dispatcher) Dispatch(ctx context.Context, nm store.NewMessage) (store.Message, error) {
	m, err := d.store.CreateMessage(ctx, nm)
	if err != nil {
		return store.Message{}, fmt.Errorf("dispatch: %w", err)
	}
	d.Queue(ctx, m.ID, m.Priority)
	return m, nil
}

// DispatchAll stores several messages in one step — clearing the debt they
// settle, when named — and enqueues their send tasks.
func (d *Dispatcher) DispatchAll(ctx context.Context, settle string, nms ...store.NewMessage) ([]store.Message, error) {
	ms, err := d.store.CreateMessages(ctx, settle, nms...)
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	for _, m := range ms {
		d.Queue(ctx, m.ID, m.Priority)
	}
	return ms, nil
}

// Queue enqueues the send task of a message already recorded (by Dispatch,
// or in the same step as the change that owes it). It reports nothing: the
// record is queued and pending, and reporting a failure would make callers
// send twice. A failed enqueue is retried for a while (Redis may be
// restarting); the worker's sweeper catches whatever is left.
func (d *Dispatcher) Queue(ctx context.Context, id string, p store.Priority) {
	if err := d.Enqueue(ctx, id, p); err != nil {
		d.log.Warn("enqueue failed; retrying", "message_id", id, "err", err)
		d.retryEnqueue(id, p)
	}
}

// QueueMany enqueues the send tasks of many messages recorded together
// (a reminder run's batch) on lane p, batchMax to a task, without waiting
// for other callers' batches. Like Queue it reports nothing: a chunk that
// cannot be enqueued is retried in the background, and the sweeper
// catches what is left.
func (d *Dispatcher) QueueMany(ctx context.Context, ids []string, p store.Priority) {
	if d.batches[p] == nil {
		for _, id := range ids {
			d.Queue(ctx, id, p)
		}
		return
	}
	for start := 0; start < len(ids); start += batchMax {
		chunk := ids[start:min(start+batchMax, len(ids))]
		if err := d.enqueueBatch(p, chunk); err != nil {
			d.log.Warn("enqueue failed; retrying", "messages", len(chunk), "err", err)
			for _, id := range chunk {
				d.retryEnqueue(id, p)
			}
		}
	}
}

func (d *Dispatcher) retryEnqueue(id string, p store.Priority) {
	select {
	case d.retrying <- struct{}{}:
	default:
		return // too many already: the sweeper's turn
	}
	go func() {
		defer func() { <-d.retrying }()
		for _, pause := range enqueueRetries {
			time.Sleep(pause)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := d.Enqueue(ctx, id, p)
			cancel()
			if err == nil {
				d.log.Info("enqueue retried", "message_id", id)
				return
			}
		}
		d.log.Warn("enqueue still failing; the sweeper will retry it", "message_id", id)
	}()
}

// Enqueue queues the send task of an existing message, in a batch with
// others queued at the same moment on its lane (OTPs always alone). A
// message queued alone has its id as task id, so enqueuing it twice yields
// one task; in a batch a second task may run, and finds it sent.
func (d *Dispatcher) Enqueue(ctx context.Context, id string, p store.Priority) error {
	if b := d.batches[p]; b != nil {
		return b.Do(id)
	}
	return d.enqueue(ctx, id, id, p)
}

// enqueueTimeout bounds one batch's enqueue: it carries many callers, so
// no one caller's context may cut it short.
const enqueueTimeout = 5 * time.Second

func (d *Dispatcher) enqueueBatch(p store.Priority, ids []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
	defer cancel()
	if len(ids) == 1 {
		return d.enqueue(ctx, ids[0], ids[0], p)
	}
	payload, err := json.Marshal(batchPayload{Priority: p, MessageIDs: ids})
	if err != nil {
		return fmt.Errorf("enqueue batch: %w", err)
	}
	// The queue of the first message's shard: which one carries a batch
	// matters only for spreading the load.
	_, err = d.client.EnqueueContext(ctx, asynq.NewTask(TypeBatch, payload),
		asynq.Queue(d.Queues.For(p, ids[0])), asynq.MaxRetry(maxRetry[p]), asynq.Timeout(taskTimeout))
	if err != nil {
		return fmt.Errorf("enqueue batch of %d: %w", len(ids), err)
	}
	return nil
}

// requeue queues a further task for a message whose running task must end
// without sending (it is on its last retry and has to wait). The running
// task still holds the message id, so the new one gets its own.
func (d *Dispatcher) requeue(ctx context.Context, id string, attempt int, p store.Priority, after time.Duration) error {
	return d.enqueue(ctx, fmt.Sprintf("%s~%d", id, attempt), id, p, asynq.ProcessIn(after))
}

func (d *Dispatcher) enqueue(ctx context.Context, taskID, id string, p store.Priority, extra ...asynq.Option) error {
	payload, err := json.Marshal(sendPayload{MessageID: id})
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", id, err)
	}
	opts := append([]asynq.Option{
		asynq.TaskID(taskID),
		asynq.Queue(d.Queues.For(p, id)),
		asynq.MaxRetry(maxRetry[p]),
		asynq.Timeout(taskTimeout),
	}, extra...)
	_, err = d.client.EnqueueContext(ctx, asynq.NewTask(TypeSend, payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", id, err)
	}
	return nil
}

// taskTimeout bounds one attempt, failover across every provider included.
const taskTimeout = 60 * time.Second
