package support

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sandesh/gateway/pages/webpage/webpagetest"
	"sandesh/internal/browsertest"
)

// TestBrowser does a helpline call in a real browser, on a 360-px phone
// and on a 1366×768 laptop: sign in with the keyboard, find the citizen by
// a mobile typed with a space, read the history and the resends left,
// resend the security code with a reason and see that it was queued; then
// an administrator reads the audit trail. The
// screenshots go to $SANDESH_ARTEFACTS, else to the test's temporary
// directory.
func TestBrowser(t *testing.T) {
	fake := newFake()
	p, err := New(fake, Options{Languages: []string{"en", "hi", "mr"}})
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testNow }
	site := webpagetest.Serve(t, p.Mount)

	for _, tc := range []struct {
		width, height int
		rowDisplay    string // of a history row: a card on a phone, a table row on a laptop
	}{
		{360, 780, "block"},
		{1366, 768, "table-row"},
	} {
		t.Run(fmt.Sprintf("%dpx", tc.width), func(t *testing.T) {
			// A browser of its own, so that each screen signs in afresh;
			// started after Serve, so that it stops first.
			ctx := browsertest.New(t)
			var historyText, left, rowDisplay, confirmTitle, flash, location string
			var rows, searchWidth, confirmWidth, auditRows, auditWidth int
			var searchShot, confirmShot []byte
			err := chromedp.Run(ctx,
				chromedp.EmulateViewport(int64(tc.width), int64(tc.height)),
				chromedp.Navigate(site+"/support"),
				chromedp.WaitVisible("#api_key", chromedp.ByQuery),
				browsertest.EnterNext("#api_key", supportKey),
				chromedp.WaitVisible("#mobile", chromedp.ByQuery),
				browsertest.EnterNext("#mobile", "98765 43210"),
				chromedp.WaitVisible("#history", chromedp.ByQuery),
				chromedp.WaitVisible(".resends-left", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelectorAll("#history tbody tr").length`, &rows),
				chromedp.Text("#history", &historyText, chromedp.ByQuery),
				chromedp.Text(".appointment .resends-left", &left, chromedp.ByQuery),
				chromedp.Evaluate(`getComputedStyle(document.querySelector("#history tbody tr")).display`, &rowDisplay),
				chromedp.Evaluate(`document.documentElement.scrollWidth`, &searchWidth),
				chromedp.FullScreenshot(&searchShot, 100),
				browsertest.ClickNext(`button[data-act="security_code"]`),
				chromedp.WaitVisible("#reason", chromedp.ByQuery),
				chromedp.Text("h1", &confirmTitle, chromedp.ByQuery),
				chromedp.SendKeys("#reason", "Citizen called: the SMS did not arrive", chromedp.ByQuery),
				chromedp.Evaluate(`document.documentElement.scrollWidth`, &confirmWidth),
				chromedp.FullScreenshot(&confirmShot, 100),
				browsertest.ClickNext("#confirm-button"),
				chromedp.WaitVisible("#flash", chromedp.ByQuery),
				chromedp.Text("#flash", &flash, chromedp.ByQuery),
				chromedp.Location(&location),
				// Sign out, and in again as an administrator, for the audit trail.
				browsertest.ClickNext("#signout-button"),
				chromedp.WaitVisible("#api_key", chromedp.ByQuery),
				browsertest.EnterNext("#api_key", adminKey),
				chromedp.WaitVisible("#audit-link", chromedp.ByQuery),
				browsertest.ClickNext("#audit-link"),
				chromedp.WaitVisible("#audit", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelectorAll("#audit tr.audit-entry").length`, &auditRows),
				chromedp.Evaluate(`document.documentElement.scrollWidth`, &auditWidth),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			if rows != 4 {
				t.Errorf("history has %d rows, want 4", rows)
			}
			if !strings.Contains(historyText, "handset unreachable (30003)") || !strings.Contains(historyText, "Delivered 14:05:09") {
				t.Errorf("history lacks the delivery:\n%s", historyText)
			}
			if left != "2 resends left this hour" {
				t.Errorf("counter %q", left)
			}
			if rowDisplay != tc.rowDisplay {
				t.Errorf("history row display %q, want %q: the stylesheet did not apply", rowDisplay, tc.rowDisplay)
			}
			if tc.width == 360 && (searchWidth > 360 || confirmWidth > 360 || auditWidth > 360) {
				t.Errorf("pages %d, %d and %d px wide on a 360-px screen", searchWidth, confirmWidth, auditWidth)
			}
			if auditRows != 2 {
				t.Errorf("audit trail has %d rows, want 2", auditRows)
			}
			if confirmTitle != "Confirm: Resend security code" {
				t.Errorf("confirmation step %q", confirmTitle)
			}
			if !strings.Contains(flash, testMsgID) || location != site+"/support/search?mobile=%2B919876543210&sent="+testMsgID {
				t.Errorf("after the action: flash %q at %s", flash, location)
			}
			fake.mu.Lock()
			last := fake.actions[len(fake.actions)-1]
			fake.mu.Unlock()
			if last != (Action{What: ActSecurityCode, AppointmentID: testApptID, Reason: "Citizen called: the SMS did not arrive", Mobile: testMobile}) {
				t.Errorf("Act got %+v", last)
			}
			browsertest.Save(t, fmt.Sprintf("support-search-%dpx.png", tc.width), searchShot)
			if tc.width == 360 {
				browsertest.Save(t, "support-confirm-360px.png", confirmShot)
			}
		})
	}
}
