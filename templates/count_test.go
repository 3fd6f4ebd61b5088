package templates

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCountText(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	ka := func(n int) string { return strings.Repeat("क", n) }
	for _, tc := range []struct {
		name     string
		text     string
		enc      string
		units    int
		segments int
		parts    []int // units per part, when worth checking
	}{
		{"empty", "", GSM7, 0, 1, []int{0}},
		{"plain", "Hello, world!", GSM7, 13, 1, nil},
		{"euro alone", "€", GSM7, 2, 1, nil},
		{"open bracket alone", "[", GSM7, 2, 1, nil},
		{"close bracket alone", "]", GSM7, 2, 1, nil},
		{"open brace alone", "{", GSM7, 2, 1, nil},
		{"close brace alone", "}", GSM7, 2, 1, nil},
		{"caret alone", "^", GSM7, 2, 1, nil},
		{"tilde alone", "~", GSM7, 2, 1, nil},
		{"pipe alone", "|", GSM7, 2, 1, nil},
		{"backslash alone", `\`, GSM7, 2, 1, nil},
		{"form feed alone", "\f", GSM7, 2, 1, nil},
		{"all extension chars", `€[]{}^~|\`, GSM7, 18, 1, nil},
		{"euro in text", "Fee 5€ only", GSM7, 12, 1, nil},
		{"brackets in text", "Slot [09:00-11:00]", GSM7, 20, 1, nil},
		{"braces in text", "code {1234}", GSM7, 13, 1, nil},
		{"caret tilde pipe in text", "a^b~c|d", GSM7, 10, 1, nil},
		{"backslash in text", `C:\path`, GSM7, 8, 1, nil},
		{"accented Latin outside GSM", "Ñandú", UCS2, 5, 1, nil},
		{"GSM basic accents and symbols", "Café £5 ¿Qué? Ñoño! ÄÖÜ äöü à è é ù ì ò Ç Ø ø Å å Æ æ ß É ¡ § ¤ ¥ @ $ _", GSM7, 71, 1, nil},
		{"GSM Greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", GSM7, 10, 1, nil},
		{"newline and CR are basic", "a\r\nb", GSM7, 4, 1, nil},
		{"160 plain", a(160), GSM7, 160, 1, []int{160}},
		{"161 plain", a(161), GSM7, 161, 2, []int{153, 8}},
		{"306 plain fills two parts", a(306), GSM7, 306, 2, []int{153, 153}},
		{"307 plain", a(307), GSM7, 307, 3, []int{153, 153, 1}},
		{"158 plain + euro is 160 units", a(158) + "€", GSM7, 160, 1, nil},
		{"159 plain + euro is 161 units", a(159) + "€", GSM7, 161, 2, []int{153, 8}},
		{"euro straddles 153", a(152) + "€" + a(10), GSM7, 164, 2, []int{152, 12}},
		{"brace straddles 153", a(152) + "{" + a(10), GSM7, 164, 2, []int{152, 12}},
		{"euro ends part exactly", a(151) + "€" + a(10), GSM7, 163, 2, []int{153, 10}},
		{"lowercase c cedilla is not GSM", "ça", UCS2, 2, 1, nil},
		{"curly quote is not GSM", "it’s", UCS2, 4, 1, nil},
		{"backtick is not GSM", "`", UCS2, 1, 1, nil},
		{"Devanagari 70", ka(70), UCS2, 70, 1, []int{70}},
		{"Devanagari 71", ka(71), UCS2, 71, 2, []int{67, 4}},
		{"Devanagari 134", ka(134), UCS2, 134, 2, []int{67, 67}},
		{"Devanagari 135", ka(135), UCS2, 135, 3, []int{67, 67, 1}},
		{"Devanagari word", "टीकाकरण", UCS2, 7, 1, nil},
		{"emoji alone", "😀", UCS2, 2, 1, nil},
		{"35 emoji fill one SMS", strings.Repeat("😀", 35), UCS2, 70, 1, nil},
		{"36 emoji", strings.Repeat("😀", 36), UCS2, 72, 2, []int{66, 6}},
		{"emoji straddles 67", ka(66) + "😀" + ka(10), UCS2, 78, 2, []int{66, 12}},
		{"emoji ends part exactly", ka(65) + "😀" + ka(10), UCS2, 77, 2, []int{67, 10}},
		{"Latin + one Devanagari", "Hello क", UCS2, 7, 1, nil},
		{"long Latin + one Devanagari", a(69) + "क", UCS2, 70, 1, nil},
		{"long Latin + one Devanagari over 70", a(70) + "क", UCS2, 71, 2, []int{67, 4}},
		{"GSM text with emoji", "OK 👍", UCS2, 5, 1, nil},
		{"invalid UTF-8", "a\xffb", UCS2, 3, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CountText(tc.text)
			want := Count{Encoding: tc.enc, Units: tc.units, Segments: tc.segments}
			if got != want {
				t.Fatalf("CountText = %+v, want %+v", got, want)
			}
			parts := Split(tc.text)
			if len(parts) != got.Segments {
				t.Fatalf("Split gave %d parts, CountText %d segments", len(parts), got.Segments)
			}
			if j := strings.Join(parts, ""); j != tc.text {
				t.Fatalf("parts joined = %q, want the input", j)
			}
			limit := gsmSingle
			switch {
			case got.Encoding == GSM7 && len(parts) > 1:
				limit = gsmPart
			case got.Encoding == UCS2 && len(parts) == 1:
				limit = ucsSingle
			case got.Encoding == UCS2:
				limit = ucsPart
			}
			var units []int
			for i, p := range parts {
				u := 0
				for _, r := range p {
					u += unitsOf(got.Encoding, r)
				}
				units = append(units, u)
				if u > limit {
					t.Errorf("part %d has %d units, limit %d", i, u, limit)
				}
				if utf8.ValidString(tc.text) && !utf8.ValidString(p) {
					t.Errorf("part %d cuts a character: %q", i, p)
				}
			}
			if tc.parts != nil && !slices.Equal(units, tc.parts) {
				t.Errorf("part units = %v, want %v", units, tc.parts)
			}
		})
	}
}

func TestSplitKeepsPairsWhole(t *testing.T) {
	// Every offset of an escape char or emoji around the boundary.
	for pad := 145; pad <= 160; pad++ {
		text := strings.Repeat("a", pad) + "€" + strings.Repeat("a", 20)
		for _, p := range Split(text) {
			if !utf8.ValidString(p) {
				t.Fatalf("pad %d: part %q cuts €", pad, p)
			}
		}
		if got := strings.Join(Split(text), ""); got != text {
			t.Fatalf("pad %d: rejoin differs", pad)
		}
	}
	for pad := 60; pad <= 70; pad++ {
		text := strings.Repeat("क", pad) + "😀" + strings.Repeat("क", 20)
		parts := Split(text)
		for i, p := range parts {
			if !utf8.ValidString(p) {
				t.Fatalf("pad %d: part %d cuts the surrogate pair", pad, i)
			}
			u := 0
			for _, r := range p {
				u += unitsOf(UCS2, r)
			}
			if u > ucsPart {
				t.Fatalf("pad %d: part %d has %d units", pad, i, u)
			}
		}
	}
}

// BenchmarkCountText measures the count every rendered message takes, for
// an English confirmation and a Hindi one.
func BenchmarkCountText(b *testing.B) {
	for _, text := range []string{
		"Asha Patil: dose 2 of COVISHIELD recorded. Certificate ID 1234567890123. Status FULLY_VACCINATED. This SMS confirms your certificate exists.",
		"आशा पाटील: COVISHIELD खुराक 2 दर्ज। प्रमाणपत्र 1234567890123। स्थिति FULLY_VACCINATED। यह SMS प्रमाणपत्र का सबूत है।",
	} {
		b.Run(CountText(text).Encoding, func(b *testing.B) {
			for range b.N {
				CountText(text)
			}
		})
	}
}
