package verify

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
	if err != nil || len(files) < 3 {
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
		for _, key := range []string{"lang_name", "title", "status_FULLY_VACCINATED", "err_otp_mismatch", "month_11"} {
			if !strings.ContainsFunc(w[key], func(r rune) bool { return unicode.Is(unicode.Devanagari, r) }) {
				t.Errorf("%s: %s = %q is not in Devanagari", f, key, w[key])
			}
		}
	}
}
