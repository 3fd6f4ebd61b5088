package webpagetest

import (
	"io/fs"
	"strings"
	"testing"

	"sandesh/gateway/pages/webpage"
	"sandesh/langs"
)

// CheckStrings checks a page's strings, the files "<lang>.txt" of dir in
// fsys: there are at least n, each named by a language Sandesh speaks, each
// has en.txt's keys with the same {placeholders}, and each but en.txt has
// the texts of the keys native in its language's script (a text left in
// English shows there).
func CheckStrings(t testing.TB, fsys fs.FS, dir string, n int, native ...string) {
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
		l, ok := langs.Lookup(lang)
		if !ok {
			t.Errorf("%s: %q is not a language Sandesh speaks", f, lang)
			continue
		}
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
		for _, key := range native {
			if !strings.ContainsFunc(w[key], l.InScript) {
				t.Errorf("%s: %s = %q is not in the script %s", f, key, w[key], l.Script)
			}
		}
	}
}
