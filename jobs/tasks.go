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

	"sandesh/store"
)

// TypeSend is the one task type: send the stored message whose id it carries.
const TypeSend = "sms:send"

type sendPayload struct {
	MessageID string `json:"message_id"`
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
	store  *store.Store
	client *asynq.Client
	log    *slog.Logger
	// retrying bounds the enqueues retried in the background at once.
	retrying chan struct{}
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
	return &Dispatcher{store: st, client: client, log: log, retrying: make(chan struct{}, 1000)}
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

// Enqueue queues the send task of an existing message. The task id is the
// message id, so enqueuing twice yields one task.
func (d *Dispatcher) Enqueue(ctx context.Context, id string, p store.Priority) error {
	return d.enqueue(ctx, id, id, p)
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
		asynq.Queue(string(p)),
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
