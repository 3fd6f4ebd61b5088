package webpage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Words are one language's page strings, by key.
type Words map[string]string

// LoadWords reads dir/<lang>.txt from fsys: "key: text" a line, blank
// lines and "#" comments skipped. fs.ErrNotExist when the page has no
// strings in that language.
func LoadWords(fsys fs.FS, dir, lang string) (Words, error) {
	if lang == "" || strings.ContainsAny(lang, "/.\\") {
		return nil, fs.ErrNotExist
	}
	data, err := fs.ReadFile(fsys, dir+"/"+lang+".txt")
	if err != nil {
		return nil, err
	}
	return ParseWords(lang+".txt", data)
}

// ParseWords reads the strings of one file; file names it in errors.
func ParseWords(file string, data []byte) (Words, error) {
	w := Words{}
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
			return nil, fmt.Errorf("strings: %s:%d: want \"key: text\"", file, n)
		case text == "":
			return nil, fmt.Errorf("strings: %s:%d: %s has no text", file, n, key)
		case w[key] != "":
			return nil, fmt.Errorf("strings: %s:%d: %s twice", file, n, key)
		}
		w[key] = text
	}
	return w, sc.Err()
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// SameShape reports how w differs from the reference strings ref: a
// missing or extra key, or a text whose {placeholders} are not ref's.
func SameShape(lang string, w, ref Words) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(ref)) {
		t, ok := w[k]
		if !ok {
			errs = append(errs, fmt.Errorf("strings: %s.txt has no %s", lang, k))
			continue
		}
		got, want := placeholder.FindAllString(t, -1), placeholder.FindAllString(ref[k], -1)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("strings: %s.txt: %s has %v, want %v", lang, k, got, want))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(w)) {
		if _, ok := ref[k]; !ok {
			errs = append(errs, fmt.Errorf("strings: %s.txt: %s is not in en.txt", lang, k))
		}
	}
	return errors.Join(errs...)
}

// LoadLanguages reads the strings of each configured language that dir
// has, checked against en.txt; the first is the default. Languages
// without strings are left out; with none left the page is in English.
func LoadLanguages(fsys fs.FS, dir string, languages []string) ([]string, map[string]Words, error) {
	ref, err := LoadWords(fsys, dir, "en")
	if err != nil {
		return nil, nil, fmt.Errorf("en strings: %w", err)
	}
	var langs []string
	words := map[string]Words{}
	for _, l := range languages {
		if slices.Contains(langs, l) {
			continue
		}
		w, err := LoadWords(fsys, dir, l)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if err := SameShape(l, w, ref); err != nil {
			return nil, nil, err
		}
		langs = append(langs, l)
		words[l] = w
	}
	if len(langs) == 0 {
		langs, words["en"] = []string{"en"}, ref
	}
	return langs, words, nil
}

// Or is the string of key, else fallback: a state, template or lane that
// the strings do not know yet is better shown under its own name than as
// a key.
func (w Words) Or(key, fallback string) string {
	if t, ok := w[key]; ok {
		return t
	}
	return fallback
}

// Text is the string of key with each {name} of pairs (name, value, …)
// filled in; the key itself when missing (SameShape checks that none is).
func (w Words) Text(key string, pairs ...string) string {
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

// Date is t as "23 Nov 2026", with the month in these words (month_1 to
// month_12).
func (w Words) Date(t time.Time) string {
	return fmt.Sprintf("%d %s %d", t.Day(), w.Text("month_"+strconv.Itoa(int(t.Month()))), t.Year())
}

// DateTime is t in loc as "23 Nov 2026, 14:05"; "" for the zero time.
func (w Words) DateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	return w.Date(t) + ", " + t.Format("15:04")
}
