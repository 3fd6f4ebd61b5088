package support

import (
	"testing"

	"sandesh/gateway/pages/webpage"
	"sandesh/gateway/pages/webpage/webpagetest"
)

// Every language file has en.txt's keys with the same {placeholders}, and
// its texts are in its own script.
func TestStringsFiles(t *testing.T) {
	webpagetest.CheckStrings(t, assets, stringsDir, 2,
		"lang_name", "brand", "search_heading", "resends_left", "err_session_ended",
		"errcode_30003", "warn_regenerate", "msg_status_delivered", "month_11")
}

// Every key the code builds from a name has its text: statuses, templates
// and actions that the console says in words.
func TestBuiltKeys(t *testing.T) {
	w, err := webpage.LoadWords(assets, stringsDir, "en")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range []string{"queued", "sending", "sent", "delivered", "undelivered", "failed", "received", "open", "ended"} {
		keys = append(keys, "msg_status_"+s)
	}
	for _, a := range []string{ActSecurityCode, ActRegenerate, ActSlip, ActConfirmation} {
		keys = append(keys, "act_"+a, "explain_"+a)
	}
	for _, s := range []string{"FULLY_VACCINATED", "PARTIALLY_VACCINATED", "NOT_VACCINATED"} {
		keys = append(keys, "status_"+s)
	}
	for _, k := range []ErrorKind{ErrForbidden, ErrInvalidMobile, ErrNotActive, ErrNoDose, ErrNotFound} {
		keys = append(keys, "err_"+string(k))
	}
	for _, p := range []string{pageSignIn, pageSearch, pageConfirm, pageAudit, pageProblem} {
		keys = append(keys, "title_"+p)
	}
	for _, k := range keys {
		if _, ok := w[k]; !ok {
			t.Errorf("en.txt has no %s", k)
		}
	}
}
