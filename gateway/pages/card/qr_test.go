package card

import (
	"bytes"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	xdraw "golang.org/x/image/draw"
)

// scanQR reads the QR code of a whole image, as a phone pointed at the
// card would: no cropping, no hints but the format.
func scanQR(t *testing.T, img image.Image) (string, error) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_POSSIBLE_FORMATS: []gozxing.BarcodeFormat{gozxing.BarcodeFormat_QR_CODE},
		gozxing.DecodeHintType_TRY_HARDER:       true,
	})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// messenger is img as a messenger passes a shared card on: half the size and
// a JPEG of quality 60.
func messenger(t *testing.T, img image.Image) image.Image {
	t.Helper()
	small := image.NewRGBA(image.Rect(0, 0, Width/2, Height/2))
	xdraw.ApproxBiLinear.Scale(small, small.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQRCodeReadsBack: the card of every language and status carries a QR
// code of its check URL. Read module by module off the PNG, it is exactly
// the code of the URL and decodes to it with no error to correct; and a
// scanner finds and reads it in the whole card as a messenger passes it
// on, halved and recompressed.
//
// (The scan is not of the full-size PNG: ZXing's detector, in gozxing as
// in Java, misses about one pixel-perfect code in 200 — its own encoder's
// as well as this one's — which a camera's blur or any resampling cures.)
func TestQRCodeReadsBack(t *testing.T) {
	r := renderer(t)
	for _, lang := range languages {
		for _, st := range statuses {
			t.Run(lang+"/"+st, func(t *testing.T) {
				c := sampleCard(lang, st)
				// Each card its own token, as the gateway makes them.
				c.CheckURL = strings.Replace(sampleCheckURL, "3f9a61c0d2b84e7a15c6", tokenFor(lang+st), 1)
				b, err := r.Render(c)
				if err != nil {
					t.Fatal(err)
				}
				img := decode(t, b)
				if got := readModules(t, img, c.CheckURL); got != c.CheckURL {
					t.Errorf("modules on the card decode to %q, want %q", got, c.CheckURL)
				}
				got, err := scanQR(t, messenger(t, img))
				if err != nil {
					t.Fatalf("no QR code found in the shared card: %v", err)
				}
				if got != c.CheckURL {
					t.Errorf("QR code reads %q, want %q", got, c.CheckURL)
				}
			})
		}
	}
}

// readModules samples the centre of each module of the QR code of url
// where the card puts it, checks they are that code's modules, and
// decodes them.
func readModules(t *testing.T, img image.Image, url string) string {
	t.Helper()
	want, err := qrModules(url)
	if err != nil {
		t.Fatal(err)
	}
	n := len(want)
	box, px, err := qrPlace(n)
	if err != nil {
		t.Fatal(err)
	}
	bits, err := gozxing.NewBitMatrix(n, n)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for y := range n {
		for x := range n {
			at := img.At(box.Min.X+(qrQuiet+x)*px+px/2, box.Min.Y+(qrQuiet+y)*px+px/2)
			dark := sameColor(at, ink)
			if !dark && !sameColor(at, background) {
				t.Fatalf("module (%d,%d) is %v, neither ink nor background", x, y, at)
			}
			if dark {
				bits.Set(x, y)
			}
			if dark != want[y][x] {
				wrong++
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d modules differ from the code of %q", wrong, n*n, url)
	}
	res, err := decoder.NewDecoder().Decode(bits, nil)
	if err != nil {
		t.Fatalf("modules do not decode: %v", err)
	}
	if res.GetErrorsCorrected() != 0 {
		t.Errorf("%d codewords needed correcting", res.GetErrorsCorrected())
	}
	return res.GetText()
}

// tokenFor is a 20-hex-digit token that differs for each s.
func tokenFor(s string) string {
	const hex = "0123456789abcdef"
	var b [20]byte
	h := uint64(14695981039346656037)
	for i := range b {
		for _, c := range []byte(s) {
			h = (h ^ uint64(c)) * 1099511628211
		}
		h = (h ^ uint64(i)) * 1099511628211
		b[i] = hex[h>>60]
	}
	return string(b[:])
}

// TestQRCodePlacement: modules of at least minModule pixels, a quiet zone
// of four modules with nothing drawn in it, inside the white area under
// the band, clear of the lines' width — for check URLs from short to the
// longest a card takes; a longer one is an error, not an unreadable code.
func TestQRCodePlacement(t *testing.T) {
	r := renderer(t)
	for _, tc := range []struct {
		url    string
		wantPx int
	}{
		{"http://localhost/c/3f9a61c0d2b84e7a15c6/check", 7},
		{sampleCheckURL, 7},
		{"https://sandesh.vaccination.health.state.example.gov.in/c/3f9a61c0d2b84e7a15c6/check", 6},
		{"https://" + strings.Repeat("a", 140) + ".in/c/3f9a61c0d2b84e7a15c6/check", 4},
	} {
		modules, err := qrModules(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		box, px, err := qrPlace(len(modules))
		if err != nil {
			t.Fatalf("%d-byte URL: %v", len(tc.url), err)
		}
		t.Logf("%d-byte URL: %d modules of %d px in %v", len(tc.url), len(modules), px, box)
		if px != tc.wantPx {
			t.Errorf("%d-byte URL: %d px a module, want %d", len(tc.url), px, tc.wantPx)
		}
		if box.Min.Y < bandH || box.Max.Y > Height || box.Max.X > Width || box.Min.X < margin+lowerWidth+qrGap {
			t.Errorf("QR square %v overlaps the band, the lines or the edge", box)
		}
		c := sampleCard("ta", StatusPartially)
		c.Name = strings.Repeat("லக்ஷ்மி ", 30) // shortened to the lines' width
		c.CheckURL = tc.url
		b, err := r.Render(c)
		if err != nil {
			t.Fatal(err)
		}
		img := decode(t, b)
		quiet := box.Inset(qrQuiet * px)
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				if !(image.Point{x, y}.In(quiet)) && !sameColor(img.At(x, y), background) {
					t.Fatalf("%d-byte URL: ink at (%d,%d) in the quiet zone", len(tc.url), x, y)
				}
			}
		}
		if got, err := scanQR(t, messenger(t, img)); err != nil || got != tc.url {
			t.Errorf("%d-byte URL: QR code reads %q, %v", len(tc.url), got, err)
		}
	}

	c := sampleCard("en", StatusFully)
	c.CheckURL = "https://" + strings.Repeat("a", 300) + ".in/c/3f9a61c0d2b84e7a15c6/check"
	if _, err := r.Render(c); err == nil {
		t.Errorf("%d-byte check URL: want an error", len(c.CheckURL))
	}
}

// TestNoCheckURLNoQRCode: without a check URL the square stays white.
func TestNoCheckURLNoQRCode(t *testing.T) {
	r := renderer(t)
	c := sampleCard("en", StatusFully)
	c.CheckURL = ""
	b, err := r.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, b)
	for y := bandH; y < Height; y++ {
		for x := qrRight - qrBox; x < Width; x++ {
			if !sameColor(img.At(x, y), background) {
				t.Fatalf("ink at (%d,%d) with no check URL", x, y)
			}
		}
	}
}
