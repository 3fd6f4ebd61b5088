package smpp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/smpp/smsctest"
	"sandesh/providers/twilio"
	"sandesh/providers/twilio/twiliotest"
)

// TestFailoverToTwilio: an SMPP primary and a Twilio backup in one router,
// as `primary: smpp, backup: twilio` configures them. The SMSC stops
// mid-run: messages go on through the Twilio double; it comes back: after
// the breaker's open_for, traffic returns to it. Every message is taken
// by one of the two.
func TestFailoverToTwilio(t *testing.T) {
	const openFor = 2 * time.Second
	s := smsctest.Start(t, smsctest.Options{})
	primary := start(t, s, &collector{})
	double := twiliotest.NewServer(t)
	backup, err := twilio.New(twilio.Config{Name: "backup", AccountSID: double.AccountSID, AuthToken: double.AuthToken,
		From: "+15005550006", BaseURL: double.URL, PublicURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	router, err := providers.NewRouter([]providers.Provider{primary, backup}, providers.RouterOptions{Failures: 3, OpenFor: openFor})
	if err != nil {
		t.Fatal(err)
	}
	via := map[string]int{}
	n := 0
	// send delivers one message as the worker would: an ambiguous failure
	// (the SMSC went away mid-submit) is tried again later, never lost.
	send := func() string {
		t.Helper()
		n++
		m := outbound(fmt.Sprintf("message %d", n))
		m.MessageID = fmt.Sprint("m", n)
		for try := 0; try < 50; try++ {
			r, err := router.Send(context.Background(), m)
			if err == nil {
				via[r.Provider]++
				return r.Provider
			}
			if !providers.Temporary(err) {
				t.Fatalf("message %d failed: %v", n, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("message %d not sent after 50 tries", n)
		return ""
	}
	for range 20 {
		if p := send(); p != "operator" {
			t.Fatalf("with the SMSC up a message went through %s", p)
		}
	}
	s.Stop()
	for range 20 {
		send()
	}
	if via["backup"] < 19 || double.Count() != via["backup"] {
		t.Fatalf("SMSC down: %d via backup (double took %d), want nearly all 20", via["backup"], double.Count())
	}
	s.Restart(t)
	waitBound(t, primary, 2)
	back := time.Now()
	var returned time.Duration
	for deadline := time.Now().Add(openFor + 5*time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if send() == "operator" {
			returned = time.Since(back)
			break
		}
	}
	if returned == 0 {
		t.Fatalf("traffic did not return to the SMSC within open_for + 5 s (%v)", via)
	}
	for range 10 {
		if p := send(); p != "operator" {
			t.Fatalf("after the return a message went through %s", p)
		}
	}
	rec := s.Record(t)
	if len(rec.Submits) != 11 {
		t.Fatalf("the restarted SMSC took %d submits, want 11", len(rec.Submits))
	}
	t.Logf("%d messages: %v; traffic back on the SMSC %s after it was bound again (open_for %s)", n, via, returned.Round(time.Millisecond), openFor)
}
