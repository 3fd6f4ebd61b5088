package card

import (
	"image"
	"image/color"
	"math"
	"unicode"

	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"sandesh/langs"
)

// family is one script's pair of embedded fonts, Regular and Bold.
type family int

const (
	latin family = iota
	devanagari
	bengali // Bengali and Assamese
	tamil
	telugu
	gujarati
	kannada
	malayalam
	oriya
	gurmukhi
	numFamilies
)

// familyInfo is what the renderer knows of a family: the script its font
// is for, the font files' common name (fonts/<file>-Regular.ttf and
// -Bold.ttf), and the OpenType language of its runs on a card whose
// language is written in another script (a Tamil name on a Hindi card).
type familyInfo struct {
	script language.Script
	file   string
	lang   string
}

var families = [numFamilies]familyInfo{
	latin:      {language.Latin, "NotoSans", "en"},
	devanagari: {language.Devanagari, "NotoSansDevanagari", "hi"},
	bengali:    {language.Bengali, "NotoSansBengali", "bn"},
	tamil:      {language.Tamil, "NotoSansTamil", "ta"},
	telugu:     {language.Telugu, "NotoSansTelugu", "te"},
	gujarati:   {language.Gujarati, "NotoSansGujarati", "gu"},
	kannada:    {language.Kannada, "NotoSansKannada", "kn"},
	malayalam:  {language.Malayalam, "NotoSansMalayalam", "ml"},
	oriya:      {language.Oriya, "NotoSansOriya", "or"},
	gurmukhi:   {language.Gurmukhi, "NotoSansGurmukhi", "pa"},
}

// scriptFamily is the family of each script that has its own font. Every
// other script (Greek, Cyrillic …) is set in Noto Sans, which has them,
// or moves to a font that has the character.
var scriptFamily = func() map[language.Script]family {
	m := make(map[language.Script]family, numFamilies)
	for f, fi := range families {
		m[fi.script] = family(f)
	}
	return m
}()

// faceID names one of the embedded fonts: family f's Regular is 2f, its
// Bold 2f+1.
type faceID int

const numFaces = 2 * faceID(numFamilies)

func faceOf(f family, bold bool) faceID {
	if bold {
		return 2*faceID(f) + 1
	}
	return 2 * faceID(f)
}

func (id faceID) family() family { return family(id / 2) }

// file is the font's path in fontFS.
func (id faceID) file() string {
	weight := "Regular"
	if id%2 == 1 {
		weight = "Bold"
	}
	return "fonts/" + families[id.family()].file + "-" + weight + ".ttf"
}

// worker is the per-goroutine state of a render: go-text Faces and the
// shaper cache glyph data and are not safe for concurrent use, so each
// in-flight Render borrows its own from the Renderer's pool. The parsed
// *font.Font values underneath are shared (they are read-only).
type worker struct {
	r      *Renderer
	shaper shaping.HarfbuzzShaper
	faces  [numFaces]*font.Face
	ras    vector.Rasterizer
}

// style is how one line of text is set.
type style struct {
	size int // pixels per em
	bold bool
}

// run is one shaped, single-face piece of a line.
type run struct {
	face  faceID
	size  int
	glyph []shaping.Glyph
}

// line is shaped text in visual (= logical, everything is LTR) order.
type line struct {
	runs []run
}

func (l line) width() fixed.Int26_6 {
	var w fixed.Int26_6
	for _, r := range l.runs {
		for _, g := range r.glyph {
			w += g.Advance
		}
	}
	return w
}

// isNeutral reports runes of no script of their own, which belong to
// whichever run they sit in: spaces, digits, punctuation, ZWJ/ZWNJ (which
// select half forms), the dotted circle and combining marks. In a run of
// a script font that has them they are drawn in that font, so "खुराक: 2"
// is one Devanagari run.
func isNeutral(r rune) bool {
	switch language.LookupScript(r) {
	case language.Common, language.Inherited, language.Unknown:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me)
}

// isJoiner reports ZWNJ and ZWJ: no font needs a glyph for them (the
// shaper only reads them), so they never leave their run.
func isJoiner(r rune) bool { return r == 0x200C || r == 0x200D }

// familyOfRune is the family a strong (not neutral) rune's script asks for.
func familyOfRune(r rune) family {
	if f, ok := scriptFamily[language.LookupScript(r)]; ok {
		return f
	}
	return latin
}

// span is a half-open rune range set in one family.
type span struct {
	start, end int
	fam        family
}

// segment splits text into runs by script, each set in its script's
// font: a Tamil name on a Hindi card is shaped in Noto Sans Tamil. Neutral
// runes join the run they are in (leading ones that of the first strong
// rune); a rune the chosen font lacks but another font has moves to that
// one (· is in none of the Indian script fonts; । is in all but Noto
// Sans); a rune no font has stays and is drawn as the font's .notdef.
func (r *Renderer) segment(text []rune, bold bool) []span {
	cur := latin
	for _, c := range text {
		if !isNeutral(c) {
			cur = familyOfRune(c)
			break
		}
	}
	var spans []span
	for i, c := range text {
		f := cur
		if !isNeutral(c) {
			f = familyOfRune(c)
		}
		if !isJoiner(c) && !r.has(f, bold, c) {
			f = r.fallback(f, bold, c)
		}
		if n := len(spans); n > 0 && spans[n-1].fam == f {
			spans[n-1].end = i + 1
		} else {
			spans = append(spans, span{start: i, end: i + 1, fam: f})
		}
		cur = f
	}
	return spans
}

func (r *Renderer) has(f family, bold bool, c rune) bool {
	_, ok := r.fonts[faceOf(f, bold)].NominalGlyph(c)
	return ok
}

// fallback is the first family, Latin first, whose font has c; want when
// none has.
func (r *Renderer) fallback(want family, bold bool, c rune) family {
	for f := range numFamilies {
		if r.has(f, bold, c) {
			return f
		}
	}
	return want
}

// scriptOf picks the OpenType script for a Noto Sans run: the first rune
// with a real script (Greek, Cyrillic …), else Latin.
func scriptOf(text []rune) language.Script {
	for _, c := range text {
		if s := language.LookupScript(c); s != language.Common && s != language.Inherited && s != language.Unknown {
			return s
		}
	}
	return language.Latin
}

// shape segments text by script and shapes each run with HarfBuzz, with
// the run's OpenType script and language (see runLanguage); lang is the
// card's language.
func (w *worker) shape(text []rune, st style, lang string) line {
	var ln line
	for _, sp := range w.r.segment(text, st.bold) {
		fid := faceOf(sp.fam, st.bold)
		in := shaping.Input{
			Text:      text,
			RunStart:  sp.start,
			RunEnd:    sp.end,
			Direction: di.DirectionLTR,
			Face:      w.faces[fid],
			Size:      fixed.I(st.size),
			Script:    families[sp.fam].script,
			Language:  language.NewLanguage(runLanguage(sp.fam, lang)),
		}
		if sp.fam == latin {
			in.Script = scriptOf(text[sp.start:sp.end])
		}
		var glyphs []shaping.Glyph
		if w.r.naive {
			glyphs = w.naiveShape(in)
		} else {
			glyphs = w.shaper.Shape(in).Glyphs
		}
		ln.runs = append(ln.runs, run{face: fid, size: st.size, glyph: glyphs})
	}
	return ln
}

// runLanguage is the OpenType language of a run of family f on a card in
// lang: the card's own when it is written in f's script, so that Marathi
// cards get Marathi forms (Noto Sans Devanagari has a MAR language system)
// and Assamese runs in the Bengali font are "as"; else the script's main
// language (a Devanagari name on a Tamil card is set as Hindi).
func runLanguage(f family, lang string) string {
	if l, ok := langs.Lookup(lang); ok {
		if s, err := language.ParseScript(l.Script); err == nil && s == families[f].script {
			return lang
		}
	}
	return families[f].lang
}

// naiveShape maps rune → nominal glyph with no substitution or positioning.
// It exists only so tests can show what unshaped text looks like.
func (w *worker) naiveShape(in shaping.Input) []shaping.Glyph {
	f := in.Face
	scale := float64(in.Size) / float64(f.Upem())
	out := make([]shaping.Glyph, 0, in.RunEnd-in.RunStart)
	for i := in.RunStart; i < in.RunEnd; i++ {
		gid, _ := f.NominalGlyph(in.Text[i])
		adv := fixed.Int26_6(math.Round(float64(f.HorizontalAdvance(gid)) * scale))
		ext, _ := f.GlyphExtents(gid)
		out = append(out, shaping.Glyph{
			GlyphID: gid, Advance: adv, XAdvance: adv,
			XBearing: fixed.Int26_6(ext.XBearing * float32(scale)), YBearing: fixed.Int26_6(ext.YBearing * float32(scale)),
			Width: fixed.Int26_6(ext.Width * float32(scale)), Height: fixed.Int26_6(ext.Height * float32(scale)),
			ClusterIndex: i, RuneCount: 1, GlyphCount: 1,
		})
	}
	return out
}

const ellipsis = '…'

// fit shapes text and, if it is wider than maxW, shortens it to whole
// glyph clusters followed by "…". The cut is made on the shaper's cluster
// boundaries (a cluster is at least a grapheme: a whole Devanagari
// syllable such as क्षि, or a letter with its combining marks), measured
// with the shaped advances, so no conjunct or matra is ever split.
func (w *worker) fit(text []rune, st style, lang string, maxW fixed.Int26_6) line {
	ln := w.shape(text, st, lang)
	if ln.width() <= maxW {
		return ln
	}
	ell := w.shape([]rune{ellipsis}, st, lang)
	budget := maxW - ell.width()

	type cut struct{ run, glyph int } // keep runs[:run] + runs[run].glyph[:glyph]
	var cuts []cut                    // every cluster boundary that fits, in order
	var spaceBefore []bool            // whether the cluster ending at cuts[i] is white space
	var x fixed.Int26_6
outer:
	for ri, rn := range ln.runs {
		for gi := 0; gi < len(rn.glyph); {
			cl := rn.glyph[gi].ClusterIndex
			end, adv := gi, fixed.Int26_6(0)
			for end < len(rn.glyph) && rn.glyph[end].ClusterIndex == cl {
				adv += rn.glyph[end].Advance
				end++
			}
			if x+adv > budget {
				break outer
			}
			x += adv
			cuts = append(cuts, cut{ri, end})
			spaceBefore = append(spaceBefore, allSpace(text, cl, rn.glyph[gi].RuneCount))
			gi = end
		}
	}
	// Do not leave a dangling space before the ellipsis.
	for len(cuts) > 0 && spaceBefore[len(cuts)-1] {
		cuts = cuts[:len(cuts)-1]
	}
	var out line
	if len(cuts) > 0 {
		c := cuts[len(cuts)-1]
		out.runs = append(out.runs, ln.runs[:c.run]...)
		last := ln.runs[c.run]
		last.glyph = last.glyph[:c.glyph]
		out.runs = append(out.runs, last)
	}
	out.runs = append(out.runs, ell.runs...)
	return out
}

func allSpace(text []rune, start, n int) bool {
	for i := start; i < start+n && i < len(text); i++ {
		if !unicode.IsSpace(text[i]) {
			return false
		}
	}
	return true
}

// draw fills the glyph outlines of ln with col, the pen starting at
// (x, baseline) in image pixels.
func (w *worker) draw(img *image.RGBA, ln line, x, baseline float32, col color.RGBA) {
	// Bounding box of the ink, from the shaped glyph extents.
	minX, minY := float32(math.Inf(1)), float32(math.Inf(1))
	maxX, maxY := float32(math.Inf(-1)), float32(math.Inf(-1))
	pen := x
	for _, rn := range ln.runs {
		for _, g := range rn.glyph {
			gx := pen + f26(g.XOffset)
			gy := baseline - f26(g.YOffset)
			minX = min(minX, gx+f26(g.XBearing))
			maxX = max(maxX, gx+f26(g.XBearing+g.Width))
			minY = min(minY, gy-f26(g.YBearing))
			maxY = max(maxY, gy-f26(g.YBearing+g.Height))
			pen += f26(g.Advance)
		}
	}
	box := image.Rect(int(math.Floor(float64(minX)))-2, int(math.Floor(float64(minY)))-2,
		int(math.Ceil(float64(maxX)))+2, int(math.Ceil(float64(maxY)))+2).Intersect(img.Bounds())
	if box.Empty() {
		return
	}
	z := &w.ras
	z.Reset(box.Dx(), box.Dy())
	ox, oy := x-float32(box.Min.X), baseline-float32(box.Min.Y)
	pen = ox
	for _, rn := range ln.runs {
		face := w.faces[rn.face]
		scale := float32(rn.size) / float32(face.Upem())
		for _, g := range rn.glyph {
			outline, ok := face.GlyphDataOutline(g.GlyphID)
			if ok {
				gx := pen + f26(g.XOffset)
				gy := oy - f26(g.YOffset)
				tr := func(p ot.SegmentPoint) (float32, float32) {
					return gx + p.X*scale, gy - p.Y*scale // font y grows up, image y down
				}
				open := false
				for _, s := range outline.Segments {
					switch s.Op {
					case ot.SegmentOpMoveTo:
						if open {
							z.ClosePath()
						}
						z.MoveTo(tr(s.Args[0]))
						open = true
					case ot.SegmentOpLineTo:
						z.LineTo(tr(s.Args[0]))
					case ot.SegmentOpQuadTo:
						bx, by := tr(s.Args[0])
						cx, cy := tr(s.Args[1])
						z.QuadTo(bx, by, cx, cy)
					case ot.SegmentOpCubeTo:
						bx, by := tr(s.Args[0])
						cx, cy := tr(s.Args[1])
						dx, dy := tr(s.Args[2])
						z.CubeTo(bx, by, cx, cy, dx, dy)
					}
				}
				if open {
					z.ClosePath()
				}
			}
			pen += f26(g.Advance)
		}
	}
	z.Draw(img, box, image.NewUniform(col), image.Point{})
}

func f26(v fixed.Int26_6) float32 { return float32(v) / 64 }
