// Package browsertest drives Debian's Chromium headless for tests of the
// web pages, and keeps their screenshots as CI artefacts.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// executable finds a Chromium to drive, "" when there is none.
func executable() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts headless Chromium for the test and returns its context, or
// skips the test with a message when no Chromium is installed (.ci/run
// installs Debian's). The browser stops when the test ends.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := executable()
	if exe == "" {
		t.Skip("no Chromium at /usr/bin/chromium or in PATH (chromium, chromium-browser, google-chrome): browser test skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Save writes a screenshot under $SANDESH_ARTEFACTS (the test's temporary
// directory when unset) and returns its path.
func Save(t testing.TB, name string, png []byte) string {
	t.Helper()
	dir := os.Getenv("SANDESH_ARTEFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// The pages are plain HTML forms and links: a click or an Enter loads a
// new page, and until it has loaded the old one is still there, with the
// same ids. A wait for a selector right after the click can match the old
// page's node, which is gone by the time the next action uses it ("Could
// not find node with given id"). NextPage marks the old document first and
// returns only once another document has replaced it and loaded.

// leftMark is set on the document a NextPage leaves, a property of the
// document object only: the page neither shows nor keeps it.
const leftMark = "__browsertestLeft"

// nextPageTimeout bounds the wait for the next page.
const nextPageTimeout = 30 * time.Second

// NextPage runs actions that leave the page (a click on a link or a submit
// button, Enter in a form's field) and waits until the next page has
// replaced it and loaded (document.readyState "complete"), so that the
// actions after it see only the new page. It works with scripts disabled
// in the page: DevTools evaluates its checks. The actions must navigate:
// when they do not, NextPage fails after 30 seconds, saying where the
// browser still is.
func NextPage(actions ...chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Evaluate("document."+leftMark+" = true", nil).Do(ctx); err != nil {
			return fmt.Errorf("next page: mark the page it leaves: %w", err)
		}
		if err := chromedp.Tasks(actions).Do(ctx); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, nextPageTimeout)
		defer cancel()
		check := "document." + leftMark + " !== true && document.readyState === 'complete'"
		for {
			// Mid-navigation the evaluation may fail (the old page's
			// context is gone, the new one not there yet): ask again.
			var loaded bool
			if err := chromedp.Evaluate(check, &loaded).Do(wctx); err == nil && loaded {
				return nil
			}
			select {
			case <-wctx.Done():
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("next page: not loaded after %s: %s", nextPageTimeout, where(ctx))
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// where says which page the browser shows, for NextPage's error.
func where(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var at struct {
		Href  string `json:"href"`
		State string `json:"state"`
		Left  bool   `json:"left"`
	}
	err := chromedp.Evaluate("({href: document.location.href, state: document.readyState, left: document."+leftMark+" === true})", &at).Do(ctx)
	switch {
	case err != nil:
		return "cannot tell where the browser is: " + err.Error()
	case at.Left:
		return "still on the page it was to leave, " + at.Href
	default:
		return "at " + at.Href + ", " + at.State
	}
}

// ClickNext clicks the element sel (a CSS selector) and waits for the page
// the click loads; see NextPage.
func ClickNext(sel string) chromedp.Action {
	return NextPage(chromedp.Click(sel, chromedp.ByQuery))
}

// EnterNext types text into the field sel (a CSS selector), presses Enter
// to submit its form and waits for the page that loads; see NextPage.
func EnterNext(sel, text string) chromedp.Action {
	return NextPage(chromedp.SendKeys(sel, text+"\r", chromedp.ByQuery))
}
