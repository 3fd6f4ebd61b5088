package templates

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

//go:embed messages words ussd
var files embed.FS

// dltVar is how the DLT portal writes a variable in a registered text.
const dltVar = "{#var#}"

// Errors returned, wrapped with context, by Set.Render.
var (
	ErrUnknownTemplate = errors.New("templates: unknown template")
	ErrUnknownLanguage = errors.New("templates: template not available in this language")
	ErrMissingVar      = errors.New("templates: missing variable")
)

// Set is the parsed, validated message set. It is immutable after Load and
// safe for concurrent use.
type Set struct {
	messages map[string]map[string]*message // name → lang → message
	names    []string                       // sorted
	langs    []string                       // sorted
	words    map[string]map[string]string   // lang → key → text
	screens  map[string]map[string]*screen  // lang → key → USSD screen (screens.go)
}

// message is one template in one language.
type message struct {
	name, lang string
	dltID      string
	dltText    string
	parts      []part   // the body: literal text and insertions, in order
	vars       []string // distinct variable names, in body order
}

// part is a literal text (v == "") or the insertion of variable v.
type part struct {
	text, v string
}

var (
	nameRe  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	langRe  = regexp.MustCompile(`^[a-z]{2,3}$`)
	dltIDRe = regexp.MustCompile(`^[0-9]{19}$`)
)

// Load parses and validates the embedded message and word files. Its errors
// name the bad file. Call it once at start-up and pass the Set down.
func Load() (*Set, error) {
	return load(files)
}

// load builds a Set from fsys, laid out as messages/<lang>/<name>.txt and
// words/<lang>.txt.
func load(fsys fs.FS) (*Set, error) {
	s := &Set{
		messages: map[string]map[string]*message{},
		words:    map[string]map[string]string{},
	}
	langDirs, err := fs.ReadDir(fsys, "messages")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	ids := map[string]string{} // DLT id → file using it
	for _, d := range langDirs {
		lang := d.Name()
		dir := path.Join("messages", lang)
		if !d.IsDir() || !langRe.MatchString(lang) {
			return nil, fmt.Errorf("templates: %s: want a language directory such as messages/en", dir)
		}
		s.langs = append(s.langs, lang)
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		for _, e := range entries {
			file := path.Join(dir, e.Name())
			name, ok := strings.CutSuffix(e.Name(), ".txt")
			if e.IsDir() || !ok || !nameRe.MatchString(name) {
				return nil, fmt.Errorf("templates: %s: want a file named <name>.txt, name in lower_snake_case", file)
			}
			data, err := fs.ReadFile(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			m, err := parseMessage(name, lang, string(data))
			if err != nil {
				return nil, fmt.Errorf("templates: %s: %w", file, err)
			}
			if other, dup := ids[m.dltID]; dup {
				return nil, fmt.Errorf("templates: %s: DLT template id %s already used by %s", file, m.dltID, other)
			}
			ids[m.dltID] = file
			if s.messages[name] == nil {
				s.messages[name] = map[string]*message{}
				s.names = append(s.names, name)
			}
			s.messages[name][lang] = m
		}
	}
	if len(s.langs) == 0 {
		return nil, errors.New("templates: messages: no language directories")
	}
	sort.Strings(s.langs)
	sort.Strings(s.names)
	if err := s.checkComplete(); err != nil {
		return nil, err
	}
	if err := s.loadWords(fsys); err != nil {
		return nil, err
	}
	if err := s.loadScreens(fsys); err != nil {
		return nil, err
	}
	return s, nil
}

// checkComplete requires every message in every language, with the same
// variables, so a caller can render any message in any language with one Vars.
func (s *Set) checkComplete() error {
	for _, name := range s.names {
		var ref *message
		for _, lang := range s.langs {
			m, ok := s.messages[name][lang]
			if !ok {
				return fmt.Errorf("templates: messages/%s/%s.txt: missing (every message must exist in every language)", lang, name)
			}
			if ref == nil {
				ref = m
				continue
			}
			a, b := slices.Sorted(slices.Values(ref.vars)), slices.Sorted(slices.Values(m.vars))
			if !slices.Equal(a, b) {
				return fmt.Errorf("templates: messages/%s/%s.txt: variables %v differ from messages/%s/%s.txt %v",
					lang, name, b, ref.lang, name, a)
			}
		}
	}
	return nil
}

// parseMessage parses one message file (see the package documentation).
func parseMessage(name, lang, data string) (*message, error) {
	m := &message{name: name, lang: lang}
	head, body, ok := strings.Cut(data, "\n---\n")
	if !ok {
		// A file whose header is empty starts with the separator.
		if rest, found := strings.CutPrefix(data, "---\n"); found {
			head, body, ok = "", rest, true
		}
	}
	if !ok {
		return nil, errors.New(`no "---" line between header and body`)
	}
	for i, line := range strings.Split(head, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok {
			return nil, fmt.Errorf("line %d: want \"key: value\"", i+1)
		}
		var dst *string
		switch key {
		case "id":
			dst = &m.dltID
		case "dlt":
			dst = &m.dltText
		default:
			return nil, fmt.Errorf("line %d: unknown header key %q (want id, dlt)", i+1, key)
		}
		if *dst != "" {
			return nil, fmt.Errorf("line %d: header key %q given twice", i+1, key)
		}
		*dst = val
	}
	switch {
	case m.dltID == "":
		return nil, errors.New(`header has no "id:" (the DLT template id)`)
	case !dltIDRe.MatchString(m.dltID):
		return nil, fmt.Errorf("DLT template id %q is not 19 digits", m.dltID)
	case m.dltText == "":
		return nil, errors.New(`header has no "dlt:" (the registered DLT text)`)
	}

	body = strings.TrimSuffix(body, "\n")
	if strings.TrimSpace(body) == "" {
		return nil, errors.New("empty body")
	}
	if strings.ContainsAny(body, "\r\n") {
		return nil, errors.New("body must be one line, like its DLT text")
	}
	t, err := template.New(name).Parse(body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if t.Tree == nil || t.Root == nil {
		return nil, errors.New("body: nothing parsed")
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("body: {{define}} is not allowed")
	}
	var asDLT strings.Builder
	inserts := 0
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			m.parts = append(m.parts, part{text: string(n.Text)})
			asDLT.Write(n.Text)
		case *parse.ActionNode:
			v, ok := insertion(n)
			if !ok {
				return nil, fmt.Errorf("body: %s: only plain insertions such as {{.center}} are allowed", n)
			}
			m.parts = append(m.parts, part{v: v})
			if !slices.Contains(m.vars, v) {
				m.vars = append(m.vars, v)
			}
			asDLT.WriteString(dltVar)
			inserts++
		default:
			return nil, fmt.Errorf("body: %s: only plain insertions such as {{.center}} are allowed", n)
		}
	}
	if n := strings.Count(m.dltText, dltVar); n != inserts {
		return nil, fmt.Errorf("DLT text has %d %s, body inserts %d variables", n, dltVar, inserts)
	}
	if got := asDLT.String(); got != m.dltText {
		at := commonPrefix(got, m.dltText)
		return nil, fmt.Errorf("body does not match its DLT text from character %d: body %q, DLT %q",
			len([]rune(got[:at]))+1, excerpt(got, at), excerpt(m.dltText, at))
	}
	return m, nil
}

// insertion returns the variable name of an action {{.name}}, and false for
// any other action.
func insertion(n *parse.ActionNode) (string, bool) {
	p := n.Pipe
	if p == nil || len(p.Decl) != 0 || p.IsAssign || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "", false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 || !nameRe.MatchString(f.Ident[0]) {
		return "", false
	}
	return f.Ident[0], true
}

// commonPrefix is the byte length of the longest common prefix of a and b,
// backed off to a rune boundary.
func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	for i > 0 && i < len(a) && !isRuneStart(a[i]) {
		i--
	}
	return i
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// excerpt is up to 20 runes of s from byte offset at.
func excerpt(s string, at int) string {
	r := []rune(s[at:])
	if len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return string(r)
}

// loadWords reads words/<lang>.txt for every language that has one. Keys of
// other languages must also exist in en, which catches misspelt keys.
func (s *Set) loadWords(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, "words")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	for _, e := range entries {
		file := path.Join("words", e.Name())
		lang, ok := strings.CutSuffix(e.Name(), ".txt")
		if e.IsDir() || !ok || !langRe.MatchString(lang) {
			return fmt.Errorf("templates: %s: want a file named <lang>.txt", file)
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		words, err := parseWords(string(data))
		if err != nil {
			return fmt.Errorf("templates: %s: %w", file, err)
		}
		s.words[lang] = words
	}
	for lang, words := range s.words {
		if lang == "en" {
			continue
		}
		for key := range words {
			if _, ok := s.words["en"][key]; !ok {
				return fmt.Errorf("templates: words/%s.txt: key %q is not in words/en.txt", lang, key)
			}
		}
	}
	return nil
}

// parseWords parses "key: text" lines; blank lines and # comments are skipped.
func parseWords(data string) (map[string]string, error) {
	words := map[string]string{}
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case !ok || !nameRe.MatchString(key) || val == "":
			return nil, fmt.Errorf("line %d: want \"key: text\", key in lower_snake_case", i+1)
		case words[key] != "":
			return nil, fmt.Errorf("line %d: key %q given twice", i+1, key)
		}
		words[key] = val
	}
	return words, nil
}

// Has reports whether the message name exists in language lang.
func (s *Set) Has(name, lang string) bool {
	_, ok := s.messages[name][lang]
	return ok
}

// Names returns the message names, sorted.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Languages returns the language codes, sorted: as, bn, en, gu, hi, ….
func (s *Set) Languages() []string { return slices.Clone(s.langs) }

// DLT returns the DLT template id of message name in language lang and its
// registered DLT text, with each variable written {#var#}.
func (s *Set) DLT(name, lang string) (id, text string, ok bool) {
	m, ok := s.messages[name][lang]
	if !ok {
		return "", "", false
	}
	return m.dltID, m.dltText, true
}

// Vars returns the variables message name uses, in order of first use in
// its English (or first language's) body; nil when the message is unknown.
func (s *Set) Vars(name string) []string {
	for _, lang := range append([]string{"en"}, s.langs...) {
		if m, ok := s.messages[name][lang]; ok {
			return slices.Clone(m.vars)
		}
	}
	return nil
}

// Word returns the short localised text for key in lang (e.g.
// Word("hi", "fully_vaccinated")), falling back to English, then to key
// itself, so it always returns something printable.
func (s *Set) Word(lang, key string) string {
	if w, ok := s.words[lang][key]; ok {
		return w
	}
	if w, ok := s.words["en"][key]; ok {
		return w
	}
	return key
}
