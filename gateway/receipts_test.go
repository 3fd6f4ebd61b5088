package gateway

import (
	"context"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/store"
	"sandesh/templates"
)

// A receipt that overtakes the worker's record of the provider's id is
// applied once the id is recorded; one for an id never recorded is
// dropped without an error, so the provider is not asked to resend it.
func TestRecordReceipt(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	m, err := r.gw.Send(ctx, Outgoing{To: "+919876543210", Template: "security_code", Language: "en",
		Vars: templates.Vars{"center": "PHC Aundh", "date": "22 Nov 2026", "code": "4821"}, Priority: store.PriorityTransactional})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- r.gw.RecordReceipt(ctx, DeliveryReport{Provider: "operator", ProviderMessageID: "7f3a01", Status: providers.DeliveryDelivered})
	}()
	time.Sleep(100 * time.Millisecond) // the receipt is waiting for the id
	if _, err := r.store.Advance(ctx, m.ID, store.Update{Status: store.StatusSent, Provider: "operator", ProviderMessageID: "7f3a01"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := r.message(t, m.ID); got.Status != store.StatusDelivered {
		t.Fatalf("message is %s after its receipt", got.Status)
	}
	start := time.Now()
	if err := r.gw.RecordReceipt(ctx, DeliveryReport{Provider: "operator", ProviderMessageID: "unknown", Status: providers.DeliveryDelivered}); err != nil {
		t.Fatalf("receipt for an unknown id: %v", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("gave up on an unknown id after %s", waited)
	}
}

// A report that the citizen blocked our sender stops non-essential
// messages to the mobile, as their STOP would.
func TestDeliveryReportOptOut(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	m, err := r.gw.Send(ctx, Outgoing{To: "+919876543210", Template: "security_code", Language: "en",
		Vars: templates.Vars{"center": "PHC Aundh", "date": "22 Nov 2026", "code": "4821"}, Priority: store.PriorityTransactional})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Advance(ctx, m.ID, store.Update{Status: store.StatusSent, Provider: "africa", ProviderMessageID: "ATXid_1"}); err != nil {
		t.Fatal(err)
	}
	err = r.gw.RecordDelivery(ctx, DeliveryReport{Provider: "africa", ProviderMessageID: "ATXid_1",
		Status: providers.DeliveryUndelivered, ErrorCode: "at_userinblacklist", OptedOut: true})
	if err != nil {
		t.Fatal(err)
	}
	prefs, err := r.store.MobilePrefs(ctx, "+919876543210")
	if err != nil || !prefs.OptedOut {
		t.Fatalf("prefs after a blacklist report = %+v, %v; want opted out", prefs, err)
	}
	if got := r.message(t, m.ID); got.Status != store.StatusUndelivered || got.ErrorCode != "at_userinblacklist" {
		t.Fatalf("message = %s %q", got.Status, got.ErrorCode)
	}
}
