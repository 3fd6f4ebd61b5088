package langs

import (
	"testing"
	"unicode"
)

func TestASCIIDigits(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"7556", "7556"},
		{"CODE ७५५६", "CODE 7556"},
		{"৭৫৫৬", "7556"}, // Bengali and Assamese
		{"੭੫੫੬", "7556"}, // Gurmukhi
		{"૭૫૫૬", "7556"}, // Gujarati
		{"୭୫୫୬", "7556"}, // Odia
		{"௭௫௫௬", "7556"}, // Tamil
		{"౭౫౫౬", "7556"}, // Telugu
		{"೭೫೫೬", "7556"}, // Kannada
		{"൭൫൫൬", "7556"}, // Malayalam
		{"７５５６", "7556"}, // full-width
		{"1 २ 3", "1 2 3"},
		{"abc ৭৫ x", "abc 75 x"},
	} {
		if got := ASCIIDigits(tc.in); got != tc.want {
			t.Errorf("ASCIIDigits(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDigitMatchesUnicode: every script's ten digits are read, in order,
// and each is a decimal digit to Unicode too.
func TestDigitMatchesUnicode(t *testing.T) {
	for _, z := range zeros {
		for d := range 10 {
			r := z + rune(d)
			got, ok := Digit(r)
			if !ok || got != d || !unicode.IsDigit(r) {
				t.Errorf("Digit(%U) = %d, %v; want %d (IsDigit %v)", r, got, ok, d, unicode.IsDigit(r))
			}
		}
	}
	for _, r := range []rune{'a', 'क', 0x0BF0 /* Tamil ten: not a digit */, '/'} {
		if _, ok := Digit(r); ok {
			t.Errorf("Digit(%U) is a digit", r)
		}
	}
}

func TestLanguages(t *testing.T) {
	codes := Codes()
	if len(codes) != 12 || codes[0] != "en" || codes[1] != "hi" {
		t.Fatalf("codes = %v", codes)
	}
	seen := map[string]bool{}
	for _, l := range All() {
		for _, k := range []string{l.Code, l.English, l.Native} {
			if k == "" || seen[k] {
				t.Errorf("%s: %q empty or used twice", l.Code, k)
			}
			seen[k] = true
		}
		for _, r := range l.Native {
			if !l.InScript(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) {
				t.Errorf("%s: %q of its name is not in its script %s", l.Code, r, l.Script)
			}
		}
		if got, ok := Lookup(l.Code); !ok || got != l {
			t.Errorf("Lookup(%q) = %v, %v", l.Code, got, ok)
		}
	}
	if _, ok := Lookup("fr"); ok {
		t.Error("Lookup(fr) found a language")
	}
}
