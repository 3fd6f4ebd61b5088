package verify

import (
	"testing"

	"github.com/chromedp/chromedp"

	"sandesh/gateway/pages/webpage/webpagetest"
	"sandesh/internal/browsertest"
)

// TestBrowser does a whole check in a real browser on a 360-px wide
// screen, with the keyboard where a verifier would: sign in, request the
// OTP, confirm it and read "Fully vaccinated". The screenshot goes to
// $SANDESH_ARTEFACTS, else to the test's temporary directory.
func TestBrowser(t *testing.T) {
	p, err := New(newFake(), []string{"en", "hi", "mr"}, false)
	if err != nil {
		t.Fatal(err)
	}
	site := webpagetest.Serve(t, p.Mount)
	ctx := browsertest.New(t) // after Serve, so that it stops first

	var status, name, fontSize, location string
	var scrollWidth int
	var shot []byte
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(360, 780),
		chromedp.Navigate(site+"/verify"),
		chromedp.WaitVisible("#api_key", chromedp.ByQuery),
		browsertest.EnterNext("#api_key", testKey),
		chromedp.WaitVisible("#name", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Asha Patil", chromedp.ByQuery),
		chromedp.SendKeys("#mobile", "9876543210", chromedp.ByQuery),
		browsertest.ClickNext("main button.primary"),
		chromedp.WaitVisible("#otp", chromedp.ByQuery),
		browsertest.EnterNext("#otp", testOTP),
		chromedp.WaitVisible("#status", chromedp.ByQuery),
		chromedp.Text("#status", &status, chromedp.ByQuery),
		chromedp.Text("#result-name", &name, chromedp.ByQuery),
		chromedp.Location(&location),
		chromedp.Evaluate(`getComputedStyle(document.getElementById("status")).fontSize`, &fontSize),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollWidth),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if status != "Fully vaccinated" || name != "Asha Patil" {
		t.Errorf("result %q for %q, want Fully vaccinated for Asha Patil", status, name)
	}
	if location != site+"/verify/confirm" {
		t.Errorf("result at %s", location)
	}
	if fontSize != "32px" {
		t.Errorf("status font size %q: the stylesheet did not apply", fontSize)
	}
	if scrollWidth > 360 {
		t.Errorf("page is %d px wide on a 360-px screen", scrollWidth)
	}
	browsertest.Save(t, "verify-result-360px.png", shot)
}
