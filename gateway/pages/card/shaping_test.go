package card

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/go-text/typesetting/font"
)

// TestEveryScriptIsShaped: each script's text is set in its own font and
// shaped, not drawn rune by rune. A conjunct comes out as fewer glyphs
// than runes, in one cluster (so that shortening a line can never split
// it); a pre-base vowel sign is drawn before its consonant although it is
// typed after it.
func TestEveryScriptIsShaped(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	for _, tc := range []struct {
		fam      family
		lang     string // the card's
		conjunct string // consonant + virama + consonant
		prebase  string // consonant + a vowel sign drawn before it; "" when the script has none
	}{
		{devanagari, "hi", "क्ष", "कि"},
		{devanagari, "mr", "क्ष", "कि"},
		{bengali, "bn", "ক্ষ", "কি"},
		{bengali, "as", "ক্ৰ", "কে"}, // Assamese ra, below-base
		{tamil, "ta", "க்ஷ", "கெ"},
		{telugu, "te", "క్ష", ""}, // ష below-base
		{gujarati, "gu", "ક્ષ", "કિ"},
		{kannada, "kn", "ಕ್ಷ", ""}, // ಷ below-base
		{malayalam, "ml", "ക്ഷ", "കെ"},
		{oriya, "or", "କ୍ଷ", "କେ"},
		{gurmukhi, "pa", "ਕ੍ਰ", "ਕਿ"}, // ਰ below-base
	} {
		t.Run(tc.lang+"/"+tc.conjunct, func(t *testing.T) {
			face := w.faces[faceOf(tc.fam, false)]
			nominal := func(c rune) font.GID {
				t.Helper()
				g, ok := face.NominalGlyph(c)
				if !ok {
					t.Fatalf("%s has no glyph for %U", faceOf(tc.fam, false).file(), c)
				}
				return g
			}
			shaped := func(s string) []glyphInfo {
				t.Helper()
				ln := w.shape([]rune(s), style{size: 60}, tc.lang)
				if len(ln.runs) != 1 || ln.runs[0].face != faceOf(tc.fam, false) {
					t.Fatalf("%s: want one run in %s, got %d runs", s, faceOf(tc.fam, false).file(), len(ln.runs))
				}
				return glyphInfos(w, ln)
			}

			gs := shaped(tc.conjunct)
			t.Logf("%s → %v", tc.conjunct, gs)
			n := utf8.RuneCountInString(tc.conjunct)
			if len(gs) >= n {
				t.Errorf("%s: %d glyphs for %d runes: no conjunct formed", tc.conjunct, len(gs), n)
			}
			for _, g := range gs {
				if g.id == 0 {
					t.Errorf("%s: .notdef", tc.conjunct)
				}
				if g.cluster != 0 {
					t.Errorf("%s: not one cluster: %v", tc.conjunct, gs)
				}
			}
			if tc.prebase == "" {
				return
			}
			cons, _ := utf8.DecodeRuneInString(tc.prebase)
			gs = shaped(tc.prebase)
			t.Logf("%s → %v", tc.prebase, gs)
			if len(gs) < 2 || gs[0].id == nominal(cons) || !slices.ContainsFunc(gs[1:], func(g glyphInfo) bool { return g.id == nominal(cons) }) {
				t.Errorf("%s: vowel sign not drawn before its consonant: %v", tc.prebase, gs)
			}
			if gs[0].x > gs[1].x {
				t.Errorf("%s: glyphs out of order: %v", tc.prebase, gs)
			}
		})
	}
}

// glyphInfo is a shaped glyph as a test looks at it.
type glyphInfo struct {
	id      font.GID
	name    string
	x       float32 // pen x with offset, in pixels
	cluster int
}

func (g glyphInfo) String() string { return g.name }

func glyphInfos(w *worker, ln line) []glyphInfo {
	var out []glyphInfo
	xs, _ := glyphX(ln)
	for _, rn := range ln.runs {
		for _, g := range rn.glyph {
			out = append(out, glyphInfo{id: g.GlyphID, name: w.faces[rn.face].GlyphName(g.GlyphID), x: xs[len(out)], cluster: g.ClusterIndex})
		}
	}
	return out
}

// TestNamesInEveryScriptOnEveryCard: a name is set in its own script's
// font whatever the card's language (a Tamil name on a Hindi card is in
// Noto Sans Tamil), with no .notdef anywhere, bold or not.
func TestNamesInEveryScriptOnEveryCard(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	for _, nameLang := range languages {
		name := sampleNames[nameLang]
		want := familyOfLanguage(t, nameLang)
		for _, cardLang := range languages {
			for _, bold := range []bool{false, true} {
				ln := w.shape([]rune(name), style{size: nameSize, bold: bold}, cardLang)
				if len(ln.runs) != 1 || ln.runs[0].face != faceOf(want, bold) {
					var got []string
					for _, rn := range ln.runs {
						got = append(got, rn.face.file())
					}
					t.Errorf("%q on a %s card (bold %v): runs %v, want one in %s", name, cardLang, bold, got, faceOf(want, bold).file())
				}
				for _, g := range glyphInfos(w, ln) {
					if g.id == 0 {
						t.Errorf("%q on a %s card: .notdef", name, cardLang)
					}
				}
			}
		}
	}
	c := sampleCard("hi", StatusFully)
	c.Name = sampleNames["ta"] + " " + sampleNames["bn"] + " Kumar"
	if _, err := r.Render(c); err != nil {
		t.Fatal(err)
	}
}

// familyOfLanguage is the family a language's texts are written in.
func familyOfLanguage(t *testing.T, lang string) family {
	t.Helper()
	for _, c := range sampleNames[lang] {
		if !isNeutral(c) {
			return familyOfRune(c)
		}
	}
	t.Fatalf("no script in the %s sample name", lang)
	return latin
}

// TestCardTextsHaveEveryGlyph: every string of every card language is set
// without a .notdef, in regular and bold.
func TestCardTextsHaveEveryGlyph(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	for _, lang := range languages {
		tx := r.texts[lang]
		lines := []string{tx.title, tx.footer, tx.dosesLine(2), tx.status[StatusFully], tx.status[StatusPartially], tx.status[StatusNot]}
		for m := range 12 {
			lines = append(lines, tx.lastDoseLine(mustDate(t, "2026-01-15").AddDate(0, m, 0)))
		}
		for _, s := range lines {
			for _, bold := range []bool{false, true} {
				ln := w.shape([]rune(s), style{size: 40, bold: bold}, lang)
				for _, rn := range ln.runs {
					for _, g := range rn.glyph {
						if g.GlyphID == 0 {
							t.Errorf("%s: %q (bold %v): .notdef in %s", lang, s, bold, rn.face.file())
						}
					}
				}
			}
		}
	}
}

// TestSegment: runs by script, neutral runes joining the run they are in,
// and a rune the run's font lacks moving to one that has it.
func TestSegment(t *testing.T) {
	r := renderer(t)
	type run struct {
		text string
		fam  family
	}
	for _, tc := range []struct {
		text string
		want []run
	}{
		{"Priya Deshmukh", []run{{"Priya Deshmukh", latin}}},
		{"खुराक: 2", []run{{"खुराक: 2", devanagari}}},
		{"(प्रिया) Sharma", []run{{"(प्रिया) ", devanagari}, {"Sharma", latin}}},
		{"प्रिया லக்ஷ்மி", []run{{"प्रिया ", devanagari}, {"லக்ஷ்மி", tamil}}},
		{"লক্ষ্মী · SMS", []run{{"লক্ষ্মী ", bengali}, {"· SMS", latin}}}, // · is in no Indian script font
		{"Done।", []run{{"Done", latin}, {"।", devanagari}}},              // । is in no Latin font
		{"2026 ਅਕਤੂਬਰ", []run{{"2026 ਅਕਤੂਬਰ", gurmukhi}}},                 // leading neutrals take the first script
		{"ক্\u200Dষ", []run{{"ক্\u200Dষ", bengali}}},                      // ZWJ stays
		{"Ωμέγα Иван", []run{{"Ωμέγα Иван", latin}}},                      // Noto Sans has Greek and Cyrillic
		{"ଓଡ଼ିଆ 01", []run{{"ଓଡ଼ିଆ 01", oriya}}},
	} {
		text := []rune(tc.text)
		var got []run
		for _, sp := range r.segment(text, false) {
			got = append(got, run{string(text[sp.start:sp.end]), sp.fam})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("segment(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestRunLanguage: a run's OpenType language is the card's when the card's
// language is written in the run's script, else the script's own.
func TestRunLanguage(t *testing.T) {
	for _, tc := range []struct {
		fam        family
		card, want string
	}{
		{devanagari, "hi", "hi"},
		{devanagari, "mr", "mr"},
		{devanagari, "ta", "hi"},
		{bengali, "bn", "bn"},
		{bengali, "as", "as"},
		{bengali, "hi", "bn"},
		{latin, "hi", "en"},
		{latin, "en", "en"},
		{tamil, "ta", "ta"},
		{tamil, "hi", "ta"},
		{telugu, "te", "te"},
		{gujarati, "gu", "gu"},
		{kannada, "kn", "kn"},
		{malayalam, "ml", "ml"},
		{oriya, "or", "or"},
		{gurmukhi, "pa", "pa"},
		{gurmukhi, "xx", "pa"},
	} {
		if got := runLanguage(tc.fam, tc.card); got != tc.want {
			t.Errorf("runLanguage(%s, %q) = %q, want %q", families[tc.fam].file, tc.card, got, tc.want)
		}
	}
}

// The language reaches the shaper: Noto Sans Devanagari has Marathi forms
// of ल and श, which a Marathi card uses and a Hindi card does not.
func TestMarathiForms(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	hi := glyphInfos(w, w.shape([]rune("लश"), style{size: 60}, "hi"))
	mr := glyphInfos(w, w.shape([]rune("लश"), style{size: 60}, "mr"))
	t.Logf("hi %v, mr %v", hi, mr)
	if slices.Equal(hi, mr) {
		t.Errorf("ल श set alike in Hindi and Marathi: %v", hi)
	}
}
