package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A notification is an SMS the programme owes a citizen because of a
// change already made: the slip of a booking, the confirmation of a dose.
// The change and the debt are written in one step; the debt is cleared once
// the SMS is queued. A process that dies in between leaves the debt for
// SweepNotifications, so the SMS is late, never lost.

// SlipNotification names the slip owed for an appointment.
func SlipNotification(appointmentID string) string { return "slip:" + appointmentID }

// CancellationNotification names the SMS owed for a cancelled appointment.
func CancellationNotification(appointmentID string) string { return "cancel:" + appointmentID }

// ConfirmationNotification names the confirmation owed for a dose.
func ConfirmationNotification(beneficiaryID, certificateID string) string {
	return "dose:" + beneficiaryID + ":" + certificateID
}

// ParseNotification splits a notification into its kind and ids.
func ParseNotification(n string) (kind string, ids []string) {
	parts := strings.Split(n, ":")
	return parts[0], parts[1:]
}

// NotificationQueued clears a debt once its SMS is queued.
func (s *Store) NotificationQueued(ctx context.Context, n string) error {
	if err := s.rdb.ZRem(ctx, s.notificationsKey(), n).Err(); err != nil {
		return fmt.Errorf("notification queued: %w", err)
	}
	return nil
}

// OwedBefore lists up to limit notifications owed since before t.
func (s *Store) OwedBefore(ctx context.Context, t time.Time, limit int64) ([]string, error) {
	ns, err := s.rdb.ZRangeByScore(ctx, s.notificationsKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(t.UnixMilli(), 10), Count: limit,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("owed notifications: %w", err)
	}
	return ns, nil
}

// ClaimNotification takes a debt off the list for one sweeper; false when
// another took it first. A sweeper that fails gives it back with Owe.
func (s *Store) ClaimNotification(ctx context.Context, n string) (bool, error) {
	removed, err := s.rdb.ZRem(ctx, s.notificationsKey(), n).Result()
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", err)
	}
	return removed == 1, nil
}

// Owe puts a notification (back) on the list.
func (s *Store) Owe(ctx context.Context, n string) error {
	err := s.rdb.ZAdd(ctx, s.notificationsKey(), redis.Z{Score: float64(s.now().UnixMilli()), Member: n}).Err()
	if err != nil {
		return fmt.Errorf("owe notification: %w", err)
	}
	return nil
}
