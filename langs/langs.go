// Package langs lists the twelve languages Sandesh speaks — those CoWIN
// served — with their names, and reads digits typed in any of their scripts.
package langs

import (
	"slices"
	"unicode"
)

// Language is one language citizens can choose.
type Language struct {
	Code    string // ISO 639-1, as in config and stored profiles
	English string // its name in English, lower case ("tamil")
	Native  string // its name in its own script ("தமிழ்")
	Script  string // ISO 15924 of the script its texts are written in
}

// all is every language, in CoWIN's order: Hindi and English, then the
// regional languages.
var all = []Language{
	{"en", "english", "English", "Latn"},
	{"hi", "hindi", "हिंदी", "Deva"},
	{"mr", "marathi", "मराठी", "Deva"},
	{"bn", "bengali", "বাংলা", "Beng"},
	{"ta", "tamil", "தமிழ்", "Taml"},
	{"te", "telugu", "తెలుగు", "Telu"},
	{"gu", "gujarati", "ગુજરાતી", "Gujr"},
	{"kn", "kannada", "ಕನ್ನಡ", "Knda"},
	{"ml", "malayalam", "മലയാളം", "Mlym"},
	{"or", "odia", "ଓଡ଼ିଆ", "Orya"},
	{"pa", "punjabi", "ਪੰਜਾਬੀ", "Guru"},
	{"as", "assamese", "অসমীয়া", "Beng"},
}

// All returns every language.
func All() []Language { return slices.Clone(all) }

// Codes returns every language's code.
func Codes() []string {
	codes := make([]string, len(all))
	for i, l := range all {
		codes[i] = l.Code
	}
	return codes
}

// Lookup finds a language by its code.
func Lookup(code string) (Language, bool) {
	i := slices.IndexFunc(all, func(l Language) bool { return l.Code == code })
	if i < 0 {
		return Language{}, false
	}
	return all[i], true
}

// scriptTables are the Unicode tables of the scripts in all.
var scriptTables = map[string]*unicode.RangeTable{
	"Latn": unicode.Latin, "Deva": unicode.Devanagari, "Beng": unicode.Bengali, "Taml": unicode.Tamil,
	"Telu": unicode.Telugu, "Gujr": unicode.Gujarati, "Knda": unicode.Kannada, "Mlym": unicode.Malayalam,
	"Orya": unicode.Oriya, "Guru": unicode.Gurmukhi,
}

// InScript reports whether r is a character of the language's script.
func (l Language) InScript(r rune) bool {
	t := scriptTables[l.Script]
	return t != nil && unicode.Is(t, r)
}

// zeros are the digit zeros of the scripts citizens type digits in: ASCII,
// Devanagari, Bengali (and Assamese), Gurmukhi, Gujarati, Odia, Tamil,
// Telugu, Kannada, Malayalam, and full-width (East Asian keyboards).
var zeros = []rune{'0', 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0xFF10}

// Digit is the value of r when it is a digit of one of these scripts.
func Digit(r rune) (int, bool) {
	for _, z := range zeros {
		if r >= z && r <= z+9 {
			return int(r - z), true
		}
	}
	return 0, false
}

// ASCIIDigits returns s with every digit of these scripts written as an
// ASCII digit ("७५५६" → "7556"); everything else is kept.
func ASCIIDigits(s string) string {
	for _, r := range s {
		if _, ok := Digit(r); ok && r > '9' {
			return toASCII(s)
		}
	}
	return s
}

func toASCII(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if d, ok := Digit(r); ok {
			r = rune('0' + d)
		}
		out = append(out, r)
	}
	return string(out)
}
