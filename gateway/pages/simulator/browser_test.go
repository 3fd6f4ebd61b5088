package simulator

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"sandesh/gateway/pages/webpage"
	"sandesh/gateway/pages/webpage/webpagetest"
	"sandesh/internal/browsertest"
)

// TestBrowser walks the page as a person would, in a real browser with
// JavaScript off and a 360-px screen: choose a demo mobile, send STATUS,
// read the reply, then dial the USSD menu and walk one path to its end;
// then switch the page to Tamil, which the cookie keeps, and send LANG TA
// with its button.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}

	b := newFake()
	p, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	p.log = slog.New(slog.DiscardHandler)
	base := webpagetest.Serve(t, p.Mount)
	ctx := browsertest.New(t, chromedp.WindowSize(360, 800)) // after Serve, so that it stops first

	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			browsertest.Save(t, name, png)
			return nil
		})
	}
	var screenBg, reply, width string
	err = chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(360, 740, 2, true),
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Navigate(base+"/simulator"),
		chromedp.WaitVisible(`#phone-list`, chromedp.ByQuery),
		chromedp.SetValue(`#phone-list`, "+919876500001", chromedp.ByQuery),
		browsertest.NextPage(chromedp.Submit(`#phone-list`, chromedp.ByQuery)),
		chromedp.WaitVisible(`#body`, chromedp.ByQuery),
		browsertest.EnterNext(`#body`, "STATUS"),
		chromedp.WaitVisible(`li.msg.out`, chromedp.ByQuery),
		chromedp.Text(`li.msg.out .body`, &reply, chromedp.ByQuery),
		// The embedded stylesheet applies (CSP and nosniff let it through).
		chromedp.EvaluateAsDevTools(`getComputedStyle(document.querySelector('.screen')).backgroundColor`, &screenBg),
		chromedp.EvaluateAsDevTools(`String(document.documentElement.scrollWidth)`, &width),
		shot("simulator-sms.png"),
	)
	if err != nil {
		t.Fatalf("sms: %v", err)
	}
	if !strings.Contains(reply, "Asha Patil: not vaccinated") {
		t.Errorf("reply %q", reply)
	}
	if screenBg != "rgb(201, 215, 179)" {
		t.Errorf("stylesheet not applied: screen background %q", screenBg)
	}
	if width != "360" {
		t.Errorf("page is %s px wide on a 360-px screen", width)
	}

	var end, dialAgain string
	err = chromedp.Run(ctx,
		browsertest.ClickNext(`nav.modes a[href*="mode=ussd"]`),
		chromedp.WaitVisible(`button.call`, chromedp.ByQuery),
		browsertest.ClickNext(`button.call`),
		waitText(`.ussd-text`, "1 Status"),
		browsertest.ClickNext(`button[aria-label="Answer 1"]`),
		waitText(`.ussd-text`, "Choose the person"),
		browsertest.EnterNext(`#answer`, "2"),
		waitText(`.ussd-text`, "Suresh Patil: partially vaccinated"),
		chromedp.Text(`.ussd-text`, &end, chromedp.ByQuery),
		chromedp.Text(`button.call`, &dialAgain, chromedp.ByQuery),
		shot("simulator-ussd.png"),
	)
	if err != nil {
		t.Fatalf("ussd: %v", err)
	}
	if dialAgain != "Dial again" {
		t.Errorf("END screen button %q", dialAgain)
	}
	var texts []string
	for _, c := range b.ussd {
		texts = append(texts, c[2])
	}
	if strings.Join(texts, "|") != "|1|1*2" {
		t.Errorf("USSD texts %q", texts)
	}

	ta, err := webpage.LoadWords(assets, stringsDir, "ta")
	if err != nil {
		t.Fatal(err)
	}
	var lang, state, screen, who, heading string
	var ok bool
	err = chromedp.Run(ctx,
		// The switch keeps the END screen on show.
		browsertest.ClickNext(`nav.langs a[hreflang="ta"]`),
		chromedp.AttributeValue(`html`, "lang", &lang, &ok, chromedp.ByQuery),
		chromedp.Text(`h1`, &heading, chromedp.ByQuery),
		chromedp.Text(`.ussd-state`, &state, chromedp.ByQuery),
		chromedp.Text(`.ussd-text`, &screen, chromedp.ByQuery),
		// The mode link has no ?lang=: the cookie keeps Tamil.
		browsertest.ClickNext(`nav.modes a[href*="mode=sms"]`),
		browsertest.ClickNext(`button[value="LANG TA"]`),
		chromedp.WaitVisible(`li.msg.in`, chromedp.ByQuery),
		chromedp.Text(`li.msg.in .who`, &who, chromedp.ByQuery),
		chromedp.EvaluateAsDevTools(`String(document.documentElement.scrollWidth)`, &width),
		shot("simulator-sms-ta.png"),
	)
	if err != nil {
		t.Fatalf("tamil: %v", err)
	}
	if lang != "ta" || heading != ta["heading"] || state != ta["session_ended"] || who != ta["you"] {
		t.Errorf("Tamil page: lang %q, heading %q, USSD %q, sender %q", lang, heading, state, who)
	}
	if !strings.Contains(screen, "Suresh Patil: partially vaccinated") {
		t.Errorf("the switch lost the USSD screen: %q", screen)
	}
	if b.sent[len(b.sent)-1] != "+919876500001 LANG TA" {
		t.Errorf("sent %q", b.sent)
	}
	if width != "360" {
		t.Errorf("Tamil page is %s px wide on a 360-px screen", width)
	}
}

// waitText waits until the text of sel contains want.
func waitText(sel, want string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var got string
		for {
			err := chromedp.Text(sel, &got, chromedp.ByQuery, chromedp.AtLeast(0)).Do(ctx)
			if err == nil && strings.Contains(got, want) {
				return nil
			}
			select {
			case <-ctx.Done():
				return errors.Join(ctx.Err(), errors.New("waiting for "+sel+" to show "+want+", it shows "+got))
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}
