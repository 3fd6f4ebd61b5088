package templates

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode"
)

// USSD screens
//
// ussd/<lang>.txt holds the texts of the USSD menu in one language. A line
// "[key]" (key in lower_snake_case) starts a screen; the lines after it, up
// to the next "[key]" line, are its text, one line of the handset screen
// each. Lines are trimmed; lines starting with "#" are comments; blank lines
// at the end of a screen are dropped. The text may insert variables as
// {{.name}}, nothing else (no conditionals, pipelines or functions):
//
//	# Main menu
//	[main]
//	1 Status
//	2 Appointment
//
//	[no_certificate]
//	{{.name}} has no vaccination certificate yet.
//
// Every language of messages/ must have a screen file with the same keys,
// each using the same variables. Unlike messages, screens are not DLT
// templates: they have no id and their values are inserted as given, not
// cleaned or cut, because the USSD menu fits them to the handset itself
// (see Shorten).

// screen is one USSD screen in one language.
type screen struct {
	key, lang string
	parts     []part
	vars      []string // distinct variable names, in text order
}

// loadScreens reads ussd/<lang>.txt. A set without a ussd directory has no
// screens.
func (s *Set) loadScreens(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, "ussd")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	s.screens = map[string]map[string]*screen{}
	for _, e := range entries {
		file := path.Join("ussd", e.Name())
		lang, ok := strings.CutSuffix(e.Name(), ".txt")
		if e.IsDir() || !ok || !langRe.MatchString(lang) {
			return fmt.Errorf("templates: %s: want a file named <lang>.txt", file)
		}
		if !slices.Contains(s.langs, lang) {
			return fmt.Errorf("templates: %s: no messages/%s for this language", file, lang)
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		screens, err := parseScreens(lang, string(data))
		if err != nil {
			return fmt.Errorf("templates: %s: %w", file, err)
		}
		s.screens[lang] = screens
	}
	// Every language has every screen, with the same variables, so the menu
	// can render any screen in any language.
	var ref string // the first language, sorted
	for _, lang := range s.langs {
		if s.screens[lang] == nil {
			return fmt.Errorf("templates: ussd/%s.txt: missing (every language needs its USSD screens)", lang)
		}
		if ref == "" {
			ref = lang
		}
	}
	for _, lang := range s.langs[1:] {
		for _, key := range unionKeys(s.screens[ref], s.screens[lang]) {
			a, b := s.screens[ref][key], s.screens[lang][key]
			switch {
			case a == nil:
				return fmt.Errorf("templates: ussd/%s.txt: screen [%s] is not in ussd/%s.txt", lang, key, ref)
			case b == nil:
				return fmt.Errorf("templates: ussd/%s.txt: screen [%s] missing (it is in ussd/%s.txt)", lang, key, ref)
			}
			va, vb := slices.Sorted(slices.Values(a.vars)), slices.Sorted(slices.Values(b.vars))
			if !slices.Equal(va, vb) {
				return fmt.Errorf("templates: ussd/%s.txt: screen [%s] uses variables %v, ussd/%s.txt %v", lang, key, vb, ref, va)
			}
		}
	}
	return nil
}

// unionKeys is the sorted union of the keys of a and b.
func unionKeys(a, b map[string]*screen) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if a[k] == nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// parseScreens parses one screen file (see loadScreens).
func parseScreens(lang, data string) (map[string]*screen, error) {
	screens := map[string]*screen{}
	var (
		key   string
		start int // line number of the "[key]" line
		lines []string
	)
	flush := func() error {
		if key == "" {
			return nil
		}
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) == 0 {
			return fmt.Errorf("line %d: screen [%s] is empty", start, key)
		}
		sc, err := parseScreen(key, lang, strings.Join(lines, "\n"))
		if err != nil {
			return fmt.Errorf("line %d: screen [%s]: %w", start, key, err)
		}
		screens[key] = sc
		return nil
	}
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, ok := strings.CutPrefix(line, "["); ok {
			k, ok = strings.CutSuffix(k, "]")
			if !ok || !nameRe.MatchString(k) {
				return nil, fmt.Errorf("line %d: want a screen key such as [main], in lower_snake_case", i+1)
			}
			if err := flush(); err != nil {
				return nil, err
			}
			if screens[k] != nil || k == key {
				return nil, fmt.Errorf("line %d: screen [%s] given twice", i+1, k)
			}
			key, start, lines = k, i+1, nil
			continue
		}
		if key == "" {
			if line != "" {
				return nil, fmt.Errorf("line %d: text before the first [key] line", i+1)
			}
			continue
		}
		if line == "" && len(lines) == 0 {
			continue // blank lines right after [key]
		}
		lines = append(lines, line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(screens) == 0 {
		return nil, errors.New("no screens")
	}
	return screens, nil
}

// parseScreen parses the text of one screen: literal text and plain
// insertions {{.name}}.
func parseScreen(key, lang, text string) (*screen, error) {
	sc := &screen{key: key, lang: lang}
	t, err := template.New(key).Parse(text)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("{{define}} is not allowed")
	}
	if t.Tree == nil || t.Root == nil {
		return nil, errors.New("nothing parsed")
	}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			sc.parts = append(sc.parts, part{text: string(n.Text)})
		case *parse.ActionNode:
			v, ok := insertion(n)
			if !ok {
				return nil, fmt.Errorf("%s: only plain insertions such as {{.name}} are allowed", n)
			}
			sc.parts = append(sc.parts, part{v: v})
			if !slices.Contains(sc.vars, v) {
				sc.vars = append(sc.vars, v)
			}
		default:
			return nil, fmt.Errorf("%s: only plain insertions such as {{.name}} are allowed", n)
		}
	}
	return sc, nil
}

// Screen renders the USSD screen key in language lang with vars. Values are
// inserted exactly as given (they may hold line breaks, e.g. a list or
// another screen): the caller cleans and shortens user data (see Shorten).
// A value may be empty; extra vars are ignored.
//
// Errors (wrapped, test with errors.Is): ErrUnknownTemplate when there is
// no screen key; ErrUnknownLanguage when lang has no screens; ErrMissingVar,
// naming the variables, when a variable the screen uses is absent from vars.
func (s *Set) Screen(lang, key string, vars Vars) (string, error) {
	byKey, ok := s.screens[lang]
	if !ok {
		return "", fmt.Errorf("%w: USSD screens in %q (have %s)", ErrUnknownLanguage, lang, strings.Join(s.screenLangs(), ", "))
	}
	sc, ok := byKey[key]
	if !ok {
		return "", fmt.Errorf("%w: USSD screen %q", ErrUnknownTemplate, key)
	}
	var missing []string
	for _, v := range sc.vars {
		if _, ok := vars[v]; !ok {
			missing = append(missing, fmt.Sprintf("%q", v))
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w %s for USSD screen %s in %q", ErrMissingVar, strings.Join(missing, ", "), key, lang)
	}
	var b strings.Builder
	for _, p := range sc.parts {
		if p.v == "" {
			b.WriteString(p.text)
		} else {
			b.WriteString(vars[p.v])
		}
	}
	return b.String(), nil
}

// HasScreen reports whether the USSD screen key exists in language lang.
func (s *Set) HasScreen(key, lang string) bool {
	_, ok := s.screens[lang][key]
	return ok
}

// ScreenKeys returns the keys of the USSD screens, sorted.
func (s *Set) ScreenKeys() []string {
	langs := s.screenLangs()
	if len(langs) == 0 {
		return nil
	}
	var keys []string // every language has the same keys (loadScreens)
	for k := range s.screens[langs[0]] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ScreenVars returns the variables USSD screen key uses, in order of first
// use in its English (or first language's) text; nil when there is no such
// screen.
func (s *Set) ScreenVars(key string) []string {
	for _, lang := range append([]string{"en"}, s.screenLangs()...) {
		if sc, ok := s.screens[lang][key]; ok {
			return slices.Clone(sc.vars)
		}
	}
	return nil
}

// screenLangs is the sorted languages that have screens.
func (s *Set) screenLangs() []string {
	var langs []string
	for _, lang := range s.langs {
		if s.screens[lang] != nil {
			langs = append(langs, lang)
		}
	}
	return langs
}

// Shorten returns s if it has at most n runes, else its longest prefix of
// at most n runes that ends between two written syllables, trailing white
// space removed: "वर्धा" cut to 3 runes is "व", never "वर्" (see cutPoint).
// Unlike cutPoint it never falls back to a cut inside a syllable: when the
// first syllable alone is longer than n it returns "".
func Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for i := n; i > 0; i-- {
		if !unicode.Is(unicode.M, r[i]) && !joiner(r[i-1]) {
			return strings.TrimRightFunc(string(r[:i]), unicode.IsSpace)
		}
	}
	return ""
}
