package templates

// Encodings of an SMS.
const (
	GSM7 = "GSM-7" // GSM 03.38 default alphabet, 7-bit septets
	UCS2 = "UCS-2" // 16-bit code units (UTF-16 in practice)
)

// Count describes how a text travels as SMS.
type Count struct {
	Encoding string `json:"encoding"` // GSM7 or UCS2
	Segments int    `json:"segments"` // SMS parts billed and sent; 1 for a text that fits one SMS
	// Units is the length in the encoding: GSM-7 septets (extension-table
	// characters count 2, for the escape) or UCS-2 16-bit code units
	// (characters outside the BMP, e.g. emoji, count 2: a surrogate pair).
	Units int `json:"units"`
}

// Per-SMS capacity in units. A concatenated message loses room to its user
// data header, so each part holds less than a single SMS.
const (
	gsmSingle = 160
	gsmPart   = 153
	ucsSingle = 70
	ucsPart   = 67
)

// gsmBasic and gsmExtension are the GSM 03.38 default alphabet and its
// extension table (reached with ESC, so each costs two septets). ESC itself
// is not accepted as input text.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[]~|€"
)

// gsmSeptets maps every GSM-7 character to its cost in septets.
var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmLatin is gsmSeptets for the runes below 256, where almost every
// character of an SMS is: an array lookup, not a map's hash, on the path
// every rendered message takes.
var gsmLatin = func() (t [256]uint8) {
	for r, n := range gsmSeptets {
		if r < 256 {
			t[r] = uint8(n)
		}
	}
	return t
}()

// septets is r's cost in GSM-7; 0 when r is not in the alphabet.
func septets(r rune) int {
	if r >= 0 && r < 256 {
		return int(gsmLatin[r])
	}
	return gsmSeptets[r]
}

// isGSM7 reports whether every character of text is in the GSM 03.38
// default alphabet or its extension table.
func isGSM7(text string) bool {
	for _, r := range text {
		if septets(r) == 0 {
			return false
		}
	}
	return true
}

// unitsOf is the cost of r in encoding enc. Invalid UTF-8 decodes as U+FFFD,
// one UCS-2 unit.
func unitsOf(enc string, r rune) int {
	if enc == GSM7 {
		return septets(r)
	}
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// layout measures text and returns the byte offsets where parts 2..n start.
// Parts are filled greedily; a character that would overflow a part starts
// the next one, so an escape pair or surrogate pair is never cut and a part
// may be one unit short of the limit.
func layout(text string) (c Count, cuts []int) {
	c.Encoding = UCS2
	single, part := ucsSingle, ucsPart
	if isGSM7(text) {
		c.Encoding = GSM7
		single, part = gsmSingle, gsmPart
	}
	for _, r := range text {
		c.Units += unitsOf(c.Encoding, r)
	}
	c.Segments = 1
	if c.Units <= single {
		return c, nil
	}
	fill := 0
	for i, r := range text {
		u := unitsOf(c.Encoding, r)
		if fill+u > part {
			cuts = append(cuts, i)
			fill = 0
		}
		fill += u
	}
	c.Segments += len(cuts)
	return c, cuts
}

// CountText reports the encoding of text, its length in units and the
// number of SMS segments it takes. Empty text is GSM-7, 0 units, 1 segment.
//
// GSM-7 is used when every character is in the GSM 03.38 default alphabet or
// its extension table (^ { } \ [ ] ~ | € and form feed, two units each);
// anything else (Devanagari, emoji, curly quotes) makes the whole text UCS-2.
// GSM-7 fits 160 units in one SMS, else 153 per part; UCS-2 fits 70, else 67
// per part.
func CountText(text string) Count {
	c, _ := layout(text)
	return c
}

// Split cuts text into the parts that travel as concatenated SMS (one part,
// text itself, when it fits a single SMS). Never splits a GSM-7 escape pair
// (ESC + extension char) or a UTF-16 surrogate pair across parts. The parts
// joined are text, and len(Split(text)) == CountText(text).Segments.
func Split(text string) []string {
	_, cuts := layout(text)
	parts := make([]string, 0, len(cuts)+1)
	start := 0
	for _, cut := range cuts {
		parts = append(parts, text[start:cut])
		start = cut
	}
	return append(parts, text[start:])
}
