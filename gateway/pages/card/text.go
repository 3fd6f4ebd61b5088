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
)

// faceID names one of the four embedded fonts.
type faceID int

const (
	latinRegular faceID = iota
	latinBold
	devaRegular
	devaBold
	numFaces
)

var fontFiles = [numFaces]string{
	latinRegular: "fonts/NotoSans-Regular.ttf",
	latinBold:    "fonts/NotoSans-Bold.ttf",
	devaRegular:  "fonts/NotoSansDevanagari-Regular.ttf",
	devaBold:     "fonts/NotoSansDevanagari-Bold.ttf",
}

func faceFor(deva, bold bool) faceID {
	switch {
	case deva && bold:
		return devaBold
	case deva:
		return devaRegular
	case bold:
		return latinBold
	}
	return latinRegular
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

func isDevanagari(r rune) bool {
	return (r >= 0x0900 && r <= 0x097F) || // Devanagari
		(r >= 0xA8E0 && r <= 0xA8FF) || // Devanagari Extended
		(r >= 0x1CD0 && r <= 0x1CFF) // Vedic Extensions
}

// isNeutral reports runes that belong to whichever run they sit in:
// spaces, ZWJ/ZWNJ (which select Devanagari half forms), the dotted circle
// and non-Devanagari combining marks.
func isNeutral(r rune) bool {
	return unicode.IsSpace(r) || r == 0x200C || r == 0x200D || r == 0x25CC ||
		unicode.In(r, unicode.Mn, unicode.Me)
}

// span is a half-open rune range set in one face family.
type span struct {
	start, end int
	deva       bool
}

// segment splits text into runs by script: Devanagari goes to Noto Sans
// Devanagari (which has no Latin letters), everything else to Noto Sans.
// Neutral runes join the run they are in; a rune the preferred font lacks
// but the other has moves to the other font.
func (r *Renderer) segment(text []rune, bold bool) []span {
	has := func(deva bool, c rune) bool {
		_, ok := r.fonts[faceFor(deva, bold)].NominalGlyph(c)
		return ok
	}
	lead := false // class of leading neutral runes: that of the first strong rune
	for _, c := range text {
		if !isNeutral(c) {
			lead = isDevanagari(c)
			break
		}
	}
	var spans []span
	prev := lead
	for i, c := range text {
		deva := prev
		if !isNeutral(c) {
			deva = isDevanagari(c)
		}
		if !has(deva, c) && has(!deva, c) {
			deva = !deva
		}
		if n := len(spans); n > 0 && spans[n-1].deva == deva {
			spans[n-1].end = i + 1
		} else {
			spans = append(spans, span{start: i, end: i + 1, deva: deva})
		}
		prev = deva
	}
	return spans
}

// scriptOf picks the OpenType script for a non-Devanagari run: the first
// rune with a real script, else Latin.
func scriptOf(text []rune) language.Script {
	for _, c := range text {
		if s := language.LookupScript(c); s != language.Common && s != language.Inherited && s != language.Unknown {
			return s
		}
	}
	return language.Latin
}

// shape segments text by script and shapes each run with HarfBuzz.
func (w *worker) shape(text []rune, st style, lang string) line {
	var ln line
	for _, sp := range w.r.segment(text, st.bold) {
		fid := faceFor(sp.deva, st.bold)
		in := shaping.Input{
			Text:      text,
			RunStart:  sp.start,
			RunEnd:    sp.end,
			Direction: di.DirectionLTR,
			Face:      w.faces[fid],
			Size:      fixed.I(st.size),
			Script:    language.Latin,
			Language:  language.NewLanguage("en"),
		}
		if sp.deva {
			in.Script = language.Devanagari
			in.Language = language.NewLanguage(devaLanguage(lang))
		} else {
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

// devaLanguage is the OpenType language for Devanagari runs: Marathi cards
// get Marathi forms (the font has a MAR language system), all others Hindi.
func devaLanguage(lang string) string {
	if lang == "mr" {
		return "mr"
	}
	return "hi"
}

// naiveShape maps rune → nominal glyph with no substitution or positioning.
// It exists only so tests can show what unshaped Devanagari looks like.
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
