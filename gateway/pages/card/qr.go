package card

import (
	"fmt"
	"image"
	"image/draw"

	"github.com/yeqown/go-qrcode/v2"
)

// The QR code of the check page: right of the lines under the band, in a
// square of at most qrBox pixels (quiet zone included) whose right edge is
// qrRight, centred on the white area under the band. Its modules are as
// many whole pixels as fit: 7 for the ~60-byte URLs of public_url/c/{token}/check
// (version 4, 33 modules + quiet zone = 287 px), 4 at the least, so that a
// phone still reads it off a screenshot that a messenger scaled down.
const (
	qrBox     = 300
	qrRight   = Width - 28
	qrGap     = 24 // between the lines' right edge and the QR code's quiet zone
	qrQuiet   = 4  // modules of light margin on each side, as ISO/IEC 18004 asks
	minModule = 4  // pixels per module

	// lowerWidth is the width of the lines under the band, which end
	// before the QR code's square.
	lowerWidth = qrRight - qrBox - qrGap - margin
)

// qrModules is the QR code of text, rows of modules (true is dark), without
// the quiet zone. Error correction level M (15%) survives the JPEG a
// messenger turns a shared card into, at half the modules of level H.
func qrModules(text string) ([][]bool, error) {
	q, err := qrcode.NewWith(text,
		qrcode.WithEncodingMode(qrcode.EncModeByte),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("card: QR code: %w", err)
	}
	var m matrix
	if err := q.Save(&m); err != nil {
		return nil, fmt.Errorf("card: QR code: %w", err)
	}
	return m.bits, nil
}

// matrix is a qrcode.Writer that keeps the modules instead of drawing them.
type matrix struct{ bits [][]bool }

func (m *matrix) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrix) Close() error                  { return nil }

// qrPlace is where the QR code of n×n modules goes: the square with its
// quiet zone, and the pixels per module; an error when it would need
// modules smaller than minModule (a check URL over 287 bytes, which
// needs version 13 at level M).
func qrPlace(n int) (image.Rectangle, int, error) {
	px := qrBox / (n + 2*qrQuiet)
	if px < minModule {
		return image.Rectangle{}, 0, fmt.Errorf("card: check URL too long for a QR code this card can hold (%d modules)", n)
	}
	side := px * (n + 2*qrQuiet)
	top := (bandH+Height)/2 - side/2
	return image.Rect(qrRight-side, top, qrRight, top+side), px, nil
}

// drawQR draws the modules in ink on the light background of their square.
func drawQR(img *image.RGBA, modules [][]bool) error {
	box, px, err := qrPlace(len(modules))
	if err != nil {
		return err
	}
	draw.Draw(img, box, image.NewUniform(background), image.Point{}, draw.Src)
	dark := image.NewUniform(ink)
	x0, y0 := box.Min.X+qrQuiet*px, box.Min.Y+qrQuiet*px
	for y, row := range modules {
		for x, on := range row {
			if on {
				r := image.Rect(x0+x*px, y0+y*px, x0+(x+1)*px, y0+(y+1)*px)
				draw.Draw(img, r, dark, image.Point{}, draw.Src)
			}
		}
	}
	return nil
}
