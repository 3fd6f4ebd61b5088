package verify

import (
	"io/fs"
	"strings"
	"testing"
	"unicode"
)

// Every language file has en.txt's keys with the same {placeholders}, and
// its texts are in its own script.
func TestStringsFiles(t *testing.T) {
	ref, err := loadWords(assets, "en")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(assets, stringsDir+"/*.txt")
	if err != nil || len(files) < 3 {
		t.Fatalf("language files %v, %v", files, err)
	}
	for _, f := range files {
		lang := strings.TrimSuffix(f[len(stringsDir)+1:], ".txt")
		w, err := loadWords(assets, lang)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := sameShape(lang, w, ref); err != nil {
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

func TestParseWords(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
		want              words
	}{
		{"comments and blanks", "# c\n\nkey: text: with colon\n", "", words{"key": "text: with colon"}},
		{"spaces trimmed", "  k :  v  \n", "", words{"k": "v"}},
		{"no colon", "key text\n", "x.txt:1", nil},
		{"no text", "a: b\nkey:\n", "x.txt:2: key has no text", nil},
		{"key with space", "a key: text\n", "x.txt:1", nil},
		{"twice", "k: a\nk: b\n", "k twice", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWords("x.txt", []byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v, %v; want %v", got, err, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestSameShape(t *testing.T) {
	ref := words{"a": "x {n}", "b": "y"}
	for _, tc := range []struct {
		name    string
		w       words
		wantErr string
	}{
		{"same", words{"a": "X {n}", "b": "Y"}, ""},
		{"missing key", words{"a": "X {n}"}, "has no b"},
		{"extra key", words{"a": "X {n}", "b": "Y", "c": "Z"}, "c is not in en.txt"},
		{"placeholder lost", words{"a": "X", "b": "Y"}, "a has []"},
		{"placeholder renamed", words{"a": "X {m}", "b": "Y"}, "a has [{m}]"},
	} {
		err := sameShape("xx", tc.w, ref)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestTextFillsOnce(t *testing.T) {
	w := words{"checking": "Checking: {name}, {mobile}"}
	if got := w.text("checking", "name", "{mobile}", "mobile", "98"); got != "Checking: {mobile}, 98" {
		t.Errorf("got %q", got)
	}
	if got := w.text("nope"); got != "nope" {
		t.Errorf("missing key gave %q", got)
	}
}
