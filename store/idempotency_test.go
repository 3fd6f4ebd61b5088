package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// idemStep is one call in an idempotency scenario.
type idemStep struct {
	op     string // begin, finish
	scope  string // "" means "orders"
	key    string // "" means "k1"
	fp     string // begin
	replay Replay // finish: the answer kept; begin: the replay wanted, if Status != 0
	want   error  // begin
}

func runIdemSteps(t *testing.T, s *Store, steps []idemStep) {
	t.Helper()
	ctx := context.Background()
	for i, st := range steps {
		scope, key, fp := st.scope, st.key, st.fp
		if fp == "" {
			fp = "fp1"
		}
		if scope == "" {
			scope = "orders"
		}
		if key == "" {
			key = "k1"
		}
		switch st.op {
		case "begin":
			r, err := s.BeginIdempotent(ctx, testTag, scope, key, fp, time.Minute)
			if !errors.Is(err, st.want) {
				t.Fatalf("step %d begin %s/%s %s: err = %v, want %v", i+1, scope, key, fp, err, st.want)
			}
			switch {
			case st.replay.Status == 0 && r != nil:
				t.Fatalf("step %d begin: replay %+v, want none", i+1, *r)
			case st.replay.Status != 0 && (r == nil || r.Status != st.replay.Status || !bytes.Equal(r.Body, st.replay.Body)):
				t.Fatalf("step %d begin: replay %+v, want %+v", i+1, r, st.replay)
			}
		case "finish":
			if _, err := s.FinishIdempotent(ctx, testTag, scope, key, fp, st.replay, time.Hour); err != nil {
				t.Fatalf("step %d finish: %v", i+1, err)
			}
		default:
			t.Fatalf("step %d: unknown op %q", i+1, st.op)
		}
	}
}

func TestIdempotency(t *testing.T) {
	created := Replay{Status: 201, Body: []byte(`{"id":"a1"}`)}
	for _, tc := range []struct {
		name  string
		steps []idemStep
	}{
		{"new key goes ahead", []idemStep{
			{op: "begin", fp: "fp1"},
		}},
		{"repeat while running", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "begin", fp: "fp1", want: ErrIdempotencyRunning},
			{op: "begin", fp: "fp1", want: ErrIdempotencyRunning},
		}},
		{"other request while running", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "begin", fp: "fp2", want: ErrIdempotencyMismatch},
			{op: "begin", fp: "fp1", want: ErrIdempotencyRunning},
		}},
		{"replay after finish", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "finish", replay: created},
			{op: "begin", fp: "fp1", replay: created},
			{op: "begin", fp: "fp1", replay: created},
		}},
		{"other request after finish", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "finish", replay: created},
			{op: "begin", fp: "fp2", want: ErrIdempotencyMismatch},
		}},
		{"empty body replayed", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "finish", replay: Replay{Status: 204, Body: []byte{}}},
			{op: "begin", fp: "fp1", replay: Replay{Status: 204, Body: []byte{}}},
		}},
		{"binary body replayed", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "finish", replay: Replay{Status: 200, Body: []byte("\x00\xff\n{}")}},
			{op: "begin", fp: "fp1", replay: Replay{Status: 200, Body: []byte("\x00\xff\n{}")}},
		}},
		{"finish by another request is refused", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "finish", fp: "fp2", replay: created},
			{op: "begin", fp: "fp1", want: ErrIdempotencyRunning},
		}},
		{"keys and scopes are independent", []idemStep{
			{op: "begin", fp: "fp1"},
			{op: "begin", key: "k2", fp: "fp2"},
			{op: "begin", scope: "payments", fp: "fp3"},
			{op: "finish", replay: created},
			{op: "begin", key: "k2", fp: "fp2", want: ErrIdempotencyRunning},
			{op: "begin", scope: "payments", fp: "fp3", want: ErrIdempotencyRunning},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runIdemSteps(t, newTestStore(t), tc.steps)
		})
	}
}

func TestIdempotencyTTL(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if _, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp1", time.Minute); err != nil {
		t.Fatal(err)
	}
	k := s.idempotencyKey(testTag, "orders", "k1")
	if ttl := s.rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("lease ttl = %v, want at most a minute", ttl)
	}
	if _, err := s.FinishIdempotent(ctx, testTag, "orders", "k1", "fp1", Replay{Status: 200}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := s.rdb.PTTL(ctx, k).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("answer ttl = %v, want about 24h", ttl)
	}
}

// needsRealExpiry skips when the server is an embedded miniredis, whose
// keys do not expire as real time passes.
func needsRealExpiry(t *testing.T, s *Store) {
	t.Helper()
	info, err := s.rdb.Info(context.Background(), "server").Result()
	if err != nil || !strings.Contains(info, "redis_version") {
		t.Skip("needs a real Redis server for key expiry")
	}
}

func TestIdempotencyLeaseExpires(t *testing.T) {
	s := newTestStore(t)
	needsRealExpiry(t, s)
	ctx := context.Background()
	const lease = 50 * time.Millisecond
	if r, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp1", lease); r != nil || err != nil {
		t.Fatalf("begin: %v %v", r, err)
	}
	if _, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp1", lease); !errors.Is(err, ErrIdempotencyRunning) {
		t.Fatalf("within the lease: %v, want ErrIdempotencyRunning", err)
	}
	time.Sleep(2 * lease)
	if r, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp2", time.Minute); r != nil || err != nil {
		t.Fatalf("after the lease: %v %v, want to go ahead", r, err)
	}
}

func TestIdempotencyLateFinishNotReplayedToAnotherRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		// claimFirst: the second request claims the key before the first finishes.
		claimFirst bool
	}{
		{"first finishes, then another request claims", false},
		{"another request claims, then the first finishes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			needsRealExpiry(t, s)
			ctx := context.Background()
			first := Replay{Status: 201, Body: []byte(`{"for":"fp1"}`)}
			if _, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp1", 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the first request outlives its lease
			if tc.claimFirst {
				if r, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp2", time.Minute); r != nil || err != nil {
					t.Fatalf("second request: %v %v", r, err)
				}
			}
			if _, err := s.FinishIdempotent(ctx, testTag, "orders", "k1", "fp1", first, time.Hour); err != nil {
				t.Fatal(err)
			}
			if !tc.claimFirst {
				if r, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp2", time.Minute); r != nil || err != nil {
					t.Logf("second request: %v %v", r, err)
				}
			}
			r, err := s.BeginIdempotent(ctx, testTag, "orders", "k1", "fp2", time.Minute)
			if r != nil {
				t.Fatalf("a repeat of request fp2 was given the answer of request fp1: %d %s (err %v)", r.Status, r.Body, err)
			}
		})
	}
}
