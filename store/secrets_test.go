package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSecretRotation: everything made under a secret keeps working once
// that secret is a previous one — API keys (re-keyed at first use),
// sessions, card links, security codes, OTPs, sealed bodies — and
// SecretsStatus counts what still needs it until Rekey and use move it.
func TestSecretRotation(t *testing.T) {
	ctx := context.Background()
	old := newTestStore(t)
	oldSecret := []byte("0123456789abcdef0123456789abcdef")
	newSecret := []byte("a new secret, at least 32 bytes long")
	rotated, err := New(old.rdb, Options{Secret: newSecret, PreviousSecrets: [][]byte{oldSecret}, HistoryLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := New(old.rdb, Options{Secret: newSecret, HistoryLimit: 3})
	if err != nil {
		t.Fatal(err)
	}

	// Made under the old secret.
	mustCenter(t, old, testCenter)
	ben := mustBeneficiary(t, old, "+919876543210")
	key, clear, err := old.CreateAPIKey(ctx, APIKey{Role: RoleCenter, Name: "PHC", CenterID: testCenter})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := old.CreateWebSession(ctx, WebSession{KeyID: key.ID, Name: "PHC", Role: RoleCenter}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	card, err := old.CreateCardToken(ctx, ben.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	appt := mustBook(t, old, ben.ID, testToday, testCode, testToday)
	msg := queue(t, old, ben.Mobile)
	sms := &NewMessage{To: ben.Mobile, Template: "kyvs_otp", Body: "OTP 123456", Masked: "OTP ******",
		Encoding: "GSM-7", Segments: 1, Priority: PriorityOTP, ValidFor: 3 * time.Minute}
	txn, _, err := old.StartOTP(ctx, "v1", ben.ID, "123456", 3*time.Minute, OTPBudget{Max: 5, Window: time.Hour}, sms)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := dropped.APIKeyBySecret(ctx, clear); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key under a secret no longer listed: %v, want ErrNotFound", err)
	}
	status := func(s *Store) map[string]SecretUse {
		t.Helper()
		uses, err := s.SecretsStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]SecretUse{}
		for _, u := range uses {
			m[u.Kind] = u
		}
		return m
	}
	want := func(got map[string]SecretUse, kind string, current, previous int) {
		t.Helper()
		if u := got[kind]; u.Current != current || u.Previous != previous || u.Unknown != 0 {
			t.Errorf("%s: %+v, want %d current and %d previous", kind, u, current, previous)
		}
	}
	before := status(rotated)
	for _, kind := range []string{"api_keys", "web_sessions", "card_links", "security_codes", "kyvs_transactions"} {
		want(before, kind, 0, 1)
	}
	want(before, "message_bodies", 0, 2) // the code's SMS and the OTP's

	// All of it works with the new secret in place; the key through the
	// web processes' cache, which re-keys it at its first use.
	cache := NewKeyCache(rotated, KeyCacheOptions{})
	defer cache.Close()
	for range 2 {
		if k, err := cache.APIKeyBySecret(ctx, clear); err != nil || k.ID != key.ID {
			t.Fatalf("old key after rotation: %+v, %v", k, err)
		}
	}
	if got, err := rotated.WebSession(ctx, ws.ID); err != nil || got.KeyID != key.ID {
		t.Fatalf("old session after rotation: %+v, %v", got, err)
	}
	if got, err := rotated.CardBeneficiary(ctx, card); err != nil || got != ben.ID {
		t.Fatalf("old card link after rotation: %q, %v", got, err)
	}
	check := CodeCheck{AppointmentID: appt.ID, BeneficiaryID: ben.ID, CenterID: testCenter, Code: testCode, Today: testToday}
	if err := rotated.VerifyCode(ctx, check); err != nil {
		t.Fatalf("old code after rotation: %v", err)
	}
	if code, err := rotated.SecurityCode(ctx, appt.ID); err != nil || code != testCode {
		t.Fatalf("old sealed code after rotation: %q, %v", code, err)
	}
	if body, err := rotated.SendBody(ctx, msg.ID); err != nil || body != "Your code is 4821" {
		t.Fatalf("old sealed body after rotation: %q, %v", body, err)
	}
	if v, err := rotated.ConfirmOTP(ctx, txn, "v1", "123456"); err != nil || v.Beneficiary.ID != ben.ID {
		t.Fatalf("old OTP after rotation: %+v, %v", v, err)
	}

	// The key moved at its use; Rekey moves the sealed values.
	done, err := rotated.Rekey(ctx)
	if err != nil || done != (Rekeyed{MessageBodies: 2, SecurityCodes: 1}) {
		t.Fatalf("rekey: %+v, %v", done, err)
	}
	if again, err := rotated.Rekey(ctx); err != nil || again != (Rekeyed{}) {
		t.Fatalf("second rekey: %+v, %v", again, err)
	}
	after := status(rotated)
	for _, kind := range []string{"api_keys", "security_codes"} {
		want(after, kind, 1, 0)
	}
	want(after, "message_bodies", 2, 0)
	for _, kind := range []string{"web_sessions", "card_links", "kyvs_transactions"} {
		want(after, kind, 0, 1) // they expire; nothing re-keys them
	}

	// With the old secret dropped, what was re-keyed still works.
	if k, err := dropped.APIKeyBySecret(ctx, clear); err != nil || k.ID != key.ID {
		t.Fatalf("re-keyed key, old secret dropped: %+v, %v", k, err)
	}
	if err := dropped.VerifyCode(ctx, check); err != nil {
		t.Fatalf("re-keyed code, old secret dropped: %v", err)
	}
	if body, err := dropped.SendBody(ctx, msg.ID); err != nil || body != "Your code is 4821" {
		t.Fatalf("re-keyed body, old secret dropped: %q, %v", body, err)
	}
	if _, err := dropped.WebSession(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of a dropped secret: %v, want ErrNotFound", err)
	}
	// A re-keyed key can still be revoked.
	if err := dropped.RevokeAPIKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dropped.APIKeyBySecret(ctx, clear); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoked re-keyed key: %v", err)
	}
}

func TestPreviousSecretsRejected(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name     string
		previous [][]byte
	}{
		{"short", [][]byte{[]byte("short")}},
		{"the current one", [][]byte{secret}},
	} {
		if _, err := New(newTestStore(t).rdb, Options{Secret: secret, PreviousSecrets: tc.previous}); err == nil {
			t.Errorf("%s previous secret accepted", tc.name)
		}
	}
}
