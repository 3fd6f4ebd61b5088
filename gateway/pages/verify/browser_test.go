package verify

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gofiber/fiber/v2"
)

// chromium is the browser to drive: /usr/bin/chromium, else one in PATH.
func chromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser does a whole check in a real browser on a 360-px wide
// screen, with the keyboard where a verifier would: sign in, request the
// OTP, confirm it and read "Fully vaccinated". The screenshot goes to
// $SANDESH_ARTEFACTS, else to the test's temporary directory.
func TestBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("no Chromium at /usr/bin/chromium or in PATH (chromium, chromium-browser, google-chrome, headless-shell): browser test skipped")
	}
	p, err := New(newFake(), []string{"en", "hi", "mr"}, false)
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	p.Mount(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	site := "http://" + ln.Addr().String()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var status, name, fontSize, location string
	var scrollWidth int
	var shot []byte
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(360, 780),
		chromedp.Navigate(site+"/verify"),
		chromedp.WaitVisible("#api_key", chromedp.ByQuery),
		chromedp.SendKeys("#api_key", testKey+kb.Enter, chromedp.ByQuery),
		chromedp.WaitVisible("#name", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Asha Patil", chromedp.ByQuery),
		chromedp.SendKeys("#mobile", "9876543210", chromedp.ByQuery),
		chromedp.Click("main button.primary", chromedp.ByQuery),
		chromedp.WaitVisible("#otp", chromedp.ByQuery),
		chromedp.SendKeys("#otp", testOTP+kb.Enter, chromedp.ByQuery),
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
	dir := os.Getenv("SANDESH_ARTEFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "verify-result-360px.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}
