package gateway

import (
	"context"
	"errors"
	"time"

	"sandesh/store"
)

// owedAfter is how long an owed SMS may wait for the request that owes it
// before a sweeper sends it instead: longer than any request may run (the
// server's 30 s write timeout), so that a slow request and a sweeper do not
// both send it.
const owedAfter = 40 * time.Second

// sweepLease is how long a sweeper holds a debt before another may try.
const sweepLease = 2 * time.Minute

// SweepNotifications sends the SMS owed since before olderThan whose
// request died before queuing them. Safe to run in many processes: each
// debt is leased to one, and cleared only once its SMS is queued.
func (g *Gateway) SweepNotifications(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := g.now().Add(-olderThan)
	owed, err := g.store.OwedBefore(ctx, cutoff, 100)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, n := range owed {
		ok, err := g.store.ClaimNotification(ctx, n, cutoff, sweepLease)
		if err != nil {
			return sent, err
		}
		if !ok {
			continue
		}
		due, err := g.payDebt(ctx, n)
		if err != nil {
			g.debtFailed(ctx, n, err)
			continue
		}
		if !due {
			if err := g.store.NotificationQueued(ctx, n); err != nil {
				return sent, err
			}
			continue
		}
		sent++
		g.log.Warn("sent an SMS its request had left owed", "notification", n)
	}
	return sent, nil
}

// debtFailed counts a failed payment of debt n: it is tried again after
// the lease, until it fails store.MaxDebtTries times, or at once when it
// cannot render, and then listed as a dead letter for an admin.
func (g *Gateway) debtFailed(ctx context.Context, n string, err error) {
	dead, derr := g.store.DebtFailed(ctx, n, err.Error(), errors.Is(err, errRender))
	switch {
	case derr != nil:
		g.log.Error("owed SMS not sent; will retry after the lease", "notification", n, "err", err, "count_err", derr)
	case dead:
		g.log.Error("owed SMS failed for good: listed as a dead letter", "notification", n, "err", err)
	default:
		g.log.Error("owed SMS not sent; will retry after the lease", "notification", n, "err", err)
	}
}

// payDebt queues what notification n owes, clearing the debt in the same
// step; due is false when nothing is owed any more (a slip for an
// appointment since cancelled), and the debt is left for the caller.
func (g *Gateway) payDebt(ctx context.Context, n string) (bool, error) {
	if kind, ids := store.ParseNotification(n); kind == "reply" && len(ids) == 1 {
		return g.answerOwed(ctx, ids[0], n)
	}
	out, due, err := g.owedMessage(ctx, n)
	if err != nil || !due {
		return false, err
	}
	if _, err := g.sendSettling(ctx, n, out); err != nil {
		return false, err
	}
	return true, nil
}

// owedMessage rebuilds an owed SMS from the records; due is false when it
// is no longer owed (a slip for an appointment since cancelled).
func (g *Gateway) owedMessage(ctx context.Context, n string) (Outgoing, bool, error) {
	kind, ids := store.ParseNotification(n)
	switch {
	case (kind == "slip" || kind == "cancel") && len(ids) == 1:
		a, err := g.store.Appointment(ctx, ids[0])
		if errors.Is(err, store.ErrNotFound) {
			return Outgoing{}, false, nil
		}
		if err != nil {
			return Outgoing{}, false, err
		}
		want := map[string]store.AppointmentStatus{"slip": store.AppointmentBooked, "cancel": store.AppointmentCancelled}[kind]
		if a.Status != want {
			return Outgoing{}, false, nil
		}
		b, err := g.store.Beneficiary(ctx, a.BeneficiaryID)
		if err != nil {
			return Outgoing{}, false, err
		}
		c, err := g.store.KnownCenter(ctx, a.CenterID)
		if err != nil {
			return Outgoing{}, false, err
		}
		if kind == "cancel" {
			return g.cancellation(b, c, a), true, nil
		}
		code, err := g.store.SecurityCode(ctx, a.ID)
		if err != nil {
			return Outgoing{}, false, err
		}
		return g.slip("appointment_slip", b, c, a, code), true, nil
	case kind == "dose" && (len(ids) == 2 || len(ids) == 3):
		b, err := g.store.Beneficiary(ctx, ids[0])
		if errors.Is(err, store.ErrNotFound) {
			return Outgoing{}, false, nil
		}
		if err != nil {
			return Outgoing{}, false, err
		}
		for _, d := range b.Doses {
			if d.CertificateID == ids[1] {
				o := g.confirmation(b, d, VaccinationStatus(b.Doses[:d.Number]))
				if len(ids) == 3 {
					o.ID = ids[2] // reserved by the dose's step
				}
				return o, true, nil
			}
		}
		return Outgoing{}, false, nil
	}
	g.log.Error("unknown notification dropped", "notification", n)
	return Outgoing{}, false, nil
}

// RunNotificationSweeper sweeps every interval until ctx ends: one web
// process an interval, however many there are (store.TakeTurn).
func (g *Gateway) RunNotificationSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			turn, err := g.store.TakeTurn(ctx, "notifications", g.runner, every)
			if err != nil && ctx.Err() == nil {
				g.log.Error("notification sweep", "err", err)
			}
			if !turn {
				continue
			}
			if _, err := g.SweepNotifications(ctx, owedAfter); err != nil && ctx.Err() == nil {
				g.log.Error("notification sweep", "err", err)
			}
		}
	}
}
