package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWebSessions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	ws, err := s.CreateWebSession(ctx, WebSession{KeyID: "key_1", Name: "Indian Railways", Role: RoleVerifier}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.ID) != 32 || len(ws.CSRF) != 32 || ws.ID == ws.CSRF {
		t.Fatalf("session = %+v", ws)
	}
	got, err := s.WebSession(ctx, ws.ID)
	if err != nil || got != ws {
		t.Fatalf("WebSession = %+v, %v; want %+v", got, err, ws)
	}
	// Redis holds only a keyed hash of the id.
	keys, _ := s.rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		if strings.Contains(k, ws.ID) {
			t.Fatalf("the session id is a Redis key: %s", k)
		}
	}
	for _, id := range []string{"", "short", strings.Repeat("0", 32), ws.ID + "0"} {
		if _, err := s.WebSession(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("WebSession(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.EndWebSession(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebSession(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after sign-out: %v", err)
	}
}

func TestSendBody(t *testing.T) {
	s := newTestStore(t)
	m := queue(t, s, "+919876543210")
	body, err := s.SendBody(context.Background(), m.ID)
	if err != nil || body != "Your code is 4821" {
		t.Fatalf("SendBody = %q, %v", body, err)
	}
}

// A load restarts the idle clock; a revoked key ends its sessions.
func TestWebSessionIdleAndRevoked(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	k, _, err := s.CreateAPIKey(ctx, APIKey{Role: RoleSupport, Name: "Helpline Pune"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateWebSession(ctx, WebSession{KeyID: k.ID}, 0); err == nil {
		t.Fatal("a session without an idle timeout was created")
	}
	ws, err := s.CreateWebSession(ctx, WebSession{KeyID: k.ID, Name: k.Name, Role: k.Role}, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key := s.sessionKey(s.apiKeyHash.sum("session", ws.ID))
	// As if 7 h 59 min had passed without a request.
	if err := s.rdb.PExpire(ctx, key, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebSession(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	if ttl := s.rdb.PTTL(ctx, key).Val(); ttl < 8*time.Hour-time.Minute {
		t.Fatalf("after a load the session has %s left, want about 8 h", ttl)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebSession(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of a revoked key: %v, want ErrNotFound", err)
	}
	if n := s.rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("the revoked key's session is still stored")
	}
}
