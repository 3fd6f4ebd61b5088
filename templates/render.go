package templates

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// MaxVarLen is the most characters (runes) a variable value may hold once
// inserted: DLT scrubbing rejects a message whose {#var#} holds more.
const MaxVarLen = 30

// Mask is what Rendered.Masked shows in place of a secret value.
const Mask = "****"

// secretVars are the variables whose values never appear in Rendered.Masked:
// codes, OTPs, and a status card's token (its link shows the card to
// whoever has it).
var secretVars = []string{"code", "otp", "token"}

// Vars are the values to insert into a message, by variable name.
type Vars map[string]string

// Rendered is a message ready to send.
type Rendered struct {
	Template      string // message name, e.g. "appointment_slip"
	Language      string // "en", "hi", "mr"
	Body          string // the text to send, secrets included
	Masked        string // Body with every secret variable (code, otp, token) replaced by "****"; equals Body when the template has none
	DLTTemplateID string
	Count         // of Body
}

// Render fills message name in language lang with vars.
//
// Each value is cleaned before insertion: control characters and runs of
// white space become a single space, the value is trimmed, then cut to at
// most MaxVarLen (30) runes, because DLT scrubbing rejects a variable longer
// than 30 characters. The cut never leaves half a Devanagari syllable (a
// dangling virama or a consonant without its vowel sign), so it may keep a
// few runes fewer. Extra vars are ignored.
//
// Errors (wrapped, test with errors.Is): ErrUnknownTemplate when no message
// is called name; ErrUnknownLanguage when it exists but not in lang;
// ErrMissingVar, naming the variables, when a variable the message uses is
// absent from vars or blank after cleaning.
func (s *Set) Render(name, lang string, vars Vars) (Rendered, error) {
	byLang, ok := s.messages[name]
	if !ok {
		return Rendered{}, fmt.Errorf("%w %q", ErrUnknownTemplate, name)
	}
	m, ok := byLang[lang]
	if !ok {
		return Rendered{}, fmt.Errorf("%w: %q in %q (have %s)", ErrUnknownLanguage, name, lang, strings.Join(s.langs, ", "))
	}
	clean := make(map[string]string, len(m.vars))
	var missing []string
	for _, v := range m.vars {
		val := cleanValue(vars[v])
		if val == "" {
			missing = append(missing, fmt.Sprintf("%q", v))
			continue
		}
		clean[v] = val
	}
	if len(missing) > 0 {
		return Rendered{}, fmt.Errorf("%w %s for %s in %q", ErrMissingVar, strings.Join(missing, ", "), name, lang)
	}
	r := Rendered{
		Template:      name,
		Language:      lang,
		Body:          m.fill(clean, false),
		DLTTemplateID: m.dltID,
	}
	r.Masked = m.fill(clean, true)
	r.Count = CountText(r.Body)
	return r, nil
}

// fill writes the body with vals inserted, secrets masked if mask is set.
func (m *message) fill(vals map[string]string, mask bool) string {
	var b strings.Builder
	for _, p := range m.parts {
		switch {
		case p.v == "":
			b.WriteString(p.text)
		case mask && slices.Contains(secretVars, p.v):
			b.WriteString(Mask)
		default:
			b.WriteString(vals[p.v])
		}
	}
	return b.String()
}

// cleanValue turns control characters and white-space runs into single
// spaces, trims, and cuts to MaxVarLen runes.
func cleanValue(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	r := []rune(s)
	if len(r) <= MaxVarLen {
		return s
	}
	return strings.TrimSpace(string(r[:cutPoint(r, MaxVarLen)]))
}

// cutPoint returns where to cut r to keep at most n runes without breaking
// a written syllable: the cut moves back past combining marks (matras,
// nukta, variation selectors) and past a consonant joined to the next by a
// virama or ZWJ, so "वर्धा" is cut to "व", never to "वर्". It falls back to n
// when the whole prefix is one cluster.
func cutPoint(r []rune, n int) int {
	for i := n; i > 0; i-- {
		if !unicode.Is(unicode.M, r[i]) && !joiner(r[i-1]) {
			return i
		}
	}
	return n
}

// joiner reports whether r joins the next character into one cluster: a
// virama of an Indic script or the zero-width joiner.
func joiner(r rune) bool {
	switch r {
	case '\u094D', '\u09CD', '\u0A4D', '\u0ACD', '\u0B4D', '\u0BCD', '\u0C4D', '\u0CCD', '\u0D4D', '\u200D':
		return true
	}
	return false
}
