package keywords

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"sandesh/langs"
)

// The keywords of the languages not written in Devanagari or Latin live in
// native/<lang>.txt, one "keyword: word word …" a line, so that translators
// add words without touching Go code.
//
//go:embed native
var nativeFS embed.FS

// nativeTable maps each word of the native files, in the form firstWord gives
// it, to its command. A word two languages share (Bengali and Assamese share a
// script) implies neither: its Lang is "".
type nativeTable map[string]Command

var keywordsByName = map[string]Keyword{
	"status": Status, "slip": Slip, "code": Code, "cert": Cert, "card": Card,
	"help": Help, "lang": Lang, "stop": Stop, "start": Start,
}

// loadNative reads every native/<lang>.txt of fsys, and adds each language's
// own name (langs.Language.Native) as a request for it.
func loadNative(fsys fs.FS) (nativeTable, error) {
	t := nativeTable{}
	add := func(w string, c Command) {
		key := foldChillu(firstWord(w).text)
		if old, ok := t[key]; ok && old.Lang != c.Lang {
			c.Lang = ""
		}
		t[key] = c
	}
	for _, l := range langs.All() {
		if l.Script != "Latn" && l.Script != "Deva" {
			add(l.Native, Command{Keyword: Lang, Arg: l.Code})
		}
	}
	files, err := fs.Glob(fsys, "native/*.txt")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		lang := strings.TrimSuffix(strings.TrimPrefix(f, "native/"), ".txt")
		if _, ok := langs.Lookup(lang); !ok {
			return nil, fmt.Errorf("%s: %q is not a language code", f, lang)
		}
		file, err := fsys.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(file)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, words, ok := strings.Cut(line, ":")
			kw, known := keywordsByName[strings.TrimSpace(name)]
			if !ok || !known {
				file.Close()
				return nil, fmt.Errorf("%s:%d: want \"keyword: word word …\" with a keyword of %v", f, n, keywordNames())
			}
			for _, w := range strings.Fields(words) {
				if fw := firstWord(w); fw.parts != 1 || fw.text != strings.Join(strings.Fields(fw.text), "") {
					file.Close()
					return nil, fmt.Errorf("%s:%d: %q is not one word", f, n, w)
				}
				add(w, Command{Keyword: kw, Lang: lang})
			}
		}
		file.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return t, nil
}

func keywordNames() []string {
	return []string{"status", "slip", "code", "cert", "card", "help", "lang", "stop", "start"}
}

// native is the table of the embedded files; they are checked by a test, so
// a broken file cannot ship.
var native = mustLoadNative()

func mustLoadNative() nativeTable {
	t, err := loadNative(nativeFS)
	if err != nil {
		panic("keywords: " + err.Error())
	}
	return t
}

// chillus are Malayalam's atomic chillu letters and the consonant + virama
// that older keyboards type for them (with a zero-width joiner, which
// firstWord drops).
var chillus = strings.NewReplacer(
	"\u0D7A", "\u0D23\u0D4D", // ൺ
	"\u0D7B", "\u0D28\u0D4D", // ൻ
	"\u0D7C", "\u0D30\u0D4D", // ർ
	"\u0D7D", "\u0D32\u0D4D", // ൽ
	"\u0D7E", "\u0D33\u0D4D", // ൾ
	"\u0D7F", "\u0D15\u0D4D", // ൿ
	"\u0D4E", "\u0D30\u0D4D", // ൎ (dot reph, an old ർ)
)

// foldChillu writes a Malayalam word's chillus as consonant + virama, so
// that both ways of typing them match.
func foldChillu(w string) string {
	if !strings.ContainsFunc(w, func(r rune) bool { return r >= 0x0D00 && r <= 0x0D7F }) {
		return w
	}
	return chillus.Replace(w)
}
