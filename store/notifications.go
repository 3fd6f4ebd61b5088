package store

import (
	"context"
	"fmt"
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

// ReplyNotification names the answer owed to an inbound SMS.
func ReplyNotification(inboundID string) string { return "reply:" + inboundID }

// ConfirmationNotification names the confirmation owed for a dose, to be
// recorded under messageID: whoever pays the debt — the request, its
// replay, a sweeper — records the same message, so none can send it twice.
func ConfirmationNotification(beneficiaryID, certificateID, messageID string) string {
	return "dose:" + beneficiaryID + ":" + certificateID + ":" + messageID
}

// ParseNotification splits a notification into its kind and ids.
func ParseNotification(n string) (kind string, ids []string) {
	parts := strings.Split(n, ":")
	return parts[0], parts[1:]
}

// NotificationQueued clears a debt once its SMS is queued.
func (s *Store) NotificationQueued(ctx context.Context, n string) error {
	shard, err := s.notificationShard(ctx, n)
	if err != nil {
		return fmt.Errorf("notification queued: %w", err)
	}
	if err := s.rdb.ZRem(ctx, s.notificationsKey(shard), n).Err(); err != nil {
		return fmt.Errorf("notification queued: %w", err)
	}
	return nil
}

// OwedBefore lists up to limit notifications owed since before t.
func (s *Store) OwedBefore(ctx context.Context, t time.Time, limit int64) ([]string, error) {
	ns, err := s.oldestInShards(ctx, s.notificationsKey, scoreUpTo(t), limit)
	if err != nil {
		return nil, fmt.Errorf("owed notifications: %w", err)
	}
	return ns, nil
}

// claimNotificationScript leases a debt still due (score ≤ ARGV[2]) to one
// sweeper by moving its score to ARGV[3]: a sweeper that dies before the
// SMS is queued leaves it to be swept again after the lease.
var claimNotificationScript = redis.NewScript(`
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`)

// ClaimNotification leases a debt owed since before cutoff to one sweeper
// for lease; false when another took it first. The sweeper clears it with
// NotificationQueued once the SMS is queued.
func (s *Store) ClaimNotification(ctx context.Context, n string, cutoff time.Time, lease time.Duration) (bool, error) {
	shard, err := s.notificationShard(ctx, n)
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", err)
	}
	ok, err := claimNotificationScript.Run(ctx, s.rdb, []string{s.notificationsKey(shard)},
		n, cutoff.UnixMilli(), s.now().Add(lease).UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", err)
	}
	return ok == 1, nil
}
