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
