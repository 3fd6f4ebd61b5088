package webpagetest

import (
	"io/fs"
	"strings"
	"testing"
	"unicode"

	"sandesh/gateway/pages/webpage"
)

// CheckStrings checks a page's strings, the files "<lang>.txt" of dir in
// fsys: there are at least n, each has en.txt's keys with the same
// {placeholders}, and each but en.txt has the texts of the keys
// devanagari in Devanagari, the script of the pages' other languages (a
// text left in English shows there).
func CheckStrings(t testing.TB, fsys fs.FS, dir string, n int, devanagari ...string) {
	t.Helper()
	ref, err := webpage.LoadWords(fsys, dir, "en")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(fsys, dir+"/*.txt")
	if err != nil || len(files) < n {
		t.Fatalf("language files %v, %v", files, err)
	}
	for _, f := range files {
		lang := strings.TrimSuffix(f[len(dir)+1:], ".txt")
		w, err := webpage.LoadWords(fsys, dir, lang)
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
		for _, key := range devanagari {
			if !strings.ContainsFunc(w[key], func(r rune) bool { return unicode.Is(unicode.Devanagari, r) }) {
				t.Errorf("%s: %s = %q is not in Devanagari", f, key, w[key])
			}
		}
	}
}
