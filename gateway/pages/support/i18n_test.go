package support

import (
	"io/fs"
	"strings"
	"testing"
	"unicode"

	"sandesh/gateway/pages/webpage"
)

// Every language file has en.txt's keys with the same {placeholders}, and
// its texts are in its own script.
func TestStringsFiles(t *testing.T) {
	ref, err := loadWords("en")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(assets, stringsDir+"/*.txt")
	if err != nil || len(files) < 2 {
		t.Fatalf("language files %v, %v", files, err)
	}
	for _, f := range files {
		lang := strings.TrimSuffix(f[len(stringsDir)+1:], ".txt")
		w, err := loadWords(lang)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := webpage.SameShape(lang, w, ref); err != nil {
			t.Error(err)
		}
		if lang == "en" {
			continue
		}
		for _, key := range []string{"lang_name", "brand", "search_heading", "resends_left", "err_session_ended",
			"errcode_30003", "warn_regenerate", "msg_status_delivered", "month_11"} {
			if !strings.ContainsFunc(w[key], func(r rune) bool { return unicode.Is(unicode.Devanagari, r) }) {
				t.Errorf("%s: %s = %q is not in Devanagari", f, key, w[key])
			}
		}
	}
}

// Every key the code builds from a name has its text: statuses, templates
// and actions that the console says in words.
func TestBuiltKeys(t *testing.T) {
	w, err := loadWords("en")
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
