package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"sandesh/internal/redistest"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(redistest.New(t, 1), Options{Secret: []byte("0123456789abcdef0123456789abcdef"), HistoryLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func queue(t *testing.T, s *Store, to string) Message {
	t.Helper()
	m, err := s.CreateMessage(context.Background(), NewMessage{
		To: to, Template: "security_code", Language: "en",
		Body: "Your code is 4821", Masked: "Your code is ****",
		Encoding: "GSM-7", Segments: 1, Priority: PriorityTransactional,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStatusOnlyMovesForward(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []Status
		want  Status
	}{
		{"happy path", []Status{StatusSending, StatusSent, StatusDelivered}, StatusDelivered},
		{"late sent after delivered", []Status{StatusSent, StatusDelivered, StatusSent}, StatusDelivered},
		{"delivery report overtakes hand-over", []Status{StatusDelivered, StatusSent}, StatusDelivered},
		{"no way back to queued", []Status{StatusSending, StatusQueued}, StatusSending},
		{"first outcome is final", []Status{StatusSent, StatusUndelivered, StatusDelivered}, StatusUndelivered},
		{"failed from queued", []Status{StatusFailed, StatusSent}, StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			ctx := context.Background()
			m := queue(t, s, "+919876543210")
			for _, st := range tc.steps {
				if _, err := s.Advance(ctx, m.ID, Update{Status: st}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Message(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want {
				t.Fatalf("status = %s, want %s", got.Status, tc.want)
			}
		})
	}
}

func TestAdvanceKeepsProviderWhenReportOvertakes(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	m := queue(t, s, "+919876543210")
	if _, err := s.Advance(ctx, m.ID, Update{Status: StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	changed, err := s.Advance(ctx, m.ID, Update{Status: StatusSent, Provider: "primary", ProviderMessageID: "SM123"})
	if err != nil || changed {
		t.Fatalf("changed=%v err=%v, want no change", changed, err)
	}
	got, _ := s.Message(ctx, m.ID)
	if got.Provider != "primary" || got.ProviderMessageID != "SM123" || got.Status != StatusDelivered {
		t.Fatalf("got %+v", got)
	}
	id, err := s.MessageIDByProvider(ctx, "primary", "SM123")
	if err != nil || id != m.ID {
		t.Fatalf("by provider id = %q, %v", id, err)
	}
}

func TestClaim(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	m := queue(t, s, "+919876543210")

	got, res, err := s.Claim(ctx, m.ID, "w1", time.Minute)
	if err != nil || res != Claimed {
		t.Fatalf("first claim: %v %v", res, err)
	}
	if got.SendBody() != "Your code is 4821" || got.Body != "Your code is ****" {
		t.Fatalf("bodies: send %q shown %q", got.SendBody(), got.Body)
	}
	if got.Status != StatusSending || got.Attempts != 1 {
		t.Fatalf("after claim: %s attempts %d", got.Status, got.Attempts)
	}
	if _, res, _ := s.Claim(ctx, m.ID, "w1", time.Minute); res != Busy {
		t.Fatalf("second claim while leased = %v, want Busy", res)
	}
	// A worker that vouches none of its tasks is on the message takes its
	// own lease as stale; another worker's lease it still respects.
	if _, res, _ := s.ClaimStale(ctx, m.ID, "w2", time.Minute); res != Busy {
		t.Fatalf("stale claim of another worker's lease = %v, want Busy", res)
	}
	if got, res, _ := s.ClaimStale(ctx, m.ID, "w1", time.Minute); res != Claimed || got.Attempts != 2 {
		t.Fatalf("stale claim of its own lease = %v (attempts %d), want Claimed as attempt 2", res, got.Attempts)
	}
	if err := s.Release(ctx, m.ID, "w1", "primary", "http_500"); err != nil {
		t.Fatal(err)
	}
	got, res, _ = s.Claim(ctx, m.ID, "w1", time.Minute)
	if res != Claimed || got.Attempts != 3 || got.ErrorCode != "http_500" {
		t.Fatalf("claim after release: %v attempts %d code %q", res, got.Attempts, got.ErrorCode)
	}
	if _, err := s.Advance(ctx, m.ID, Update{Status: StatusSent, Provider: "primary", ProviderMessageID: "SM1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Message(ctx, m.ID); got.ErrorCode != "" {
		t.Fatalf("a sent message still carries the error %q of a failed attempt", got.ErrorCode)
	}
	if _, res, _ := s.Claim(ctx, m.ID, "w1", time.Minute); res != AlreadyHandled {
		t.Fatalf("claim after sent = %v, want AlreadyHandled", res)
	}
	if _, _, err := s.Claim(ctx, "nosuchid", "w1", time.Minute); err != ErrNotFound {
		t.Fatalf("claim of unknown id: %v", err)
	}
}

// TestClaimStaleBatch claims messages in every state in one step: each
// answer is what ClaimStale would have said of that message alone.
func TestClaimStaleBatch(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	queued := queue(t, s, "+919876543210")
	ours := queue(t, s, "+919876543211")   // leased by w1 before: stale
	theirs := queue(t, s, "+919876543212") // leased by w2: busy
	sent := queue(t, s, "+919876543213")
	for _, c := range []struct{ id, worker string }{{ours.ID, "w1"}, {theirs.ID, "w2"}, {sent.ID, "w1"}} {
		if _, res, err := s.Claim(ctx, c.id, c.worker, time.Minute); err != nil || res != Claimed {
			t.Fatalf("set-up claim: %v %v", res, err)
		}
	}
	if _, err := s.Advance(ctx, sent.ID, Update{Status: StatusSent, Provider: "primary", ProviderMessageID: "SM1"}); err != nil {
		t.Fatal(err)
	}
	missing := newMessageID("100", time.Now())
	ids := []string{queued.ID, ours.ID, "not an id", theirs.ID, sent.ID, missing}
	got, err := s.ClaimStaleBatch(ctx, ids, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		res      ClaimResult
		err      error
		attempts int
	}{
		{Claimed, nil, 1}, {Claimed, nil, 2}, {0, ErrNotFound, 0}, {Busy, nil, 0}, {AlreadyHandled, nil, 0}, {0, ErrNotFound, 0},
	} {
		c := got[i]
		if c.ID != ids[i] || c.Err != want.err || (want.err == nil && c.Result != want.res) {
			t.Errorf("claim %d (%s): id %q result %v err %v, want %v %v", i, ids[i], c.ID, c.Result, c.Err, want.res, want.err)
			continue
		}
		if want.res == Claimed && want.err == nil {
			if c.Message.ID != ids[i] || c.Message.Status != StatusSending || c.Message.Attempts != want.attempts || c.Message.SendBody() != "Your code is 4821" {
				t.Errorf("claim %d: message %s %s attempts %d body %q", i, c.Message.ID, c.Message.Status, c.Message.Attempts, c.Message.SendBody())
			}
		}
	}
	// The claims took effect: the queued one is now busy for another worker.
	if _, res, _ := s.ClaimStale(ctx, queued.ID, "w2", time.Minute); res != Busy {
		t.Fatalf("claim after the batch claimed it = %v, want Busy", res)
	}
	if got, err := s.ClaimStaleBatch(ctx, []string{"bad"}, "w1", time.Minute); err != nil || got[0].Err != ErrNotFound {
		t.Fatalf("batch of no valid id: %+v %v", got, err)
	}
}

func TestSecretNeverStoredInClear(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	m := queue(t, s, "+919876543210")
	h, err := s.rdb.HGetAll(ctx, s.messageKey(m.ID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		// An id or a time in ms may hold the code's digits by chance.
		if k == "id" || strings.HasSuffix(k, "_at") || strings.HasPrefix(k, "t_") {
			continue
		}
		if strings.Contains(v, "4821") {
			t.Fatalf("field %s holds the code in clear: %q", k, v)
		}
	}
	// A sealed body copied onto another record does not open there.
	other := queue(t, s, "+919876543211")
	s.rdb.HSet(ctx, s.messageKey(other.ID), "body_sealed", h["body_sealed"])
	if _, _, err := s.Claim(ctx, other.ID, "w1", time.Minute); err == nil {
		t.Fatal("a body sealed for one message opened on another")
	}
}

func TestHistoryNewestFirstAndBounded(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	var ids []string
	for range 5 {
		ids = append(ids, queue(t, s, "+919876543210").ID)
	}
	queue(t, s, "+919999999999")
	got, err := s.MessagesByMobile(ctx, "+919876543210", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ids[4], ids[3], ids[2]}
	if len(got) != len(want) {
		t.Fatalf("history has %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i] {
			t.Fatalf("history[%d] = %s, want %s", i, got[i].ID, want[i])
		}
	}
}

func TestPendingUntilHandedOver(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := queue(t, s, "+919876543210")
	b := queue(t, s, "+919876543210")
	if _, err := s.Advance(ctx, a.ID, Update{Status: StatusSent}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.PendingBefore(ctx, time.Now().Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != b.ID {
		t.Fatalf("pending = %v, want [%s]", ids, b.ID)
	}
}

func TestRetentionTTL(t *testing.T) {
	s := newTestStore(t)
	m := queue(t, s, "+919876543210")
	ttl, err := s.rdb.TTL(context.Background(), s.messageKey(m.ID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 89*24*time.Hour || ttl > 90*24*time.Hour {
		t.Fatalf("ttl = %v, want about 90 days", ttl)
	}
}

// TestLongValuesKeepTheRecordCompact: a body longer than Redis's listpack
// limit is stored in pieces and read back whole — as shown, as sent, and
// sealed — and the record stays a compact listpack.
func TestLongValuesKeepTheRecordCompact(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, body := range []string{
		"",
		strings.Repeat("x", chunkBytes),
		strings.Repeat("y", chunkBytes+1),
		"आशा पाटील: COVISHIELD खुराक 2 दर्ज। प्रमाणपत्र 1234567890123। स्थिति पूर्ण टीकाकरण। यह SMS प्रमाणपत्र का सबूत है। कोड 4821",
	} {
		nm := NewMessage{To: "+919876543210", Template: "security_code", Language: "hi", Body: body + " 4821",
			Masked: body + " ****", Encoding: "UCS-2", Segments: 3, Priority: PriorityTransactional}
		m, err := s.CreateMessage(ctx, nm)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Message(ctx, m.ID)
		if err != nil || got.Body != nm.Masked {
			t.Fatalf("body shown %q (%v), want %q", got.Body, err, nm.Masked)
		}
		if sent, err := s.SendBody(ctx, m.ID); err != nil || sent != nm.Body {
			t.Fatalf("body opened %q (%v), want %q", sent, err, nm.Body)
		}
		claimed, res, err := s.Claim(ctx, m.ID, "w1", time.Minute)
		if err != nil || res != Claimed || claimed.SendBody() != nm.Body || claimed.Body != nm.Masked {
			t.Fatalf("claimed %q / %q (%v %v), want %q / %q", claimed.SendBody(), claimed.Body, res, err, nm.Body, nm.Masked)
		}
		h := s.rdb.HGetAll(ctx, s.messageKey(m.ID)).Val()
		for k, v := range h {
			if len(v) > chunkBytes {
				t.Fatalf("field %s holds %d bytes, more than %d", k, len(v), chunkBytes)
			}
		}
		// miniredis does not report encodings; a real Redis must say listpack.
		if enc, err := s.rdb.ObjectEncoding(ctx, s.messageKey(m.ID)).Result(); err == nil && enc != "listpack" {
			t.Fatalf("record encoded as %s, want listpack", enc)
		}
	}
}
