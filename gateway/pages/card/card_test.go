package card

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-text/typesetting/font"
	"golang.org/x/image/math/fixed"

	"sandesh/langs"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.png from the current renderer")

// Golden tolerance: at most goldenMaxFrac of the pixels may differ by more
// than goldenChannelDelta in any channel. Anti-aliasing and rasteriser
// rounding move edge pixels a little; a broken shaper moves whole glyphs.
const (
	goldenChannelDelta = 32
	goldenMaxFrac      = 0.005
)

var (
	rendererOnce sync.Once
	shared       *Renderer
	sharedErr    error
)

func renderer(t testing.TB) *Renderer {
	t.Helper()
	rendererOnce.Do(func() {
		// The tests below take workers from the pool themselves, so the
		// fonts are parsed here as the first Render would.
		if shared, sharedErr = New(); sharedErr == nil {
			sharedErr = shared.loadFonts()
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

var statuses = []string{StatusNot, StatusPartially, StatusFully}

// sampleNames are a name in the script of each card language, with the
// conjuncts, reph and pre-base vowel signs its script has.
var sampleNames = map[string]string{
	"en": "Priya Deshmukh",
	"hi": "प्रिया शर्मा",
	"mr": "प्रिया देशमुख",
	"bn": "সুস্মিতা চক্রবর্তী",
	"ta": "லக்ஷ்மி சுந்தரம்",
	"te": "శ్రీనివాస్ రెడ్డి",
	"gu": "હર્ષિતા પટેલ",
	"kn": "ಲಕ್ಷ್ಮಿ ಗೌಡ",
	"ml": "ശ്രീലക്ഷ്മി നായർ",
	"or": "ସ୍ମିତା ମହାପାତ୍ର",
	"pa": "ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ ਗਿੱਲ",
	"as": "প্ৰিয়ংকা বৰুৱা",
}

// sampleCheckURL is a check page as the gateway makes them.
const sampleCheckURL = "https://sandesh.example.gov.in/c/3f9a61c0d2b84e7a15c6/check"

func sampleCard(lang, status string) Card {
	c := Card{Name: sampleNames[lang], Status: status, Language: lang, CheckURL: sampleCheckURL}
	switch status {
	case StatusPartially:
		c.Doses, c.LastDoseDate = 1, "2026-02-11"
	case StatusFully:
		c.Doses, c.LastDoseDate = 2, "2026-10-01"
	}
	return c
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a valid PNG: %v", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, Width, Height) {
		t.Fatalf("bounds %v, want 1200×630", got)
	}
	return img
}

func TestRenderEveryStatusAndLanguage(t *testing.T) {
	r := renderer(t)
	for _, lang := range languages {
		for _, st := range statuses {
			t.Run(lang+"/"+st, func(t *testing.T) {
				c := sampleCard(lang, st)
				a, err := r.Render(c)
				if err != nil {
					t.Fatal(err)
				}
				img := decode(t, a)
				b, err := r.Render(c)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatal("same card rendered to different bytes")
				}
				// The band is the status colour.
				want := palettes[st].band
				if got := img.At(Width-5, 5); !sameColor(got, want) {
					t.Errorf("band colour %v, want %v", got, want)
				}
			})
		}
	}
}

func sameColor(a, b interface{ RGBA() (r, g, b, a uint32) }) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1>>8 == r2>>8 && g1>>8 == g2>>8 && b1>>8 == b2>>8 && a1>>8 == a2>>8
}

func TestRenderConcurrentIsDeterministic(t *testing.T) {
	r := renderer(t)
	want := map[string][]byte{}
	for _, lang := range languages {
		b, err := r.Render(sampleCard(lang, StatusFully))
		if err != nil {
			t.Fatal(err)
		}
		want[lang] = b
	}
	var wg sync.WaitGroup
	for i := range 12 {
		lang := languages[i%len(languages)]
		wg.Go(func() {
			b, err := r.Render(sampleCard(lang, StatusFully))
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(b, want[lang]) {
				t.Errorf("%s: concurrent render differs", lang)
			}
		})
	}
	wg.Wait()
}

func TestUnknownLanguageIsEnglish(t *testing.T) {
	r := renderer(t)
	en, _ := r.Render(sampleCard("en", StatusFully))
	for _, l := range []string{"", "fr", "xx-YY"} {
		c := sampleCard("en", StatusFully)
		c.Language = l
		b, err := r.Render(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, en) {
			t.Errorf("language %q did not fall back to English", l)
		}
	}
	if normLang("hi-IN") != "hi" || normLang(" MR ") != "mr" {
		t.Error("normLang does not take the primary subtag")
	}
}

// TestLanguagesAreTheStringsFiles: the card speaks the language of each
// strings file, in langs.Codes() order — today all twelve — and every
// file is a language Sandesh speaks (a stray file would be ignored).
func TestLanguagesAreTheStringsFiles(t *testing.T) {
	if !slices.Equal(languages, langs.Codes()) {
		t.Errorf("card languages %v, want %v", languages, langs.Codes())
	}
	files, err := fs.Glob(stringFS, "strings/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := langs.Lookup(strings.TrimSuffix(path.Base(f), ".txt")); !ok {
			t.Errorf("%s is not a language Sandesh speaks", f)
		}
	}
	for _, l := range languages {
		if normLang(strings.ToUpper(l)+"-IN") != l {
			t.Errorf("normLang(%s-IN) is not %s", strings.ToUpper(l), l)
		}
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	r := renderer(t)
	for _, c := range []Card{
		{Status: "VACCINATED", Language: "en"},
		{Status: StatusFully, Doses: -1},
		{Status: StatusFully, Doses: 2, LastDoseDate: "01/10/2026"},
	} {
		if _, err := r.Render(c); err == nil {
			t.Errorf("Render(%+v): want error", c)
		}
	}
}

func goldenPath(lang string) string {
	return filepath.Join("testdata", "golden", lang+"_fully.png")
}

// diffFraction is the share of pixels differing by more than
// goldenChannelDelta in any channel.
func diffFraction(a, b image.Image) float64 {
	bad := 0
	bounds := a.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			for _, d := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}, {a1, a2}} {
				p, q := int(d[0]>>8), int(d[1]>>8)
				if p-q > goldenChannelDelta || q-p > goldenChannelDelta {
					bad++
					break
				}
			}
		}
	}
	return float64(bad) / float64(bounds.Dx()*bounds.Dy())
}

func loadGolden(t *testing.T, lang string) image.Image {
	t.Helper()
	b, err := os.ReadFile(goldenPath(lang))
	if err != nil {
		t.Fatalf("%v (write goldens with: go test ./gateway/pages/card/ -run TestGolden -update)", err)
	}
	return decode(t, b)
}

func TestGolden(t *testing.T) {
	r := renderer(t)
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			b, err := r.Render(sampleCard(lang, StatusFully))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(goldenPath(lang)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(goldenPath(lang), b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			frac := diffFraction(decode(t, b), loadGolden(t, lang))
			t.Logf("%s: %.4f%% of pixels differ", lang, 100*frac)
			if frac > goldenMaxFrac {
				t.Errorf("%s: %.3f%% of pixels differ from %s (limit %.1f%%)", lang, 100*frac, goldenPath(lang), 100*goldenMaxFrac)
			}
		})
	}
}

// New leaves the fonts to the first card, so a process that draws none
// does not hold them; that card parses all of them.
func TestFontsAreParsedAtTheFirstCard(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for id, f := range r.fonts {
		if f != nil {
			t.Fatalf("font %s parsed by New", faceID(id).file())
		}
	}
	if _, err := r.Render(sampleCard("ta", StatusFully)); err != nil {
		t.Fatal(err)
	}
	for id, f := range r.fonts {
		if f == nil {
			t.Errorf("font %s not parsed by the first Render", faceID(id).file())
		}
	}
}

// The golden tolerance must still catch a broken shaper: drawing each
// script rune by rune (no conjuncts, pre-base vowel signs after their
// consonant, no reph, marks unpositioned) must fail it.
func TestGoldenCatchesUnshapedText(t *testing.T) {
	if *update {
		t.Skip("updating goldens")
	}
	naive, err := New()
	if err != nil {
		t.Fatal(err)
	}
	naive.naive = true
	for _, lang := range languages[1:] { // all but English
		t.Run(lang, func(t *testing.T) {
			b, err := naive.Render(sampleCard(lang, StatusFully))
			if err != nil {
				t.Fatal(err)
			}
			frac := diffFraction(decode(t, b), loadGolden(t, lang))
			t.Logf("%s unshaped: %.2f%% of pixels differ", lang, 100*frac)
			if frac <= goldenMaxFrac {
				t.Errorf("%s: unshaped render is within the golden tolerance (%.3f%%)", lang, 100*frac)
			}
		})
	}
}

// glyphX returns each glyph's pen x (with offset) in pixels, and the glyphs.
func glyphX(ln line) ([]float32, []run) {
	var xs []float32
	var pen fixed.Int26_6
	for _, rn := range ln.runs {
		for _, g := range rn.glyph {
			xs = append(xs, f26(pen+g.XOffset))
			pen += g.Advance
		}
	}
	return xs, ln.runs
}

func TestDevanagariIsShaped(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	face := w.faces[faceOf(devanagari, false)]
	nominal := func(c rune) font.GID {
		g, ok := face.NominalGlyph(c)
		if !ok {
			t.Fatalf("no glyph for %U", c)
		}
		return g
	}

	text := []rune("क्षि") // क ् ष ि: conjunct क्ष plus a pre-base matra
	ln := w.shape(text, style{size: 60}, "hi")
	if len(ln.runs) != 1 || ln.runs[0].face != faceOf(devanagari, false) {
		t.Fatalf("want one Devanagari run, got %+v", ln.runs)
	}
	gs := ln.runs[0].glyph
	if len(gs) >= len(text) {
		t.Fatalf("%d glyphs for %d runes: not shaped", len(gs), len(text))
	}
	xs, _ := glyphX(ln)
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = face.GlyphName(g.GlyphID)
	}
	t.Logf("क्षि → %v at x=%v", names, xs)
	mi, ci := -1, -1 // matra and consonant glyph
	for i, n := range names {
		switch {
		case strings.HasPrefix(n, "ivowelsign"):
			mi = i
		case strings.Contains(n, "ssa"): // the क्ष conjunct glyph ("kassadeva")
			ci = i
		}
	}
	if mi < 0 || ci < 0 {
		t.Fatalf("no i-matra / क्ष conjunct glyph in %v", names)
	}
	if !(xs[mi] < xs[ci]) {
		t.Errorf("ि drawn at x=%v, not before क्ष at x=%v", xs[mi], xs[ci])
	}
	// Unshaped, the same runes would be four nominal glyphs with ि last.
	for _, g := range gs {
		for _, c := range []rune{'क', '्', 'ष'} {
			if g.GlyphID == nominal(c) {
				t.Errorf("nominal glyph for %c survived shaping", c)
			}
		}
	}
	// The whole syllable is one cluster, so truncation can never split it.
	if gs[0].RunesCount() != 4 || gs[0].GlyphsCount() != len(gs) {
		t.Errorf("क्षि is not one cluster: %+v", gs)
	}
}

func TestLatinNameOnHindiCard(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	tx := r.texts["hi"]
	lines := []string{"Rahul Kshirsagar", "प्रिया Sharma (Pune)", tx.title, tx.status[StatusFully],
		tx.dosesLine(2), tx.lastDoseLine(mustDate(t, "2026-10-01")), tx.footer}
	for _, s := range lines {
		for _, bold := range []bool{false, true} {
			ln := w.shape([]rune(s), style{size: 60, bold: bold}, "hi")
			for _, rn := range ln.runs {
				for _, g := range rn.glyph {
					if g.GlyphID == 0 {
						t.Errorf("%q (bold=%v): .notdef in run set in %s", s, bold, rn.face.file())
					}
				}
			}
		}
	}
	ln := w.shape([]rune("Rahul Kshirsagar"), style{size: 60, bold: true}, "hi")
	if len(ln.runs) != 1 || ln.runs[0].face != faceOf(latin, true) {
		t.Errorf("Latin name not set in Noto Sans Bold: %+v", ln.runs)
	}
	ln = w.shape([]rune("प्रिया Sharma"), style{size: 60}, "hi")
	if len(ln.runs) != 2 || ln.runs[0].face != faceOf(devanagari, false) || ln.runs[1].face != faceOf(latin, false) {
		t.Errorf("mixed name not split into Devanagari + Latin runs: %+v", ln.runs)
	}
	c := sampleCard("hi", StatusFully)
	c.Name = "Rahul Kshirsagar"
	if _, err := r.Render(c); err != nil {
		t.Fatal(err)
	}
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLongNameIsShortenedToFit(t *testing.T) {
	r := renderer(t)
	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)
	names := map[string]string{
		"latin": strings.Repeat("Venkata ", 25),                                  // 200 runes
		"deva":  string([]rune(strings.Repeat("क्षितिज श्रीवास्तव ", 20))[:200]), // conjuncts and ि throughout
	}
	for kind, name := range names {
		t.Run(kind, func(t *testing.T) {
			text := []rune(CleanName(name))
			if n := len([]rune(name)); n != 200 {
				t.Fatalf("test name has %d runes", n)
			}
			st := style{size: nameSize, bold: true}
			ln := w.fit(text, st, "hi", fixed.I(lowerWidth))
			if wd := ln.width(); wd > fixed.I(lowerWidth) {
				t.Fatalf("shortened name is %v px wide, limit %d", wd, lowerWidth)
			}
			last := ln.runs[len(ln.runs)-1]
			if g := last.glyph[len(last.glyph)-1]; w.faces[last.face].GlyphName(g.GlyphID) != "ellipsis" {
				t.Errorf("does not end with …")
			}
			// The kept prefix ends on a cluster boundary: reshaping exactly
			// the runes it covers gives the very same glyphs.
			var kept []uint32
			cut := 0
			for _, rn := range ln.runs[:len(ln.runs)-1] {
				for _, g := range rn.glyph {
					kept = append(kept, uint32(g.GlyphID))
					cut = max(cut, g.ClusterIndex+g.RuneCount)
				}
			}
			if cut == 0 || cut >= len(text) {
				t.Fatalf("cut at rune %d of %d", cut, len(text))
			}
			var again []uint32
			for _, rn := range w.shape(text[:cut], st, "hi").runs {
				for _, g := range rn.glyph {
					again = append(again, uint32(g.GlyphID))
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(again) {
				t.Errorf("cut at rune %d splits a cluster:\n kept  %v\n again %v", cut, kept, again)
			}
			t.Logf("%s: kept %q…", kind, string(text[:cut]))

			// And on the card, nothing is drawn between the end of the name
			// line and the QR code's first modules: the gap and the quiet zone.
			c := sampleCard("hi", StatusFully)
			c.Name = name
			b, err := r.Render(c)
			if err != nil {
				t.Fatal(err)
			}
			img := decode(t, b)
			modules, err := qrModules(c.CheckURL)
			if err != nil {
				t.Fatal(err)
			}
			box, px, err := qrPlace(len(modules))
			if err != nil {
				t.Fatal(err)
			}
			for y := nameBase - nameSize; y < nameBase+nameSize/2; y++ {
				for x := margin + lowerWidth + 4; x < box.Min.X+qrQuiet*px; x++ {
					if !sameColor(img.At(x, y), background) {
						t.Fatalf("ink at (%d,%d): name overflows", x, y)
					}
				}
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"  Priya \n\t Sharma ":        "Priya Sharma",
		"Evil\u202Eeman":              "Evileman",
		"ज़्\u200Dया":                 "ज़्\u200Dया",
		"bad\xffutf8":                 "bad\uFFFDutf8",
		"tab\x00and\x07bell\x1bescap": "tabandbellescap",
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	r := renderer(b)
	for _, lang := range languages {
		c := sampleCard(lang, StatusFully)
		b.Run(lang, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
