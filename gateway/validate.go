package gateway

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// InvalidError is input that breaks a rule; Code is the API's error code
// and Field names the offending field.
type InvalidError struct {
	Code    string
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

// PublicMessage is safe to show a person (the simulator page shows it).
func (e *InvalidError) PublicMessage() string { return e.Message }

// Is lets errors.Is(err, ErrBadInput) hold for every validation failure.
func (e *InvalidError) Is(target error) bool { return target == ErrBadInput }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Code: "bad_request", Field: field, Message: fmt.Sprintf(format, args...)}
}

// NormalizeMobile turns what a person typed into E.164, reading numbers
// without a country code in region.
func NormalizeMobile(raw, region string) (string, error) {
	bad := &InvalidError{Code: "invalid_mobile", Field: "mobile",
		Message: "Give a valid mobile number: 10 digits, or the full number starting with +."}
	if len(raw) > 32 {
		return "", bad
	}
	var b strings.Builder
	digits := false
	for _, r := range strings.TrimSpace(raw) {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r == '+' && !digits && !strings.ContainsRune(b.String(), '+'): // "+91 …", "(+91) …"
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			// phonenumbers would read letters as a keypad (1-800-FLOWERS).
			return "", bad
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" || len(s) > 24 {
		return "", bad
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", bad
	}
	// GetNumberType is UNKNOWN for a number IsValidNumber refuses (both
	// match the national number against the region's patterns), so the
	// type alone says valid and mobile, for a third less work.
	t := phonenumbers.GetNumberType(n)
	if t != phonenumbers.MOBILE && t != phonenumbers.FIXED_LINE_OR_MOBILE {
		return "", bad
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// mobilesKept bounds the numbers-as-typed whose E.164 form a process keeps:
// the mobiles that text or call in often; registrations, each of another
// number, gain nothing from a larger bound (see profileCacheSize).
const mobilesKept = 20_000

// normalizeMobile is NormalizeMobile in the gateway's region, remembered:
// parsing with phonenumbers costs more than the rest of an inbound SMS's
// work in process, and the same senders write again and again. Only valid
// numbers are kept; a refusal is worked out each time.
func (g *Gateway) normalizeMobile(raw string) (string, error) {
	if m, ok := g.mobiles.Get(raw); ok {
		return m, nil
	}
	m, err := NormalizeMobile(raw, g.region)
	if err == nil {
		g.mobiles.Put(raw, m)
	}
	return m, err
}

// person reads a name and a mobile the way registration and KYVS both
// take them: the name cleaned, the mobile in E.164.
func (g *Gateway) person(name, mobile string) (string, string, error) {
	n, err := personName("name", name, 100)
	if err != nil {
		return "", "", err
	}
	m, err := g.normalizeMobile(mobile)
	if err != nil {
		return "", "", err
	}
	return n, m, nil
}

// MaskMobile keeps the country code and the last four digits, for logs.
func MaskMobile(e164 string) string {
	if len(e164) < 8 {
		return "****"
	}
	return e164[:3] + strings.Repeat("*", len(e164)-7) + e164[len(e164)-4:]
}

// personName accepts names as people write them in any script: letters,
// combining marks (Devanagari vowel signs), digits (registries number
// namesakes), spaces, dots, apostrophes and hyphens. Emoji, symbols and
// markup are refused.
func personName(field, raw string, maxRunes int) (string, error) {
	return text(field, raw, maxRunes, " .'-")
}

// placeName is personName with a little more punctuation (PHC Sector 21,
// Ward No. 4 (East)); labelName adds what operators put in key names.
func placeName(field, raw string, maxRunes int) (string, error) {
	return text(field, raw, maxRunes, " .,'-()&/")
}

func labelName(field, raw string, maxRunes int) (string, error) {
	return text(field, raw, maxRunes, " .,'-()&/_:#@+")
}

// text is one line of letters (any script, with their combining marks and
// joiners), digits and the punctuation in punct, containing a letter.
func text(field, raw string, maxRunes int, punct string) (string, error) {
	s := strings.Join(strings.Fields(raw), " ")
	if s == "" {
		return "", invalid(field, "%s is required.", field)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes {
		return "", invalid(field, "%s must be at most %d characters.", field, maxRunes)
	}
	letters := false
	for _, r := range s {
		letters = letters || unicode.IsLetter(r)
		if !(unicode.IsLetter(r) || unicode.Is(unicode.M, r) || joiner(r) || unicode.IsDigit(r) || strings.ContainsRune(punct, r)) {
			return "", invalid(field, "%s may hold letters, digits, spaces and %s only.", field, strings.Join(strings.Split(strings.TrimSpace(punct), ""), " "))
		}
	}
	if !letters {
		return "", invalid(field, "%s must contain letters.", field)
	}
	return s, nil
}

// joiner is ZWJ or ZWNJ: Marathi and Hindi keyboards type them inside
// words (the eyelash ra of कुर्‍हाडे).
func joiner(r rune) bool { return r == '\u200c' || r == '\u200d' }

var (
	centerIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	pincodePattern  = regexp.MustCompile(`^[1-9][0-9]{5}$`)
	slotPattern     = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$`)
	codePattern     = regexp.MustCompile(`^[0-9]{4}$`)
	batchPattern    = regexp.MustCompile(`^[A-Za-z0-9-]{1,20}$`)
	beneficiaryID   = regexp.MustCompile(`^[0-9]{14}$`)
	// An appointment's or a message's: a shard's three digits, then hex
	// (27 hex digits alone, an earlier layout's, is looked up and not found).
	recordID = regexp.MustCompile(`^[0-9a-f]{27,30}$`)
)

func matches(field, value string, re *regexp.Regexp, rule string) error {
	if value == "" {
		return invalid(field, "%s is required.", field)
	}
	if !re.MatchString(value) {
		return invalid(field, "%s must be %s.", field, rule)
	}
	return nil
}

// appointmentDate parses a YYYY-MM-DD date that must be today or later in loc.
func appointmentDate(raw string, today time.Time) (string, error) {
	bad := func(msg string) error { return &InvalidError{Code: "invalid_date", Field: "date", Message: msg} }
	if raw == "" {
		return "", bad("date is required (YYYY-MM-DD).")
	}
	d, err := time.ParseInLocation(time.DateOnly, raw, today.Location())
	if err != nil || d.Format(time.DateOnly) != raw {
		return "", bad("date must be a real calendar date written YYYY-MM-DD.")
	}
	if raw < today.Format(time.DateOnly) {
		return "", bad("date is in the past.")
	}
	if d.After(today.AddDate(1, 0, 0)) {
		return "", bad("date is more than a year ahead.")
	}
	return raw, nil
}

func validSlot(slot string) error {
	if err := matches("slot", slot, slotPattern, "HH:MM-HH:MM"); err != nil {
		return err
	}
	if slot[:5] >= slot[6:] {
		return invalid("slot", "slot must end after it starts.")
	}
	return nil
}
