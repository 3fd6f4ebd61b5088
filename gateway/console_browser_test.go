package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sandesh/internal/browsertest"
	"sandesh/store"
)

// TestConsoleEndToEnd: a helpline agent in a real browser signs in with
// the demo support key, finds a demo mobile typed with spaces, sees the
// appointment slip delivered after Twilio's status callback, resends the
// security code with a reason, sees the new SMS and the counter drop, and
// is refused after the third resend of the hour — through the real
// gateway, Redis, worker and Twilio double.
func TestConsoleEndToEnd(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	_, keys, err := r.gw.LoadDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byRole := map[store.Role]string{}
	for _, k := range keys {
		byRole[k.Role] = k.Key
	}
	supportKey := byRole[store.RoleSupport]
	const mobile = "+919876500001"
	people, err := r.store.BeneficiariesByMobile(ctx, mobile)
	if err != nil || len(people) != 3 || people[0].Name != "Asha Patil" {
		t.Fatalf("demo mobile holds %+v, %v", people, err)
	}
	asha := people[0]
	r.startWorker(t)
	slip := deliverSlip(t, r, mobile)

	browser := browsertest.New(t)
	person := fmt.Sprintf(`section.person[data-beneficiary=%q]`, maskRef(asha.ID))
	var slipStatus, left string
	var shot []byte
	// Centre and verifier keys are refused.
	for _, role := range []store.Role{store.RoleCenter, store.RoleVerifier} {
		var alert string
		err = chromedp.Run(browser,
			chromedp.Navigate(r.url+"/support"),
			chromedp.WaitVisible("#api_key", chromedp.ByQuery),
			browsertest.EnterNext("#api_key", byRole[role]),
			chromedp.WaitVisible("[role=alert]", chromedp.ByQuery),
			chromedp.Text("[role=alert]", &alert, chromedp.ByQuery),
		)
		if err != nil || alert == "" {
			t.Fatalf("sign-in with the %s key: alert %q, %v", role, alert, err)
		}
	}
	err = chromedp.Run(browser,
		chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(r.url+"/support"),
		chromedp.WaitVisible("#api_key", chromedp.ByQuery),
		browsertest.EnterNext("#api_key", supportKey),
		chromedp.WaitVisible("#mobile", chromedp.ByQuery),
		browsertest.EnterNext("#mobile", "98765 00001"),
		chromedp.WaitVisible("#history", chromedp.ByQuery),
		chromedp.AttributeValue(fmt.Sprintf(`#history tr[data-id=%q]`, slip), "data-status", &slipStatus, nil, chromedp.ByQuery),
		chromedp.AttributeValue(person+" .resends-left", "data-left", &left, nil, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	browsertest.Save(t, "console-search-1366px.png", shot)
	if slipStatus != "delivered" || left != "3" {
		t.Fatalf("slip %s is %q with %q resends left; want delivered and 3", slip, slipStatus, left)
	}

	// A confirmation posted without its CSRF token is refused and sends nothing.
	var forbidden string
	err = chromedp.Run(browser,
		browsertest.ClickNext(person+` button[data-act="security_code"]`),
		chromedp.WaitVisible("#reason", chromedp.ByQuery),
		chromedp.SendKeys("#reason", "forged", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#act input[name=csrf]').remove()`, nil),
		browsertest.ClickNext("#confirm-button"),
		chromedp.WaitVisible("[role=alert]", chromedp.ByQuery),
		chromedp.Text("[role=alert]", &forbidden, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("post without the token: %v", err)
	}
	if n := countTemplate(t, r, mobile, "security_code"); n != 0 || forbidden == "" {
		t.Fatalf("a post without the CSRF token: alert %q, %d codes sent", forbidden, n)
	}
	if err := chromedp.Run(browser, chromedp.Navigate(r.url+"/support/search?mobile=98765+00001"), chromedp.WaitVisible("#history", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= resendsPerHour; n++ {
		var flash string
		err = chromedp.Run(browser,
			browsertest.ClickNext(person+` button[data-act="security_code"]`),
			chromedp.WaitVisible("#reason", chromedp.ByQuery),
			chromedp.SendKeys("#reason", fmt.Sprintf("Caller %d says the code SMS never came", n), chromedp.ByQuery),
			browsertest.ClickNext("#confirm-button"),
			chromedp.WaitVisible("#flash", chromedp.ByQuery),
			chromedp.Text("#flash", &flash, chromedp.ByQuery),
			chromedp.AttributeValue(person+" .resends-left", "data-left", &left, nil, chromedp.ByQuery),
		)
		if err != nil {
			t.Fatalf("resend %d: %v", n, err)
		}
		id := newestCode(t, r, mobile, n)
		if !strings.Contains(flash, id) {
			t.Fatalf("resend %d: flash %q does not name message %s", n, flash, id)
		}
		var rows int
		if err := chromedp.Run(browser, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll('#history tr[data-id=%q]').length`, id), &rows)); err != nil || rows != 1 {
			t.Fatalf("resend %d: message %s in the history %d times (%v)", n, id, rows, err)
		}
		if want := fmt.Sprint(resendsPerHour - n); left != want {
			t.Fatalf("after resend %d: %s left, want %s", n, left, want)
		}
	}
	var alert string
	err = chromedp.Run(browser,
		chromedp.EmulateViewport(360, 780),
		browsertest.ClickNext(person+` button[data-act="security_code"]`),
		chromedp.WaitVisible("#reason", chromedp.ByQuery),
		chromedp.SendKeys("#reason", "Fourth call", chromedp.ByQuery),
		browsertest.ClickNext("#confirm-button"),
		chromedp.WaitVisible("[role=alert]", chromedp.ByQuery),
		chromedp.Text("[role=alert]", &alert, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("fourth resend: %v", err)
	}
	browsertest.Save(t, "console-refused-360px.png", shot)
	if !strings.Contains(alert, "No resends left") {
		t.Fatalf("fourth resend: alert %q", alert)
	}
	if n := countTemplate(t, r, mobile, "security_code"); n != resendsPerHour {
		t.Fatalf("%d security-code SMS sent, want %d", n, resendsPerHour)
	}
	trail, err := r.store.AuditSearch(ctx, store.AuditQuery{Mobile: mobile, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var resends int
	for _, e := range trail {
		if e.Action == "resend" {
			resends++
			if e.ActorName != "demo support" || !strings.HasPrefix(e.Reason, "Caller ") || e.Mobile != "+91******0001" {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if resends != resendsPerHour {
		t.Fatalf("%d resends audited, want %d", resends, resendsPerHour)
	}
}

// deliverSlip waits for the first appointment slip to mobile to reach the
// double, posts Twilio's sent and delivered callbacks for it and returns
// its message id.
func deliverSlip(t *testing.T, r *rig, mobile string) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := r.store.MessagesByMobile(ctx, mobile, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Template != "appointment_slip" || m.ProviderMessageID == "" {
				continue
			}
			for _, sent := range r.double.Messages() {
				if sent.Sid != m.ProviderMessageID {
					continue
				}
				for _, status := range []string{"sent", "delivered"} {
					resp, err := r.double.PostStatus(ctx, sent, status, "")
					if err != nil || resp.StatusCode/100 != 2 {
						t.Fatalf("status callback %s: %v %v", status, resp, err)
					}
				}
				return m.ID
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no appointment slip to %s reached the double", mobile)
	return ""
}

// newestCode is the newest security-code SMS to mobile, once there are n.
func newestCode(t *testing.T, r *rig, mobile string, n int) string {
	t.Helper()
	msgs, err := r.store.MessagesByMobile(context.Background(), mobile, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Template == "security_code" {
			if got := countTemplate(t, r, mobile, "security_code"); got != n {
				t.Fatalf("%d security-code SMS, want %d", got, n)
			}
			return m.ID
		}
	}
	t.Fatal("no security-code SMS")
	return ""
}

func countTemplate(t *testing.T, r *rig, mobile, template string) int {
	t.Helper()
	msgs, err := r.store.MessagesByMobile(context.Background(), mobile, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Template == template {
			n++
		}
	}
	return n
}
