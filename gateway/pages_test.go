package gateway

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sandesh/internal/browsertest"
)

// TestVerifyPageEndToEnd: a verifier in a real browser signs in with their
// key, asks for an OTP, reads it from the SMS the Twilio double received,
// submits a wrong one and sees the error, then the right one and sees
// "Fully vaccinated" — through the real gateway, Redis and worker.
func TestVerifyPageEndToEnd(t *testing.T) {
	r := newRig(t)
	v1, _ := kyvsFixtures(t, r)
	r.startWorker(t)
	r.double.WaitCount(t, 3, 10*time.Second)
	ctx := browsertest.New(t)

	var errText, status, cardLink string
	var shot []byte
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(360, 780),
		chromedp.Navigate(r.url+"/verify"),
		chromedp.WaitVisible("#api_key", chromedp.ByQuery),
		browsertest.EnterNext("#api_key", v1),
		chromedp.WaitVisible("#name", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Asha Patil", chromedp.ByQuery),
		chromedp.SendKeys("#mobile", "9876543210", chromedp.ByQuery),
		browsertest.ClickNext("main button.primary"),
		chromedp.WaitVisible("#otp", chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	otp := r.otpFor(t, "+919876543210", 1)
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	err = chromedp.Run(ctx,
		browsertest.EnterNext("#otp", wrong),
		chromedp.WaitVisible("[role=alert]", chromedp.ByQuery),
		chromedp.Text("[role=alert]", &errText, chromedp.ByQuery),
		chromedp.WaitVisible("#otp", chromedp.ByQuery),
		browsertest.EnterNext("#otp", otp),
		chromedp.WaitVisible("#status", chromedp.ByQuery),
		chromedp.Text("#status", &status, chromedp.ByQuery),
		chromedp.AttributeValue("#card-link", "href", &cardLink, nil, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(strings.ToLower(errText), "2") {
		t.Errorf("wrong OTP message %q does not say 2 tries are left", errText)
	}
	if status != "Fully vaccinated" {
		t.Fatalf("result %q, want Fully vaccinated", status)
	}
	browsertest.Save(t, "verify-end-to-end.png", shot)
	// The result links the citizen's shareable status card.
	if code, body := do(t, "GET", r.url+cardLink, "", "", nil); code != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("status card %q = %d", cardLink, code)
	}
	trail, err := r.store.AuditTrail(context.Background(), 10)
	if err != nil || len(trail) != 1 || trail[0].Action != "kyvs_verified" || trail[0].ActorName != "Indian Railways" {
		t.Fatalf("audit = %+v %v", trail, err)
	}
}

// TestSimulatorEndToEnd: the simulator answers STATUS through the real
// inbound flow and walks one USSD path.
func TestSimulatorEndToEnd(t *testing.T) {
	r := newRigWith(t, func(o *ServerOptions) { o.Simulator = true })
	if _, _, err := r.gw.LoadDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	var conversation, screen string
	var shot []byte
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(360, 780),
		chromedp.Navigate(r.url+"/simulator?mobile=%2B919876500003&mode=sms"),
		chromedp.WaitVisible("#body", chromedp.ByQuery),
		browsertest.EnterNext("#body", "STATUS"),
		chromedp.WaitVisible("li.msg.out", chromedp.ByQuery),
		chromedp.Text("main", &conversation, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	for _, want := range []string{"STATUS", "Priya Sharma", "Rahul Sharma"} {
		if !strings.Contains(conversation, want) {
			t.Fatalf("simulator page lacks %q:\n%s", want, conversation)
		}
	}
	browsertest.Save(t, "simulator-end-to-end.png", shot)
	// USSD: dial, 1 (status), 2 (the second person on the mobile).
	err = chromedp.Run(ctx,
		chromedp.Navigate(r.url+"/simulator?mobile=%2B919876500003&mode=ussd"),
		chromedp.WaitVisible("button.call", chromedp.ByQuery),
		browsertest.ClickNext("button.call"),
		chromedp.WaitVisible(`button[aria-label="Answer 1"]`, chromedp.ByQuery),
		// Each answer loads a new page with an #answer of its own: wait
		// for it before typing, or the keys may go to the old page's.
		browsertest.ClickNext(`button[aria-label="Answer 1"]`),
		chromedp.WaitVisible("#answer", chromedp.ByQuery),
		browsertest.EnterNext("#answer", "2"),
		chromedp.Text(".ussd-text", &screen, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(screen, "Rahul Sharma") {
		t.Fatalf("USSD 1*2 on the simulator shows %q, want Rahul Sharma's status", screen)
	}
	browsertest.Save(t, "simulator-ussd-end-to-end.png", shot)
}

// TestSimulatorBesideRealProvidersNeedsAdmin: beside real providers the
// simulator reads and sends real SMS, so it asks for the admin key; with
// the console provider alone it is open.
func TestSimulatorBesideRealProvidersNeedsAdmin(t *testing.T) {
	basic := func(key string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:"+key))}
	}
	for _, needsAdmin := range []bool{true, false} {
		t.Run(fmt.Sprintf("needs admin %v", needsAdmin), func(t *testing.T) {
			r := newRigWith(t, func(o *ServerOptions) { o.Simulator, o.SimulatorNeedsAdmin = true, needsAdmin })
			support := r.newKey(t, "support", "")
			form := "mobile=9876543210&body=STATUS"
			sameOrigin := map[string]string{"Origin": r.url}
			before := r.rdb.DBSize(context.Background()).Val()
			code, body := do(t, "POST", r.url+"/simulator/sms", "application/x-www-form-urlencoded", form, sameOrigin)
			if needsAdmin {
				after := r.rdb.DBSize(context.Background()).Val()
				if code != 401 || !strings.Contains(body, `"unauthorized"`) || after != before {
					t.Fatalf("SMS from the simulator without the key: %d %.200s; Redis keys %d → %d", code, body, before, after)
				}
				h := headersOf(t, r.url+"/simulator", nil)
				if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
					t.Fatalf("no Basic challenge: %v", h)
				}
				if code, _ := do(t, "GET", r.url+"/simulator", "", "", basic(support)); code != 401 {
					t.Fatalf("simulator with a support key: %d, want 401", code)
				}
				if code, _ := do(t, "GET", r.url+"/simulatorx", "", "", nil); code != 404 {
					t.Fatalf("/simulatorx: %d, want 404", code)
				}
				sameOrigin["Authorization"] = basic(adminKey)["Authorization"]
				code, body = do(t, "POST", r.url+"/simulator/sms", "application/x-www-form-urlencoded", form, sameOrigin)
			}
			if code != 200 || !strings.Contains(body, "<html") {
				t.Fatalf("SMS from the simulator: %d %.200s", code, body)
			}
			if code, body := do(t, "GET", r.url+"/simulator", "", "", basic(adminKey)); code != 200 || !strings.Contains(body, "<html") {
				t.Fatalf("simulator with the admin key: %d", code)
			}
		})
	}
}
