// Package keywords reads the command in the text of an inbound SMS.
//
// Citizens type on feature phones, often in a hurry and sometimes in
// Devanagari, so Parse is forgiving where that cannot hurt:
//
//   - Only the first word counts; what follows is ignored except the language
//     after LANG ("LANG HI"). Case, surrounding whitespace (including
//     non-breaking and zero-width spaces and a BOM) and full-width Latin
//     letters (ＳＴＡＴＵＳ) make no difference.
//   - Punctuation and emoji are not letters. Inside the first word they are
//     dropped, and the word is tried both whole and cut at the first of them:
//     "S.T.A.T.U.S" and "OPT-OUT" read as STATUS and OPTOUT, "STATUS,pls" and
//     "STATUS." as STATUS, "LANG:HI" as LANG HI.
//   - One typo (a letter added, dropped, changed, or two neighbours swapped) is
//     forgiven in Latin words of 4 or more letters, when it leaves only one
//     command the word can be: "STAUS" is STATUS, but "SLOP" (SLIP or STOP?)
//     is Unknown. Devanagari words are matched exactly, after folding the
//     spelling variants listed at fold.
//
// STOP is never mistaken for anything else: an exact keyword always wins over
// a typo, so STOP, STOPALL or UNSUBSCRIBE are read as written. A misspelt
// STOP ("STPO", "STOPP") is still an opt-out, because missing an opt-out is
// worse than an accidental one (which START undoes); but a word that is one
// typo from STOP and from another command ("SLOP", "USTOP") is Unknown, which
// the gateway answers with the help text listing STOP.
package keywords

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"sandesh/langs"
)

// Keyword is what a citizen asked for.
type Keyword string

// The keywords of API.md, plus Unknown and Empty for messages that are none.
const (
	Status Keyword = "status" // each beneficiary on the mobile with their status
	Slip   Keyword = "slip"   // the active appointment
	Code   Keyword = "code"   // resend the security code
	Cert   Keyword = "cert"   // certificate ids
	Card   Keyword = "card"   // a link to the shareable status card
	Help   Keyword = "help"   // the keywords
	Lang   Keyword = "lang"   // change the reply language; see Command.Arg
	Stop   Keyword = "stop"   // opt out of non-essential messages
	Start  Keyword = "start"  // opt back in

	// Unknown is a message with a word in it that is no keyword.
	Unknown Keyword = "unknown"
	// Empty is a message with no word at all: blank, only emoji or only
	// punctuation. It is kept apart from Unknown so the caller can choose to
	// stay silent, or answer with help, instead of "not understood".
	Empty Keyword = "empty"
)

// Command is an inbound SMS read as a keyword.
type Command struct {
	Keyword Keyword
	// Lang is the reply language the message itself implies: "hi" or "mr"
	// when the keyword was written as a Devanagari word of that language
	// only; "" otherwise, to keep the mobile's language. Words Hindi and
	// Marathi share (कोड, भाषा, बंद, …) and language names give "".
	Lang string
	// Arg is, for Lang, the language asked for: "en", "hi" or "mr"; "" when
	// it is missing or not one of these (the caller then explains LANG).
	// It is always "" for other keywords.
	Arg string
}

// Parse reads body, the text of an inbound SMS. It never fails: a body that
// is no keyword is Unknown, or Empty when it has no word in it. Invalid UTF-8
// is read as punctuation, and at most maxWordRunes letters of a word are
// looked at, so a long body costs no more than a short one.
func Parse(body string) Command {
	w := firstWord(body)
	if w.parts == 0 {
		switch {
		case w.long:
			return Command{Keyword: Unknown}
		case w.question: // "?" alone is the usual way to ask what one can send
			return Command{Keyword: Help}
		}
		return Command{Keyword: Empty}
	}

	// The word is tried whole (punctuation dropped) first, then cut at its
	// first punctuation; each with the word that would follow it, for LANG.
	type candidate struct {
		text string
		next func() string
	}
	cands := make([]candidate, 0, 2)
	if w.parts > 1 && !w.long {
		cands = append(cands, candidate{w.text, func() string { return nextWord(w.rest) }})
	}
	cands = append(cands, candidate{w.text[:w.cut1], func() string {
		if w.parts > 1 {
			return w.text[w.cut1:w.cut2]
		}
		return nextWord(w.rest)
	}})

	for _, c := range cands {
		if c.text == "opt" && c.next() == "out" { // "OPT OUT", as OPTOUT
			return Command{Keyword: Stop}
		}
		if cmd, ok := exact(c.text); ok {
			return withArg(cmd, c.next)
		}
	}
	for _, c := range cands {
		if cmd, ok := nearest(c.text); ok {
			return withArg(cmd, c.next)
		}
	}
	return Command{Keyword: Unknown}
}

// withArg fills in the language LANG asks for from the word after it.
func withArg(c Command, next func() string) Command {
	if c.Keyword == Lang && c.Arg == "" {
		c.Arg = language(next())
	}
	return c
}

// alias is a Latin word for a command.
type alias struct {
	word  string
	cmd   Command
	typos bool // whether a word one typo away is read as this one
}

// latin are the Latin-script words, lower case. Typos are not forgiven for
// words that are everyday English (a typo of QUIT is QUITE) or that exist
// only to stop a typo going elsewhere (STAT is one letter from START).
var latin = []alias{
	{"status", Command{Keyword: Status}, true},
	{"stat", Command{Keyword: Status}, false},
	{"stats", Command{Keyword: Status}, false},
	{"slip", Command{Keyword: Slip}, true},
	{"code", Command{Keyword: Code}, true},
	{"cert", Command{Keyword: Cert}, true},
	{"certificate", Command{Keyword: Cert}, true},
	{"card", Command{Keyword: Card}, true},
	{"help", Command{Keyword: Help}, true},
	{"info", Command{Keyword: Help}, true}, // Twilio's and the carriers' HELP synonym
	{"menu", Command{Keyword: Help}, true},
	{"lang", Command{Keyword: Lang}, true},
	{"language", Command{Keyword: Lang}, true},
	// A language named alone is a request for it ("HINDI").
	{"english", Command{Keyword: Lang, Arg: "en"}, true},
	{"hindi", Command{Keyword: Lang, Arg: "hi"}, true},
	{"marathi", Command{Keyword: Lang, Arg: "mr"}, true},
	{"bengali", Command{Keyword: Lang, Arg: "bn"}, true},
	{"bangla", Command{Keyword: Lang, Arg: "bn"}, true},
	{"tamil", Command{Keyword: Lang, Arg: "ta"}, true},
	{"telugu", Command{Keyword: Lang, Arg: "te"}, true},
	{"gujarati", Command{Keyword: Lang, Arg: "gu"}, true},
	{"kannada", Command{Keyword: Lang, Arg: "kn"}, true},
	{"malayalam", Command{Keyword: Lang, Arg: "ml"}, true},
	{"odia", Command{Keyword: Lang, Arg: "or"}, true},
	{"oriya", Command{Keyword: Lang, Arg: "or"}, true},
	{"punjabi", Command{Keyword: Lang, Arg: "pa"}, true},
	{"panjabi", Command{Keyword: Lang, Arg: "pa"}, true},
	{"assamese", Command{Keyword: Lang, Arg: "as"}, true},
	// Twilio's default opt-out words, so that our record agrees with what
	// Twilio itself enforces on a number that sent one of them. CANCEL is
	// among them: appointments are not cancelled by SMS here.
	{"stop", Command{Keyword: Stop}, true},
	{"stopall", Command{Keyword: Stop}, true},
	{"unsubscribe", Command{Keyword: Stop}, true},
	{"optout", Command{Keyword: Stop}, true},
	{"cancel", Command{Keyword: Stop}, false},
	{"end", Command{Keyword: Stop}, false},
	{"quit", Command{Keyword: Stop}, false},
	{"revoke", Command{Keyword: Stop}, false},
	// Twilio also opts in on YES; we do not. "Yes" is how people acknowledge
	// any message (a slip, a reminder), and it must not undo an opt-out.
	{"start", Command{Keyword: Start}, true},
	{"unstop", Command{Keyword: Start}, true},
	{"subscribe", Command{Keyword: Start}, true},
}

// minTypoLen is the shortest word a typo is forgiven in: in shorter words
// one letter is too much of the word ("SOP", "COD").
const minTypoLen = 4

// devanagari are the Hindi and Marathi words, in the form firstWord gives
// (no nukta, no zero-width joiners). Lang is "" for words both languages use,
// so the mobile's stored language is kept: कोड, भाषा and प्रमाणपत्र are the
// same in both, बंद is everyday Marathi too, and स्लिप and the other English
// words written in Devanagari belong to neither.
var devanagari = map[string]Command{
	"स्थिति":     {Keyword: Status, Lang: "hi"},
	"स्थीति":     {Keyword: Status, Lang: "hi"},
	"स्थिती":     {Keyword: Status, Lang: "mr"},
	"स्टेटस":     {Keyword: Status},
	"पर्ची":      {Keyword: Slip, Lang: "hi"},
	"स्लिप":      {Keyword: Slip},
	"कोड":        {Keyword: Code},
	"प्रमाणपत्र": {Keyword: Cert},
	"सर्टिफिकेट": {Keyword: Cert},
	"कार्ड":      {Keyword: Card},
	"मदद":        {Keyword: Help, Lang: "hi"},
	"मदत":        {Keyword: Help, Lang: "mr"},
	"हेल्प":      {Keyword: Help},
	"भाषा":       {Keyword: Lang},
	"बंद":        {Keyword: Stop},
	"थांबा":      {Keyword: Stop, Lang: "mr"},
	"स्टॉप":      {Keyword: Stop},
	"स्टाप":      {Keyword: Stop},
	"शुरू":       {Keyword: Start, Lang: "hi"},
	"शुरु":       {Keyword: Start, Lang: "hi"},
	"सुरू":       {Keyword: Start, Lang: "mr"},
	"सुरु":       {Keyword: Start, Lang: "mr"},
	"स्टार्ट":    {Keyword: Start},
	// Language names: the Arg says what to answer in.
	"हिंदी":    {Keyword: Lang, Arg: "hi"},
	"मराठी":    {Keyword: Lang, Arg: "mr"},
	"अंग्रेजी": {Keyword: Lang, Arg: "en"}, // Hindi; अंग्रेज़ी once the nukta is gone
	"इंग्रजी":  {Keyword: Lang, Arg: "en"}, // Marathi
	"इंग्लिश":  {Keyword: Lang, Arg: "en"},
}

// devanagariFolded is devanagari keyed by fold. A folded word that more than
// one entry gives keeps a Lang only if they all agree on it: स्थीती (both
// vowels long) is status in no particular language.
var devanagariFolded = foldTable(devanagari)

// langPrefixes start a LANG written without a space before its language.
var langPrefixes = []string{"language", "lang", "भाषा"}

// exact reads a word as written, or as a Devanagari spelling variant.
func exact(w string) (Command, bool) {
	if c, ok := lookup(w); ok {
		return c, true
	}
	for _, p := range langPrefixes { // "LANGHI"
		if rest, ok := strings.CutPrefix(w, p); ok && rest != "" {
			if arg := language(rest); arg != "" {
				return Command{Keyword: Lang, Arg: arg}, true
			}
		}
	}
	return Command{}, false
}

// lookup finds w in the tables, without prefixes or typos.
func lookup(w string) (Command, bool) {
	for _, a := range latin {
		if a.word == w {
			return a.cmd, true
		}
	}
	r, _ := utf8.DecodeRuneInString(w)
	if r < utf8.RuneSelf {
		return Command{}, false
	}
	if r < 0x0900 || r > 0x097F {
		c, ok := native[foldChillu(w)]
		return c, ok
	}
	if c, ok := devanagari[w]; ok {
		return c, true
	}
	c, ok := devanagariFolded[fold(w)]
	return c, ok
}

// language is the code of the language w names: a code, a name in English
// or in Devanagari, with a typo forgiven as for keywords. "" if none.
func language(w string) string {
	if l, ok := langs.Lookup(w); ok {
		return l.Code
	}
	switch w {
	case "eng", "hin", "mar":
		return w[:2]
	}
	c, ok := lookup(w)
	if !ok {
		c, ok = nearest(w)
	}
	if ok && c.Keyword == Lang {
		return c.Arg
	}
	return ""
}

// nearest is the command w is one typo away from, if there is exactly one.
// Only ASCII words are tried: other scripts have no typo rule here.
func nearest(w string) (Command, bool) {
	if len(w) < minTypoLen {
		return Command{}, false
	}
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			return Command{}, false
		}
	}
	var found Command
	n := 0
	for _, a := range latin {
		if !a.typos || len(a.word) < minTypoLen || !oneEdit(w, a.word) {
			continue
		}
		if n > 0 && a.cmd != found {
			return Command{}, false // as near to two commands: better to ask
		}
		found, n = a.cmd, n+1
	}
	return found, n > 0
}

// oneEdit reports whether ASCII strings a and b are at most one insertion,
// deletion, substitution or swap of neighbours apart (Damerau–Levenshtein
// distance ≤ 1).
func oneEdit(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0:
		if i == len(a) || a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i+1:] == b[i:]
	}
	return false
}

// maxWordRunes bounds how much of a word is read. The longest keyword has
// 11 letters; a word longer than this can be nothing, and stopping here keeps
// a 1,600-character body as cheap as a short one.
const maxWordRunes = 64

// word is the first word of a text: the first run of characters between
// whitespace that has a letter or digit in it.
type word struct {
	// text is its letters, digits and marks, lower case, punctuation and
	// emoji dropped: "S.T.A.T.U.S" is "status".
	text string
	// The parts of text are what punctuation separated: text[:cut1] is the
	// first and, when parts > 1, text[cut1:cut2] the second.
	cut1, cut2 int
	parts      int    // complete parts read
	long       bool   // more than maxWordRunes letters: text is cut short
	question   bool   // no letter at all, but a '?'
	rest       string // what follows the word
}

// firstWord finds the first word of s.
func firstWord(s string) word {
	var w word
	var arr [utf8.UTFMax * maxWordRunes]byte // enough for maxWordRunes: buf never grows
	buf := arr[:0]
	runes := 0
	inPart := false // the last character kept was a letter of the current part
	endPart := func() {
		if !inPart {
			return
		}
		inPart = false
		switch w.parts {
		case 0:
			w.cut1 = len(buf)
		case 1:
			w.cut2 = len(buf)
		}
		w.parts++
	}
	for i, r := range s {
		c, k := classify(r)
		if k == mark { // a vowel sign or virama belongs to the letter before it
			k = other
			if inPart {
				k = letter
			}
		}
		switch k {
		case space:
			if runes > 0 {
				endPart()
				w.text, w.rest = string(buf), s[i:]
				return w
			}
		case other:
			w.question = w.question || (c == '?' && runes == 0)
			endPart()
		case letter:
			if runes == maxWordRunes {
				w.long, w.text = true, string(buf) // the part being read is left out
				return w
			}
			runes++
			inPart = true
			buf = utf8.AppendRune(buf, c)
		}
	}
	endPart()
	w.text = string(buf)
	return w
}

// nextWord is the first part of the first word of s.
func nextWord(s string) string {
	w := firstWord(s)
	if w.parts == 0 {
		return ""
	}
	return w.text[:w.cut1]
}

// kind is what a character is to firstWord.
type kind int

const (
	ignore kind = iota // invisible: zero-width characters, BOM, variation selectors, nukta
	space              // ends a word
	letter             // letter or digit
	mark               // combining mark: a letter after a letter, else other
	other              // punctuation, symbols, emoji, invalid UTF-8 (U+FFFD)
)

// classify says what r is and gives it in the form words are matched in:
// lower case, full-width Latin made ASCII, nukta letters without the nukta.
func classify(r rune) (rune, kind) {
	if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII, as East Asian keyboards type it
		r -= 0xFEE0
	}
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r, letter
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A', letter
		case r <= ' ' || r == 0x7F:
			return r, space
		}
		return r, other
	}
	switch {
	case r == nukta, unicode.Is(unicode.Variation_Selector, r), unicode.Is(unicode.Cf, r):
		return r, ignore
	case unicode.IsSpace(r), unicode.IsControl(r):
		return r, space
	case unicode.IsLetter(r), unicode.IsDigit(r):
		if base, ok := nuktaLetters[r]; ok {
			return base, letter
		}
		return unicode.ToLower(r), letter
	case unicode.IsMark(r):
		return r, mark
	}
	return r, other
}

// nukta is the dot below that makes ज़ of ज. Phones type it both as a letter
// of its own (U+095B) and as the letter plus U+093C, and many leave it out;
// it never tells two keywords apart, so it is dropped in both forms.
const nukta = '\u093C'

// nuktaLetters are the precomposed nukta letters and the letter without it.
var nuktaLetters = map[rune]rune{
	'\u0929': '\u0928', // ऩ
	'\u0931': '\u0930', // ऱ
	'\u0934': '\u0933', // ऴ
	'\u0958': '\u0915', // क़
	'\u0959': '\u0916', // ख़
	'\u095A': '\u0917', // ग़
	'\u095B': '\u091C', // ज़
	'\u095C': '\u0921', // ड़
	'\u095D': '\u0922', // ढ़
	'\u095E': '\u092B', // फ़
	'\u095F': '\u092F', // य़
}

// fold merges Devanagari spellings people use for one word: long and short
// i and u (स्थिति, स्थीति; शुरू, शुरु), candrabindu and anusvara (अँग्रेजी),
// a half nasal and anusvara (हिन्दी, हिंदी; बन्द, बंद), and candra o and o
// (स्टॉप, स्टोप).
func fold(w string) string {
	const virama, anusvara = '\u094D', '\u0902'
	rs := []rune(w)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch r {
		case '\u0908': // ई
			r = '\u0907'
		case '\u090A': // ऊ
			r = '\u0909'
		case '\u0940': // ी
			r = '\u093F'
		case '\u0942': // ू
			r = '\u0941'
		case '\u0901': // ँ
			r = anusvara
		case '\u0949': // ॉ
			r = '\u094B'
		case '\u0919', '\u091E', '\u0923', '\u0928', '\u092E': // ङ ञ ण न म
			if i+2 < len(rs) && rs[i+1] == virama && rs[i+2] >= '\u0915' && rs[i+2] <= '\u0939' {
				r = anusvara
				i++ // the virama
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldTable keys words by fold; it panics if two commands fold together,
// which TestTables would show at once.
func foldTable(words map[string]Command) map[string]Command {
	m := make(map[string]Command, len(words))
	for w, c := range words {
		k := fold(w)
		if prev, ok := m[k]; ok {
			if prev.Keyword != c.Keyword || prev.Arg != c.Arg {
				panic("keywords: " + w + " folds into another command")
			}
			if prev.Lang != c.Lang {
				c.Lang = ""
			}
		}
		m[k] = c
	}
	return m
}
