// Package card renders a citizen's vaccination status card as a PNG
// (1200×630, the size social media link previews use) in any of the twelve
// languages Sandesh speaks (strings/<lang>.txt), with a QR code of the page
// that shows the live record behind it.
//
// Text is shaped with HarfBuzz (go-text/typesetting), so conjuncts, reph
// and pre-base matras such as ি or ெ come out right, and drawn from the
// glyph outlines of the embedded Noto fonts with x/image/vector. Each
// script has its own Noto font (Latin, Devanagari, Bengali for Bengali and
// Assamese, Tamil, Telugu, Gujarati, Kannada, Malayalam, Oriya,
// Gurmukhi), so every line is split into runs by script and each run is
// set in the font that covers it: a name in Tamil script on a Hindi card
// is shaped in Noto Sans Tamil.
package card

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-text/typesetting/font"
	"golang.org/x/image/math/fixed"
)

//go:embed fonts/*.ttf
var fontFS embed.FS

// Card statuses.
const (
	StatusNot       = "NOT_VACCINATED"
	StatusPartially = "PARTIALLY_VACCINATED"
	StatusFully     = "FULLY_VACCINATED"
)

// Width and Height are the size of a rendered card in pixels.
const (
	Width  = 1200
	Height = 630
)

// Card is everything a status card shows — nothing else (no health details).
type Card struct {
	Name         string
	Status       string // NOT_VACCINATED | PARTIALLY_VACCINATED | FULLY_VACCINATED
	Doses        int
	LastDoseDate string // YYYY-MM-DD or ""
	Language     string // a code of langs.Codes() (unknown → en)
	// CheckURL is the page that shows the live record behind the card,
	// drawn as a QR code so that a shared picture can be checked against
	// the source; "" draws none.
	CheckURL string
}

// Renderer holds the strings and, from the first card on, the parsed
// fonts; it is safe for concurrent use.
type Renderer struct {
	// The sixteen fonts parsed take about 10 MB of heap, which a web
	// process's collector lets grow fivefold (cmd/sandesh's GOGC), for
	// cards most processes never draw: they are parsed at the first.
	fontsOnce sync.Once
	fontsErr  error
	fonts     [numFaces]*font.Font

	texts map[string]*texts
	pool  sync.Pool // of *worker
	pngs  pngPool
	naive bool // tests only: skip shaping, draw nominal glyphs rune by rune
}

// New reads the strings; the fonts are parsed by the first Render.
func New() (*Renderer, error) {
	r := &Renderer{texts: map[string]*texts{}}
	for _, lang := range languages {
		t, err := loadTexts(lang)
		if err != nil {
			return nil, fmt.Errorf("card: %w", err)
		}
		r.texts[lang] = t
	}
	r.pool.New = func() any {
		w := &worker{r: r}
		for id, f := range r.fonts {
			w.faces[id] = font.NewFace(f)
		}
		return w
	}
	return r, nil
}

// loadFonts parses the embedded fonts once; every later call returns the
// first call's error.
func (r *Renderer) loadFonts() error {
	r.fontsOnce.Do(func() {
		for id := range numFaces {
			name := id.file()
			data, err := fontFS.ReadFile(name)
			if err != nil {
				r.fontsErr = fmt.Errorf("card: read %s: %w", name, err)
				return
			}
			face, err := font.ParseTTF(bytes.NewReader(data))
			if err != nil {
				r.fontsErr = fmt.Errorf("card: parse %s: %w", name, err)
				return
			}
			r.fonts[id] = face.Font
		}
	})
	return r.fontsErr
}

// Layout, in pixels.
const (
	margin    = 72
	textWidth = Width - 2*margin
	bandH     = 262

	titleSize, titleBase   = 42, 92
	statusSize, statusBase = 84, 208
	minStatusSize          = 48
	nameSize, nameBase     = 60, 352
	detailSize             = 40
	dosesBase, lastBase    = 434, 500
	ruleY                  = 548 // the rule ends where the lines under the band do
	footerSize, footerBase = 28, 598
)

type palette struct {
	band, onBand, onBandSoft color.RGBA
}

var (
	background = color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}
	ink        = color.RGBA{0x1F, 0x29, 0x33, 0xFF}
	inkSoft    = color.RGBA{0x3E, 0x4C, 0x59, 0xFF}
	inkFaint   = color.RGBA{0x61, 0x6E, 0x7C, 0xFF}
	rule       = color.RGBA{0xE4, 0xE7, 0xEB, 0xFF}

	palettes = map[string]palette{
		// White on green / grey, near-black on amber: all ≥ 4.5:1 contrast.
		StatusFully:     {band: color.RGBA{0x1B, 0x7F, 0x3B, 0xFF}, onBand: color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}, onBandSoft: color.RGBA{0xE3, 0xF4, 0xE8, 0xFF}},
		StatusPartially: {band: color.RGBA{0xF2, 0xA9, 0x00, 0xFF}, onBand: color.RGBA{0x1F, 0x1A, 0x0E, 0xFF}, onBandSoft: color.RGBA{0x3D, 0x30, 0x0A, 0xFF}},
		StatusNot:       {band: color.RGBA{0x5F, 0x6B, 0x7A, 0xFF}, onBand: color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}, onBandSoft: color.RGBA{0xE6, 0xE9, 0xED, 0xFF}},
	}
)

// Render draws the card as a PNG, 1200×630 (the size social media previews use).
// The output depends only on c: the same card always gives the same bytes.
func (r *Renderer) Render(c Card) ([]byte, error) {
	pal, ok := palettes[c.Status]
	if !ok {
		return nil, fmt.Errorf("card: unknown status %q", c.Status)
	}
	if c.Doses < 0 {
		return nil, errors.New("card: negative dose count")
	}
	var last time.Time
	hasLast := c.LastDoseDate != ""
	if hasLast {
		var err error
		if last, err = time.Parse(time.DateOnly, c.LastDoseDate); err != nil {
			return nil, fmt.Errorf("card: last dose date %q is not YYYY-MM-DD", c.LastDoseDate)
		}
	}
	lang := normLang(c.Language)
	t := r.texts[lang]
	if err := r.loadFonts(); err != nil {
		return nil, err
	}

	w := r.pool.Get().(*worker)
	defer r.pool.Put(w)

	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	draw.Draw(img, img.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, Width, bandH), image.NewUniform(pal.band), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(margin, ruleY, margin+lowerWidth, ruleY+2), image.NewUniform(rule), image.Point{}, draw.Src)
	if c.CheckURL != "" {
		modules, err := qrModules(c.CheckURL)
		if err != nil {
			return nil, err
		}
		if err := drawQR(img, modules); err != nil {
			return nil, err
		}
	}

	// The band spans the card; the lines under it end before the QR code.
	maxW, lowerW := fixed.I(textWidth), fixed.I(lowerWidth)
	put := func(s string, st style, base int, col color.RGBA) {
		w.draw(img, w.fit([]rune(s), st, lang, lowerW), margin, float32(base), col)
	}
	w.draw(img, w.fit([]rune(t.title), style{size: titleSize}, lang, maxW), margin, titleBase, pal.onBandSoft)

	// The status is the point of the card: shrink it before shortening it.
	status := []rune(t.status[c.Status])
	st := style{size: statusSize, bold: true}
	for st.size > minStatusSize && w.shape(status, st, lang).width() > maxW {
		st.size -= 4
	}
	w.draw(img, w.fit(status, st, lang, maxW), margin, statusBase, pal.onBand)

	if name := CleanName(c.Name); name != "" {
		put(name, style{size: nameSize, bold: true}, nameBase, ink)
	}
	put(t.dosesLine(c.Doses), style{size: detailSize}, dosesBase, inkSoft)
	if hasLast {
		put(t.lastDoseLine(last), style{size: detailSize}, lastBase, inkSoft)
	}
	put(t.footer, style{size: footerSize}, footerBase, inkFaint)

	return r.pngs.encode(img)
}

// normLang maps "hi", "HI", "hi-IN", "mr_IN" … to a card language; unknown → en.
func normLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	for _, l := range languages {
		if s == l {
			return l
		}
	}
	return languages[0]
}

// CleanName is a name as the card sets it, safe on one line (a page that
// shows the same record shows this too): invalid UTF-8 is
// replaced, control and invisible format characters (bidi overrides …)
// dropped — except ZWJ/ZWNJ, which select Devanagari half forms — and
// runs of white space collapsed.
func CleanName(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	s = strings.Map(func(r rune) rune {
		switch {
		case r == 0x200C || r == 0x200D:
			return r
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// pngPool reuses the encoder's compression buffers between renders. BestSpeed
// is ~30% faster than the default level for ~3% more bytes on these flat cards.
type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer  { b, _ := p.p.Get().(*png.EncoderBuffer); return b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

func (p *pngPool) encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: p}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
