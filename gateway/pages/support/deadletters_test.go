package support

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDeadLetters(t *testing.T) {
	r := newRig(t, allLangs, false)
	if resp := r.Get("/support/dead-letters"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("signed out: %d", resp.StatusCode)
	}
	r.signIn(adminKey)
	resp := r.Get("/support/dead-letters")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin: %d\n%s", resp.StatusCode, resp.Body)
	}
	for _, want := range []string{
		`<a id="dead-link" href="/support/dead-letters">Dead letters</a>`,
		`<caption>Newest first: 2 of 2.</caption>`,
		`<td data-label="Kind">Message</td>`,
		`<td data-label="What">Security code</td>`,
		`<td data-label="Mobile">&#43;91******3210</td>`,
		`<td data-label="Error">30008</td>`,
		`<td data-label="Kind">Owed SMS</td>`,
		`<td data-label="What">slip:APT7781</td>`,
		`<td data-label="Tries">10</td>`,
		`<input type="hidden" name="id" value="msg:msg_7Hq2x-Lz">`,
		`<button type="submit" class="retry">Retry</button>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	if hi := r.Get("/support/dead-letters?lang=hi"); !strings.Contains(hi.Body, "अटके संदेश") || !strings.Contains(hi.Body, "दोबारा भेजें") {
		t.Errorf("the list in Hindi:\n%s", hi.Body)
	}
	r.Get("/support/dead-letters?lang=en")

	for _, tc := range []struct {
		name, id     string
		csrf         bool
		retryErr     error
		wantStatus   int
		wantLocation string // a 303's
		wantText     string // the page's, else
		wantCalled   bool
	}{
		{"message", "msg:" + testMsgID, true, nil, 303, "/support/dead-letters?retried=msg_retried-1", "", true},
		{"debt", "debt:slip:" + testApptID, true, nil, 303, "/support/dead-letters?retried=owed", "", true},
		{"no token", "msg:" + testMsgID, false, nil, 403, "", "", false},
		{"empty id", "", true, nil, 422, "", "", false},
		{"id with a space", "msg: x", true, nil, 422, "", "", false},
		{"id too long", "msg:" + strings.Repeat("x", 200), true, nil, 422, "", "", false},
		{"retried already", "msg:" + testMsgID, true, &Error{Kind: ErrNotFound}, 404, "", "This one was retried already, or is gone.", true},
		{"expired", "msg:" + testMsgID, true, &Error{Kind: ErrExpired}, 409, "", "This message has expired", true},
		{"backend down", "msg:" + testMsgID, true, errors.New("redis down"), 503, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.fake.mu.Lock()
			r.fake.retryErr, r.fake.retried = tc.retryErr, nil
			r.fake.mu.Unlock()
			form := url.Values{"id": {tc.id}}
			if tc.csrf {
				form.Set("csrf", r.sessionCSRF())
			}
			resp := r.Post("/support/dead-letters/retry", form)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantLocation ||
				!strings.Contains(resp.Body, tc.wantText) {
				t.Fatalf("retry: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), resp.Body)
			}
			r.fake.mu.Lock()
			called := len(r.fake.retried) == 1 && r.fake.retried[0] == tc.id
			r.fake.mu.Unlock()
			if called != tc.wantCalled {
				t.Fatalf("backend called: %v, want %v", called, tc.wantCalled)
			}
			if tc.wantStatus == 422 && !strings.Contains(resp.Body, `<table id="dead-letters"`) {
				t.Errorf("a refused retry does not show the list again")
			}
		})
	}
	for retried, want := range map[string]string{
		"msg_retried-1": "Sent again as message msg_retried-1.",
		"owed":          "Owed again: the next sweep builds and sends it",
		"<b>":           "", // not an id: no note
	} {
		body := r.Get("/support/dead-letters?" + url.Values{"retried": {retried}}.Encode()).Body
		if got := flashRe.FindStringSubmatch(body); (want == "") != (got == nil) || got != nil && !strings.HasPrefix(got[1], want) {
			t.Errorf("after a retry of %q the note is %q, want %q", retried, got, want)
		}
	}
}

// TestDeadLettersAdminOnly: a support key sees no link, and the list and
// the retry answer 403 without asking the backend.
func TestDeadLettersAdminOnly(t *testing.T) {
	r := newRig(t, allLangs, false)
	r.signIn(supportKey)
	if strings.Contains(r.Get("/support").Body, "dead-link") {
		t.Error("a support key sees the dead letters link")
	}
	if resp := r.Get("/support/dead-letters"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("list: %d", resp.StatusCode)
	}
	form := url.Values{"csrf": {r.sessionCSRF()}, "id": {"msg:" + testMsgID}}
	if resp := r.Post("/support/dead-letters/retry", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("retry: %d", resp.StatusCode)
	}
	if n := r.fake.called("DeadLetters") + r.fake.called("RetryDeadLetter"); n != 0 {
		t.Errorf("the backend was asked %d times", n)
	}
}
