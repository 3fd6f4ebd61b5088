package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"sandesh/store"
)

// ErrExpired: a dead message that was valid for minutes only (an OTP)
// cannot be retried once they are over.
var ErrExpired = errors.New("the message has expired")

// DeadLetters lists up to limit SMS the gateway gave up on, newest first,
// and how many there are in all (store.DeadLetter).
func (g *Gateway) DeadLetters(ctx context.Context, limit int64) ([]store.DeadLetter, int64, error) {
	list, total, err := g.store.DeadLetters(ctx, limit)
	if err != nil {
		return nil, 0, storeErr("dead letters", err)
	}
	return list, total, nil
}

// RetryDeadLetter tries a dead letter again for an administrator, after
// the cause was fixed: a debt is owed again and the sweeper pays it within
// its next run; a message is sent again as a new message, queued now, whose
// id is returned. The retry is audited. ErrNotFound when the dead letter
// is gone (retried already); ErrExpired for an expired message.
func (g *Gateway) RetryDeadLetter(ctx context.Context, who Caller, id string) (string, error) {
	d, err := g.store.DeadLetter(ctx, id)
	if err != nil {
		return "", storeErr("retry dead letter", err)
	}
	msgID, err := g.store.RetryDeadLetter(ctx, id)
	switch {
	case errors.Is(err, store.ErrRetried):
		return "", fmt.Errorf("retry dead letter: %w", ErrNotFound)
	case errors.Is(err, store.ErrExpired):
		return "", fmt.Errorf("retry dead letter: %w", ErrExpired)
	case err != nil:
		return "", storeErr("retry dead letter", err)
	}
	if msgID != "" {
		m, err := g.store.Message(ctx, msgID)
		if err != nil {
			// Recorded pending: the sweeper queues it if this does not.
			g.log.Error("retried message not queued now; the sweeper will", "message_id", msgID, "err", err)
		} else {
			g.dispatch.Queue(ctx, msgID, m.Priority)
		}
	}
	g.audit(ctx, who, auditNote{action: "dead_letter_retried", target: d.ID, mobile: d.To,
		detail: fmt.Sprintf("%s %s (%s)", d.Kind, cmp.Or(d.Template, d.Ref), d.Reason)})
	return msgID, nil
}
