package keywords

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"sandesh/langs"
)

type row struct {
	body    string
	keyword Keyword
	lang    string
	arg     string
}

func check(t *testing.T, rows []row) {
	t.Helper()
	for _, tc := range rows {
		want := Command{Keyword: tc.keyword, Lang: tc.lang, Arg: tc.arg}
		if got := Parse(tc.body); got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.body, got, want)
		}
	}
}

func TestKeywords(t *testing.T) {
	check(t, []row{
		{"STATUS", Status, "", ""},
		{"status", Status, "", ""},
		{"Status", Status, "", ""},
		{"sTaTuS", Status, "", ""},
		{"SLIP", Slip, "", ""},
		{"Code", Code, "", ""},
		{"cert", Cert, "", ""},
		{"HELP", Help, "", ""},
		{"LANG", Lang, "", ""},
		{"STOP", Stop, "", ""},
		{"Start", Start, "", ""},

		// Only the first word counts.
		{"STATUS please", Status, "", ""},
		{"status of my vaccination", Status, "", ""},
		{"Code 4821", Code, "", ""},
		{"HELP ME", Help, "", ""},
		{"Stop sending me messages", Stop, "", ""},
		{"S T A T U S", Unknown, "", ""},
		{"hello there", Unknown, "", ""},
		{"please STATUS", Unknown, "", ""},
	})
}

func TestWhitespace(t *testing.T) {
	check(t, []row{
		{"  status\n", Status, "", ""},
		{"\tSTATUS\r\n", Status, "", ""},
		{"\n\nSTATUS\n\n", Status, "", ""},
		{"\u00a0STATUS\u00a0", Status, "", ""}, // non-breaking spaces
		{"\ufeffSTATUS", Status, "", ""},       // BOM
		{"\u200bSTATUS\u200b", Status, "", ""}, // zero-width space
		{"STA\u200bTUS", Status, "", ""},       // zero-width inside the word
		{"\u2060\u200dSTOP\u200c", Stop, "", ""},
		{"\u3000STATUS\u3000please", Status, "", ""}, // ideographic space
		{"\u2028STATUS", Status, "", ""},             // line separator
		{"\x00STATUS", Status, "", ""},               // control characters
		{"STATUS\x1bHELP", Status, "", ""},
	})
}

func TestFullWidth(t *testing.T) {
	check(t, []row{
		{"ＳＴＡＴＵＳ", Status, "", ""},
		{"ｓｔｏｐ", Stop, "", ""},
		{"ＬＡＮＧ　ＨＩ", Lang, "", "hi"},
		{"Ｓｔａｕｓ", Status, "", ""},
		{"？", Help, "", ""},
	})
}

// Punctuation and emoji are dropped inside the first word; the word is tried
// whole, then cut at its first punctuation.
func TestPunctuation(t *testing.T) {
	check(t, []row{
		{"STATUS.", Status, "", ""},
		{"status!", Status, "", ""},
		{"*STATUS*", Status, "", ""},
		{`"STATUS"`, Status, "", ""},
		{"(status)", Status, "", ""},
		{"STATUS?", Status, "", ""},
		{"S.T.A.T.U.S", Status, "", ""},
		{"S-T-O-P", Stop, "", ""},
		{"STATUS,please", Status, "", ""},
		{"STATUS...pls", Status, "", ""},
		{"status👍", Status, "", ""},
		{"🙏 STATUS", Status, "", ""},
		{"🙏STATUS", Status, "", ""},
		{"- STATUS", Status, "", ""},
		{"STOP!!!", Stop, "", ""},
		{"STOP.", Stop, "", ""},
		{"CODE#", Code, "", ""},
		{"CODE-4821", Code, "", ""},
		{"STOP.START", Stop, "", ""},
		{"HELP?", Help, "", ""},
	})
}

func TestSynonyms(t *testing.T) {
	check(t, []row{
		{"CERTIFICATE", Cert, "", ""},
		{"Certificate please", Cert, "", ""},
		{"INFO", Help, "", ""},
		{"menu", Help, "", ""},
		{"?", Help, "", ""},
		{"??", Help, "", ""},
		{" ? ", Help, "", ""},
		{"🤔?", Help, "", ""},
		{"? status", Status, "", ""}, // a word after all
		{"LANGUAGE", Lang, "", ""},
		{"STAT", Status, "", ""}, // not START minus an R
		{"stats", Status, "", ""},

		// Opt-out: Twilio's default words.
		{"UNSUBSCRIBE", Stop, "", ""},
		{"OPTOUT", Stop, "", ""},
		{"OPT-OUT", Stop, "", ""},
		{"Opt out", Stop, "", ""},
		{"opt out please", Stop, "", ""},
		{"STOPALL", Stop, "", ""},
		{"STOP ALL", Stop, "", ""},
		{"CANCEL", Stop, "", ""},
		{"END", Stop, "", ""},
		{"quit", Stop, "", ""},
		{"REVOKE", Stop, "", ""},

		// Opt-in.
		{"UNSTOP", Start, "", ""},
		{"SUBSCRIBE", Start, "", ""},
		{"YES", Unknown, "", ""}, // acknowledging a message must not undo an opt-out
		{"Yes please", Unknown, "", ""},

		// Not keywords.
		{"HI", Unknown, "", ""}, // a greeting, not Hindi
		{"Hello", Unknown, "", ""},
		{"OK", Unknown, "", ""},
		{"NO", Unknown, "", ""},
		{"MR", Unknown, "", ""},
		{"EN", Unknown, "", ""},
		{"1", Unknown, "", ""},
		{"4821", Unknown, "", ""},
		{"opt", Unknown, "", ""},
		{"opt in", Unknown, "", ""},
	})
}

func TestTypos(t *testing.T) {
	check(t, []row{
		{"Staus", Status, "", ""},   // deletion
		{"STATSU", Status, "", ""},  // transposition
		{"STATUSS", Status, "", ""}, // insertion
		{"SATUS", Status, "", ""},
		{"STTAUS", Status, "", ""},
		{"STATU", Status, "", ""},
		{"STATIS", Status, "", ""}, // substitution
		{"STATUS1", Status, "", ""},
		{"staus please", Status, "", ""},
		{"SLPI", Slip, "", ""},
		{"SLIPS", Slip, "", ""},
		{"CDOE", Code, "", ""},
		{"C0DE", Code, "", ""},
		{"CODES", Code, "", ""},
		{"HLEP", Help, "", ""},
		{"HELO", Help, "", ""},
		{"CRET", Cert, "", ""},
		{"CERTIFCATE", Cert, "", ""},
		{"LANGAUGE", Lang, "", ""},
		{"STRAT", Start, "", ""},
		{"SATRT", Start, "", ""},
		{"STAR", Start, "", ""}, // START less a T; two letters from STOP
		{"STPO", Stop, "", ""},
		{"SOTP", Stop, "", ""},
		{"STOPP", Stop, "", ""},
		{"ST0P", Stop, "", ""},
		{"UNSUBSCRIBLE", Stop, "", ""},
		{"UNSUSCRIBE", Stop, "", ""},
		{"STOPAL", Stop, "", ""},
		{"UNSTPO", Start, "", ""},
		// The price of never missing a misspelt STOP: real words one letter
		// from it are opt-outs too (START undoes them).
		{"SHOP", Stop, "", ""},
		{"STEP", Stop, "", ""},
		{"MARATI", Lang, "", "mr"},
		{"HINDHI", Lang, "", "hi"},
		{"ENGLSH", Lang, "", "en"},

		// One typo from two commands: ask rather than guess.
		{"SLOP", Unknown, "", ""},       // SLIP or STOP
		{"STIP", Unknown, "", ""},       // SLIP or STOP
		{"USTOP", Unknown, "", ""},      // UNSTOP or STOP
		{"NSTOP", Unknown, "", ""},      // UNSTOP or STOP
		{"USUBSCRIBE", Unknown, "", ""}, // UNSUBSCRIBE or SUBSCRIBE

		// Words under 4 letters are read exactly.
		{"STP", Unknown, "", ""},
		{"SOP", Unknown, "", ""},
		{"TOP", Unknown, "", ""},
		{"HLP", Unknown, "", ""},
		{"CDE", Unknown, "", ""},
		{"COD", Unknown, "", ""},
		{"SLP", Unknown, "", ""},
		{"STA", Unknown, "", ""},

		// Everyday English opt-out words are read exactly too.
		{"QUITE", Unknown, "", ""},
		{"CANCLE", Unknown, "", ""},
		{"ENDS", Unknown, "", ""},

		// Two typos are too many.
		{"STSAU", Unknown, "", ""},
		{"SOTPP", Unknown, "", ""},
	})
}

func TestLang(t *testing.T) {
	check(t, []row{
		{"LANG HI", Lang, "", "hi"},
		{"lang hi", Lang, "", "hi"},
		{"LANG hindi", Lang, "", "hi"},
		{"Lang Hindi please", Lang, "", "hi"},
		{"LANG हिंदी", Lang, "", "hi"},
		{"LANG हिन्दी", Lang, "", "hi"},
		{"LANG MR", Lang, "", "mr"},
		{"lang marathi", Lang, "", "mr"},
		{"LANG मराठी", Lang, "", "mr"},
		{"LANG EN", Lang, "", "en"},
		{"lang english", Lang, "", "en"},
		{"LANG ENG", Lang, "", "en"},
		{"LANG \u0905\u0902\u0917\u094d\u0930\u0947\u095b\u0940", Lang, "", "en"},       // अंग्रेज़ी, nukta letter
		{"LANG \u0905\u0902\u0917\u094d\u0930\u0947\u091c\u093c\u0940", Lang, "", "en"}, // अंग्रेज़ी, letter + nukta
		{"LANG अंग्रेजी", Lang, "", "en"},
		{"LANG इंग्रजी", Lang, "", "en"},
		{"LANGHI", Lang, "", "hi"},
		{"langmr", Lang, "", "mr"},
		{"LANGEN", Lang, "", "en"},
		{"LANGHINDI", Lang, "", "hi"},
		{"LANGUAGEMARATHI", Lang, "", "mr"},
		{"LANG:HI", Lang, "", "hi"},
		{"LANG-MR", Lang, "", "mr"},
		{"LANG.EN", Lang, "", "en"},
		{"LANG - HI", Lang, "", "hi"},
		{"LANG  \n HI", Lang, "", "hi"},
		{"LANGUAGE HINDI", Lang, "", "hi"},
		{"LNAG HI", Lang, "", "hi"},
		{"LANG HINDHI", Lang, "", "hi"},
		{"ＬＡＮＧ ＭＲ", Lang, "", "mr"},

		// Missing or unknown: the caller explains LANG.
		{"LANG", Lang, "", ""},
		{"LANG ", Lang, "", ""},
		{"LANG XX", Lang, "", ""},
		{"LANG FR", Lang, "", ""},
		{"LANG tamil", Lang, "", "ta"},
		{"LANG french", Lang, "", ""},
		{"LANG TO HINDI", Lang, "", ""}, // the language comes right after LANG
		{"LANGS", Lang, "", ""},

		// A language named alone.
		{"HINDI", Lang, "", "hi"},
		{"hindi please", Lang, "", "hi"},
		{"हिंदी", Lang, "", "hi"},
		{"हिन्दी", Lang, "", "hi"},
		{"MARATHI", Lang, "", "mr"},
		{"मराठी", Lang, "", "mr"},
		{"ENGLISH", Lang, "", "en"},
		{"English.", Lang, "", "en"},
		{"अंग्रेज़ी", Lang, "", "en"},
		{"इंग्रजी", Lang, "", "en"},
		{"भाषा हिंदी", Lang, "", "hi"},
		{"भाषा मराठी", Lang, "", "mr"},
		{"भाषा", Lang, "", ""},
	})
}

func TestDevanagari(t *testing.T) {
	check(t, []row{
		{"स्थिति", Status, "hi", ""},
		{"स्थीति", Status, "hi", ""},
		{"स्थिती", Status, "mr", ""},
		{"स्थीती", Status, "", ""}, // both vowels long: neither language's spelling
		{" स्थिती\n", Status, "mr", ""},
		{"स्थिति?", Status, "hi", ""},
		{"स्थिति।", Status, "hi", ""},
		{"स्थिति बताओ", Status, "hi", ""},
		{"स्\u200dथिति", Status, "hi", ""}, // zero-width joiner
		{"स्\u200cथिती", Status, "mr", ""}, // zero-width non-joiner
		{"स्टेटस", Status, "", ""},
		{"पर्ची", Slip, "hi", ""},
		{"पर्चि", Slip, "hi", ""},
		{"स्लिप", Slip, "", ""},
		{"कोड", Code, "", ""},
		{"प्रमाणपत्र", Cert, "", ""},
		{"मदद", Help, "hi", ""},
		{"मदत", Help, "mr", ""},
		{"भाषा", Lang, "", ""},
		{"बंद", Stop, "", ""},
		{"बन्द", Stop, "", ""},
		{"बंद करो", Stop, "", ""},
		{"थांबा", Stop, "mr", ""},
		{"स्टॉप", Stop, "", ""},
		{"स्टोप", Stop, "", ""},
		{"शुरू", Start, "hi", ""},
		{"शुरु", Start, "hi", ""},
		{"सुरू", Start, "mr", ""},
		{"सुरु", Start, "mr", ""},
		{"स्टार्ट", Start, "", ""},

		// Nukta letters, precomposed (U+0929) and as letter + nukta.
		{"हि\u0929\u094dदी", Lang, "", "hi"},
		{"हि\u0928\u093c\u094dदी", Lang, "", "hi"},

		{"स्थ", Unknown, "", ""},
		{"नमस्ते", Unknown, "", ""},
		{"कोडस्थिति", Unknown, "", ""},
	})
}

func TestEmpty(t *testing.T) {
	check(t, []row{
		{"", Empty, "", ""},
		{" ", Empty, "", ""},
		{"\n\t \r\n", Empty, "", ""},
		{"\u00a0\u200b\ufeff", Empty, "", ""},
		{"🙂", Empty, "", ""},
		{"😀🙏", Empty, "", ""},
		{"❤️", Empty, "", ""}, // with a variation selector, which is a mark
		{"👍🏽", Empty, "", ""},
		{"👨\u200d👩\u200d👧", Empty, "", ""},
		{"...", Empty, "", ""},
		{"!!!", Empty, "", ""},
		{"*#", Empty, "", ""},
		{"।", Empty, "", ""},
		{"\u0902", Empty, "", ""}, // a vowel sign with no letter
		{"\xff\xfe", Empty, "", ""},
	})
}

func TestLongAndInvalid(t *testing.T) {
	check(t, []row{
		{strings.Repeat("a", 1600), Unknown, "", ""},
		{strings.Repeat("स", 1600), Unknown, "", ""},
		{"STATUS " + strings.Repeat("please ", 228), Status, "", ""},
		{strings.Repeat(" ", 1594) + "STATUS", Status, "", ""},
		{"STATUS," + strings.Repeat("x", 1593), Status, "", ""},
		{strings.Repeat("x", 100) + " STOP", Unknown, "", ""},
		{strings.Repeat("S.", 800), Unknown, "", ""},
		{"LANG " + strings.Repeat("h", 1595), Lang, "", ""},
		{strings.Repeat("🙂", 400), Empty, "", ""},
		{strings.Repeat("?", 1600), Help, "", ""},
		{strings.Repeat("स्थिति ", 200), Status, "hi", ""},
		{"\xffSTATUS", Status, "", ""},
		{"STA\xffTUS", Status, "", ""},
		{"STOP\xc3", Stop, "", ""},
		{"\xe0\xa4", Empty, "", ""},
		{"स्थिति\xff", Status, "hi", ""},
		{"LANG \xffHI", Lang, "", "hi"},
	})
}

// Every word in the tables reads as its command, however it is typed.
func TestTables(t *testing.T) {
	for _, a := range latin {
		for _, body := range []string{a.word, strings.ToUpper(a.word), " *" + strings.ToUpper(a.word) + "!\n"} {
			if got := Parse(body); got != a.cmd {
				t.Errorf("Parse(%q) = %+v, want %+v", body, got, a.cmd)
			}
		}
		if a.typos && len(a.word) < minTypoLen {
			t.Errorf("%q forgives typos but is shorter than %d letters", a.word, minTypoLen)
		}
		if w := firstWord(a.word); w.text != a.word || w.parts != 1 {
			t.Errorf("table word %q is read as %q", a.word, w.text)
		}
	}
	for k, c := range devanagari {
		if w := firstWord(k); w.text != k || w.parts != 1 {
			t.Errorf("table word %q is read as %q: write it as firstWord gives it", k, w.text)
		}
		if got := Parse(k); got != c {
			t.Errorf("Parse(%q) = %+v, want %+v", k, got, c)
		}
	}
}

// edits are the words one typo from w (letters and digits).
func edits(w string) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var out []string
	for i := 0; i <= len(w); i++ {
		for _, c := range alphabet {
			out = append(out, w[:i]+string(c)+w[i:]) // insertion
			if i < len(w) {
				out = append(out, w[:i]+string(c)+w[i+1:]) // substitution
			}
		}
		if i < len(w) {
			out = append(out, w[:i]+w[i+1:]) // deletion
		}
		if i+1 < len(w) {
			out = append(out, w[:i]+w[i+1:i+2]+w[i:i+1]+w[i+2:]) // transposition
		}
	}
	return out
}

func isAlias(w string) bool {
	for _, a := range latin {
		if a.word == w {
			return true
		}
	}
	return false
}

// A mistyped opt-out word is an opt-out or, when it is as near another
// command, Unknown: never another command.
func TestStopTyposStayStop(t *testing.T) {
	stops := 0
	for _, a := range latin {
		if a.cmd.Keyword != Stop || !a.typos {
			continue
		}
		for _, e := range edits(a.word) {
			if isAlias(e) {
				continue
			}
			got := Parse(e)
			if got.Keyword != Stop && got.Keyword != Unknown {
				t.Errorf("Parse(%q), a typo of %q, = %s", e, a.word, got.Keyword)
			}
			if got.Keyword == Stop {
				stops++
			}
		}
	}
	if stops == 0 {
		t.Fatal("no typo of an opt-out word was read as STOP")
	}
}

// A mistyped other command is never an opt-out.
func TestOtherTyposNeverStop(t *testing.T) {
	for _, a := range latin {
		if a.cmd.Keyword == Stop || !a.typos {
			continue
		}
		for _, e := range edits(a.word) {
			if isAlias(e) {
				continue
			}
			if got := Parse(e); got.Keyword == Stop {
				t.Errorf("Parse(%q), a typo of %q, = stop", e, a.word)
			}
		}
	}
}

func TestOneEdit(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"status", "status", true},
		{"staus", "status", true},
		{"statuss", "status", true},
		{"statis", "status", true},
		{"statsu", "status", true},
		{"tsatus", "status", true},
		{"xstatus", "status", true},
		{"statux", "status", true},
		{"sttaus", "status", true},
		{"satuts", "status", false},
		{"stat", "status", false},
		{"statusxx", "status", false},
		{"", "a", true},
		{"", "ab", false},
		{"ab", "ba", true},
		{"abc", "cba", false},
	} {
		if got := oneEdit(tc.a, tc.b); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := oneEdit(tc.b, tc.a); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

var known = map[Keyword]bool{
	Status: true, Slip: true, Code: true, Cert: true, Help: true, Lang: true,
	Stop: true, Start: true, Unknown: true, Empty: true,
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "STATUS", "  sTaTuS \n", "Staus", "S.T.A.T.U.S", "SLOP", "स्थिति", "स्थिती",
		"LANG HI", "LANGHI", "LANG हिंदी", "हि\u0929\u094dदी", "ＳＴＡＴＵＳ", "❤️", "?",
		"\xff\xfe", "STA\xffTUS", "OPT OUT", "\ufeff\u200bSTOP", strings.Repeat("a", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := Parse(body)
		if !known[c.Keyword] {
			t.Fatalf("Parse(%q) = unknown keyword %q", body, c.Keyword)
		}
		if c.Lang != "" && c.Lang != "hi" && c.Lang != "mr" {
			t.Fatalf("Parse(%q).Lang = %q", body, c.Lang)
		}
		if c.Arg != "" && (c.Keyword != Lang || (c.Arg != "en" && c.Arg != "hi" && c.Arg != "mr")) {
			t.Fatalf("Parse(%q) = %+v: an Arg is only one of en, hi, mr for LANG", body, c)
		}
		if got := Parse(" \u00a0\t\ufeff" + body + "\n\u200b "); got != c {
			t.Fatalf("surrounding whitespace changed Parse(%q) from %+v to %+v", body, c, got)
		}
		if got := Parse(asciiUpper(body)); got != c {
			t.Fatalf("upper case changed Parse(%q) from %+v to %+v", body, c, got)
		}
	})
}

// asciiUpper upper-cases a to z only, leaving every other byte alone (even
// invalid UTF-8), so that only case changes.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func BenchmarkParse(b *testing.B) {
	bodies := []string{
		"STATUS", "  sTaTuS \n", "Staus", "SLOP", "S.T.A.T.U.S", "स्थिती", "स्थीती",
		"LANG HINDI", "hello there", "😀🙏",
		"STATUS " + strings.Repeat("please ", 228),
		strings.Repeat("a", 1600),
	}
	for b.Loop() {
		for _, s := range bodies {
			Parse(s)
		}
	}
}

func TestCardKeyword(t *testing.T) {
	for _, tc := range []struct{ body string }{{"CARD"}, {"card please"}, {"Crad"}, {"कार्ड"}} {
		if got := Parse(tc.body); got.Keyword != Card {
			t.Errorf("Parse(%q) = %+v, want card", tc.body, got)
		}
	}
}

// TestLangEveryLanguage: LANG takes each language's code, English name and
// native name, and the native name alone asks for it too.
func TestLangEveryLanguage(t *testing.T) {
	var rows []row
	for _, l := range langs.All() {
		rows = append(rows,
			row{"LANG " + strings.ToUpper(l.Code), Lang, "", l.Code},
			row{"lang " + l.English, Lang, "", l.Code},
			row{"LANG " + l.Native, Lang, "", l.Code},
			row{"भाषा " + l.Native, Lang, "", l.Code},
			row{l.Native, Lang, "", l.Code},
		)
	}
	check(t, rows)
}

func TestNativeFiles(t *testing.T) {
	table, err := loadNative(nativeFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"stats: x", "status", "status: a,b", "helpme: x"} {
		fsys := fstest.MapFS{"native/ta.txt": {Data: []byte(bad + "\n")}}
		if _, err := loadNative(fsys); err == nil {
			t.Errorf("loadNative accepts %q", bad)
		}
	}
	if _, err := loadNative(fstest.MapFS{"native/xx.txt": {Data: []byte("status: x\n")}}); err == nil {
		t.Error("loadNative accepts a file of no language")
	}
	shared, err := loadNative(fstest.MapFS{
		"native/bn.txt": {Data: []byte("status: অবস্থা\nhelp: সাহায্য\n")},
		"native/as.txt": {Data: []byte("status: অবস্থা\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := shared[firstWord("অবস্থা").text]; c != (Command{Keyword: Status}) {
		t.Errorf("a word two languages share = %+v, want no language", c)
	}
	if c := shared[firstWord("সাহায্য").text]; c != (Command{Keyword: Help, Lang: "bn"}) {
		t.Errorf("a Bengali word = %+v, want help in bn", c)
	}
	if len(table) < len(langs.All())-3 {
		t.Errorf("the embedded table has %d words, fewer than the languages' names", len(table))
	}
}

// TestNativeKeywords: every word of every native file is read as its
// keyword, in its language (Bengali and Assamese share a script: a word
// both list implies neither), as a whole message and before more words.
func TestNativeKeywords(t *testing.T) {
	files, err := fs.Glob(nativeFS, "native/*.txt")
	if err != nil || len(files) < 9 {
		t.Fatalf("native files %v, %v", files, err)
	}
	for _, f := range files {
		lang := strings.TrimSuffix(strings.TrimPrefix(f, "native/"), ".txt")
		data, _ := fs.ReadFile(nativeFS, f)
		for line := range strings.SplitSeq(string(data), "\n") {
			name, words, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			kw := keywordsByName[strings.TrimSpace(name)]
			for _, w := range strings.Fields(words) {
				for _, body := range []string{w, "  " + w + " please", w + "?"} {
					got := Parse(body)
					if got.Keyword != kw || (got.Lang != lang && got.Lang != "") {
						t.Errorf("%s: Parse(%q) = %+v, want %s in %s", f, body, got, kw, lang)
					}
				}
			}
		}
	}
	for _, tc := range []struct {
		body string
		want Command
	}{
		{"சான்றிதழ்", Command{Keyword: Cert, Lang: "ta"}},
		{"নিরাপত্তা", Command{Keyword: Unknown}},
		// Malayalam chillus typed the old way: consonant, virama, ZWJ.
		{"സര\u0D4D\u200Dട്ടിഫിക്കറ്റ്", Command{Keyword: Cert, Lang: "ml"}},
		{"നി\u0D30\u0D4D\u200Dത്തുക", Command{Keyword: Stop, Lang: "ml"}},
		{"ಭಾಷೆ ಕನ್ನಡ", Command{Keyword: Lang, Lang: "kn", Arg: "kn"}},
		{"LANG தமிழ்", Command{Keyword: Lang, Arg: "ta"}},
	} {
		if got := Parse(tc.body); got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.body, got, tc.want)
		}
	}
}
