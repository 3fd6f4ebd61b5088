package verify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// words are one language's page strings, by key.
type words map[string]string

// stringsDir holds one "<lang>.txt" a language: "key: text" a line, blank
// lines and "#" comments skipped.
const stringsDir = "assets/i18n"

// loadWords reads the strings of lang; fs.ErrNotExist when the page has
// none in that language.
func loadWords(fsys fs.FS, lang string) (words, error) {
	if lang == "" || strings.ContainsAny(lang, "/.\\") {
		return nil, fs.ErrNotExist
	}
	data, err := fs.ReadFile(fsys, stringsDir+"/"+lang+".txt")
	if err != nil {
		return nil, err
	}
	return parseWords(lang+".txt", data)
}

func parseWords(file string, data []byte) (words, error) {
	w := words{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, text, ok := strings.Cut(line, ":")
		key, text = strings.TrimSpace(key), strings.TrimSpace(text)
		switch {
		case !ok || key == "" || strings.ContainsAny(key, " \t"):
			return nil, fmt.Errorf("verify: %s:%d: want \"key: text\"", file, n)
		case text == "":
			return nil, fmt.Errorf("verify: %s:%d: %s has no text", file, n, key)
		case w[key] != "":
			return nil, fmt.Errorf("verify: %s:%d: %s twice", file, n, key)
		}
		w[key] = text
	}
	return w, sc.Err()
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// sameShape reports how w differs from the reference strings ref: a
// missing or extra key, or a text whose {placeholders} are not ref's.
func sameShape(lang string, w, ref words) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(ref)) {
		t, ok := w[k]
		if !ok {
			errs = append(errs, fmt.Errorf("verify: %s.txt has no %s", lang, k))
			continue
		}
		got, want := placeholder.FindAllString(t, -1), placeholder.FindAllString(ref[k], -1)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("verify: %s.txt: %s has %v, want %v", lang, k, got, want))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(w)) {
		if _, ok := ref[k]; !ok {
			errs = append(errs, fmt.Errorf("verify: %s.txt: %s is not in en.txt", lang, k))
		}
	}
	return errors.Join(errs...)
}

// text is the string of key with each {name} of pairs (name, value, …)
// filled in; the key itself when missing (New checks that none is).
func (w words) text(key string, pairs ...string) string {
	t, ok := w[key]
	if !ok {
		return key
	}
	if len(pairs) == 0 {
		return t
	}
	old := make([]string, 0, len(pairs))
	for i := 0; i+1 < len(pairs); i += 2 {
		old = append(old, "{"+pairs[i]+"}", pairs[i+1])
	}
	// One pass: a value holding "{mobile}" stays as it is.
	return strings.NewReplacer(old...).Replace(t)
}
