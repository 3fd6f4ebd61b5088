// Package ussd is the USSD menu of Sandesh: status, appointment, resend of
// the security code, certificate and language, for citizens on feature
// phones. It answers one Africa's Talking request at a time and keeps no
// session: where the caller is in the menu follows from the request's text
// alone (every answer so far, joined by "*"), so a lost or expired session
// never breaks a menu. Its texts are the USSD screens of the templates
// package (templates/ussd/<lang>.txt).
//
// The menu:
//
//	""       main menu: 1 Status, 2 Appointment, 3 Resend security code, 4 Certificate, 5 Language
//	"1"      the status (END) with one beneficiary on the mobile, else a choice of person (CON)
//	"1*2"    the status of the second person (END); likewise 2, 3 and 4
//	"5"      a choice of the configured languages, each in its own script (CON)
//	"5*2"    the second language is saved for the mobile; confirmed in it (END)
//
// An invalid answer ("9", "abc", or anything after an END) re-shows the menu
// it was given to, with a short hint line first; the answers after it are
// read against that menu, so "9*1" is the status. "0" in a choice of person
// or language goes back to the main menu. Empty answers ("1**2", a trailing
// "*") are skipped and spaces around an answer are ignored.
//
// Every answer fits the handset: at most 182 characters with its "CON " or
// "END " prefix, and at most 80 UTF-16 units after the prefix when the text
// needs UCS-2 (Devanagari, or any character outside GSM-7). Names and
// centres are user data: they are shortened until the screen fits, never
// inside a written syllable.
package ussd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sandesh/langs"
	"sandesh/templates"
)

// Person is one beneficiary registered on the calling mobile.
type Person struct {
	ID            string
	Name          string
	Status        string // NOT_VACCINATED | PARTIALLY_VACCINATED | FULLY_VACCINATED
	Doses         int
	Appointment   *Appointment // the active booking, nil when none
	CertificateID string       // of the latest dose, "" when none
}

// Appointment is a person's active booking. Date is already formatted for
// display, e.g. "24/11".
type Appointment struct{ ID, Center, Date, Slot string }

// Backend is what the menu needs from the gateway.
type Backend interface {
	// People returns the beneficiaries registered on mobile, none when it is
	// not registered.
	People(ctx context.Context, mobile string) ([]Person, error)
	// Language returns the language saved for mobile, "" when the mobile
	// never chose one.
	Language(ctx context.Context, mobile string) (string, error)
	// SetLanguage saves lang as the language of mobile.
	SetLanguage(ctx context.Context, mobile, lang string) error
	// ResendCode sends the appointment's security code to mobile by SMS
	// (never shown on screen). ErrRateLimited when too many resends.
	ResendCode(ctx context.Context, mobile, appointmentID string) error
}

// ErrRateLimited is returned by Backend.ResendCode when the mobile asked
// for too many resends; the menu then says to try later.
var ErrRateLimited = errors.New("too many resends")

// Request is one USSD request in the Africa's Talking form. Mobile is
// already E.164; Text is every answer of the session so far, joined by "*".
type Request struct{ SessionID, ServiceCode, Mobile, NetworkCode, Text string }

// Menu answers USSD requests. It is safe for concurrent use.
type Menu struct {
	b     Backend
	set   *templates.Set
	langs []string          // configured languages that have screens; first is the default
	pages map[string][]view // the choice of language's screens, by the caller's language
}

// Limits of a screen. The whole answer, prefix included, is at most 182
// characters (the USSD limit of the API); a UCS-2 text is at most 80 UTF-16
// units after the prefix, what a handset shows of a Devanagari screen.
const (
	maxGSM7 = 182 - len("CON ") // GSM-7 septets (so characters) after the prefix
	maxUCS2 = 80                // UTF-16 units after the prefix
)

// maxPeople is the most people a choice lists: one digit each. The
// programme allows 4 per mobile.
const maxPeople = 9

// Menu entries, as numbered on the main menu.
const (
	doStatus = iota + 1
	doAppointment
	doResend
	doCertificate
	doLanguage
)

// morePage is the answer that turns to the next screen of a choice too
// long for one (twelve languages, each named in its own script).
const morePage = 99

// statusWords maps a Person.Status to its key in the words files.
var statusWords = map[string]string{
	"NOT_VACCINATED":       "not_vaccinated",
	"PARTIALLY_VACCINATED": "partially_vaccinated",
	"FULLY_VACCINATED":     "fully_vaccinated",
}

// New returns the menu over b with the screens of set. languages are the
// configured languages, first is the default; languages without USSD screens
// in set are left out.
func New(b Backend, set *templates.Set, languages []string) *Menu {
	m := &Menu{b: b, set: set}
	for _, l := range languages {
		if set.HasScreen("main", l) && !slices.Contains(m.langs, l) {
			m.langs = append(m.langs, l)
		}
	}
	if len(m.langs) == 0 {
		m.langs = []string{"en"} // Answer reports the missing screens
	}
	// The choice of language is the same screens for every caller of a
	// language: laid out once, not at each request.
	m.pages = map[string][]view{}
	for _, l := range m.langs {
		if pages, err := m.languagePages(l); err == nil {
			m.pages[l] = pages
		}
	}
	return m
}

// With returns the menu with m's screens and languages over b, for a
// backend that holds what one request read (see Ends).
func (m *Menu) With(b Backend) *Menu {
	c := *m
	c.b = b
	return &c
}

// Ends reports whether the answer to r closes the session (END) for each
// number of people the mobile may have: Ends(r)[n] with n people, the last
// entry for more. The walk through the menu depends on nothing else, so a
// backend that reads the mobile in the same step as it records the
// request can record then whether the session ended, before the answer
// exists. (A Backend error leaves no answer at all.)
func (m *Menu) Ends(r Request) []bool {
	answers := Answers(r.ServiceCode, r.Text)
	ends := make([]bool, maxPeople+1)
	ends[0] = true // not registered
	for n := 1; n <= maxPeople; n++ {
		ends[n] = walk(answers, n, len(m.langs)).at == atEnd
	}
	return ends
}

// Answer returns the full response body to r: "CON " and a menu when the
// session goes on, "END " and a text when it is over. A Backend error is
// returned as error (the handler answers 503 or a generic END); so is a
// screen missing from the templates.
func (m *Menu) Answer(ctx context.Context, r Request) (string, error) {
	people, err := m.b.People(ctx, r.Mobile)
	if err != nil {
		return "", fmt.Errorf("ussd: people: %w", err)
	}
	lang, err := m.b.Language(ctx, r.Mobile)
	if err != nil {
		return "", fmt.Errorf("ussd: language: %w", err)
	}
	if !slices.Contains(m.langs, lang) {
		lang = m.langs[0]
	}
	if len(people) == 0 {
		return m.end(view{lang: lang, key: "not_registered"})
	}
	if len(people) > maxPeople {
		people = people[:maxPeople]
	}

	p := walk(Answers(r.ServiceCode, r.Text), len(people), len(m.langs))
	switch p.at {
	case atMain:
		return m.con(view{lang: lang, key: "main", hint: p.hint})
	case atPerson:
		labels := make([]string, len(people))
		for i, person := range people {
			labels[i] = label(person)
		}
		return m.con(view{lang: lang, key: "choose_person", list: labels, hint: p.hint})
	case atLanguage:
		pages := m.pages[lang]
		if pages == nil { // screens New could not build: say what is missing
			if pages, err = m.languagePages(lang); err != nil {
				return "", fmt.Errorf("ussd: %w", err)
			}
		}
		v := pages[p.page%len(pages)]
		v.hint = p.hint
		return m.con(v)
	}
	if p.action == doLanguage {
		chosen := m.langs[p.pick]
		if err := m.b.SetLanguage(ctx, r.Mobile, chosen); err != nil {
			return "", fmt.Errorf("ussd: set language: %w", err)
		}
		return m.end(view{lang: chosen, key: "language_set"})
	}
	return m.result(ctx, lang, r.Mobile, p.action, people[p.pick])
}

// result is the END answer of action for person.
func (m *Menu) result(ctx context.Context, lang, mobile string, action int, person Person) (string, error) {
	v := view{lang: lang, free: templates.Vars{"name": label(person)}}
	a := person.Appointment
	switch {
	case action == doStatus:
		status := fixed(person.Status)
		if key, ok := statusWords[person.Status]; ok {
			status = m.set.Word(lang, key)
		}
		v.key, v.vars = "status", templates.Vars{"status": status, "doses": strconv.Itoa(person.Doses)}
	case (action == doAppointment || action == doResend) && a == nil:
		v.key = "no_appointment"
	case action == doAppointment:
		v.key, v.vars = "appointment", templates.Vars{"date": fixed(a.Date), "slot": fixed(a.Slot)}
		v.free["center"] = clean(a.Center)
	case action == doResend:
		err := m.b.ResendCode(ctx, mobile, a.ID)
		switch {
		case errors.Is(err, ErrRateLimited):
			v.key, v.free = "rate_limited", nil
		case err != nil:
			return "", fmt.Errorf("ussd: resend code: %w", err)
		default:
			v.key = "code_sent"
		}
	case person.CertificateID == "":
		v.key = "no_certificate"
	default:
		v.key, v.vars = "certificate", templates.Vars{"certificate_id": fixed(person.CertificateID)}
	}
	return m.end(v)
}

// level is where a caller is in the menu.
type level int

const (
	atMain     level = iota
	atPerson         // choosing a person for action
	atLanguage       // choosing a language
	atEnd            // action done for pick: an END answer
)

// position is where a sequence of answers leads.
type position struct {
	at     level
	action int  // doStatus … doLanguage, below the main menu
	pick   int  // index of the person or language chosen, at atEnd
	hint   bool // the last answer was invalid: the menu is shown again
	page   int  // screens turned on in the choice of language (morePage)
}

// walk replays answers from the main menu with people persons on the mobile
// and langs languages. Each answer costs O(1), so a long text is cheap.
func walk(answers []string, people, langs int) position {
	var p position
	for _, a := range answers {
		p = step(p, a, people, langs)
	}
	return p
}

// step moves p by one answer. An invalid answer keeps the menu and sets the
// hint; an answer after an END goes back to the menu the END came from.
func step(p position, answer string, people, langs int) position {
	n, ok := number(answer)
	switch p.at {
	case atMain:
		switch {
		case ok && n >= doStatus && n <= doCertificate && people == 1:
			return position{at: atEnd, action: n}
		case ok && n >= doStatus && n <= doCertificate:
			return position{at: atPerson, action: n}
		case ok && n == doLanguage:
			return position{at: atLanguage, action: n}
		}
	case atPerson, atLanguage:
		limit := people
		if p.at == atLanguage {
			limit = langs
		}
		switch {
		case ok && n == 0:
			return position{at: atMain}
		case ok && n >= 1 && n <= limit:
			return position{at: atEnd, action: p.action, pick: n - 1}
		case ok && n == morePage && p.at == atLanguage:
			return position{at: atLanguage, action: p.action, page: p.page + 1}
		}
	case atEnd:
		switch {
		case p.action == doLanguage:
			p = position{at: atLanguage, action: p.action, page: p.page}
		case people > 1:
			p = position{at: atPerson, action: p.action}
		default:
			p = position{at: atMain}
		}
	}
	p.hint = true
	return p
}

// Answers splits text into the caller's answers, each trimmed, empty ones
// left out. Some operators repeat the service code's pieces ("384*12*1" for
// "*384*12#" and the answer "1"): they are dropped.
func Answers(serviceCode, text string) []string {
	split := func(s string) []string {
		s = strings.TrimSpace(s)
		s = strings.TrimSuffix(s, "#")
		var out []string
		for a := range strings.SplitSeq(s, "*") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	as := split(text)
	if code := split(serviceCode); len(code) > 0 && len(as) >= len(code) && slices.Equal(as[:len(code)], code) {
		as = as[len(code):]
	}
	return as
}

// number reads an answer of one or two digits, in any script citizens
// type digits in (a handset set to Hindi may send "२", one set to Tamil
// "௨").
func number(answer string) (int, bool) {
	if answer == "" || utf8.RuneCountInString(answer) > 2 {
		return 0, false
	}
	n := 0
	for _, r := range answer {
		d, ok := langs.Digit(r)
		if !ok {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// view is one screen to render: key with vars, user data in free and list
// shortened until it fits.
type view struct {
	lang, key string
	vars      templates.Vars // fixed values, inserted as they are
	free      templates.Vars // user data (name, center), shortened to fit
	list      []string       // labels of a choice, each an [item] in vars["list"], shortened to fit
	first     int            // the number of list[0] less one: a later screen of a long choice
	more      bool           // a last item [more], answered morePage
	hint      bool           // wrap in [invalid]: the previous answer was not a choice
}

// languagePages are the screens of the choice of language in lang, shown
// in turn (round again after the last). The languages keep their numbers
// on every screen; when they do not all fit one with their names whole,
// each screen holds as many as fit beside a last item "99 More".
func (m *Menu) languagePages(lang string) ([]view, error) {
	names := make([]string, len(m.langs))
	for i, l := range m.langs {
		var err error
		if names[i], err = m.set.Screen(l, "language_name", nil); err != nil {
			return nil, err
		}
	}
	all := view{lang: lang, key: "choose_language", list: names}
	if ok, err := m.fitsWhole(all); ok || err != nil {
		return []view{all}, err
	}
	var pages []view
	for start := 0; start < len(names); {
		end := start + 1 // one a screen at least, shortened if it must be
		for end < len(names) {
			ok, err := m.fitsWhole(view{lang: lang, key: all.key, list: names[start : end+1], first: start, more: true})
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			end++
		}
		pages = append(pages, view{lang: lang, key: all.key, list: names[start:end], first: start, more: true})
		start = end
	}
	return pages, nil
}

// fitsWhole reports whether v fits a handset with no value shortened.
func (m *Menu) fitsWhole(v view) (bool, error) {
	longest := 0
	for _, s := range v.list {
		longest = max(longest, utf8.RuneCountInString(s))
	}
	text, err := m.build(v, longest)
	return err == nil && fits(text), err
}

func (m *Menu) con(v view) (string, error) { return m.page("CON ", v) }
func (m *Menu) end(v view) (string, error) { return m.page("END ", v) }

// page renders v with the longest user data that fits the handset, and
// prefixes it.
func (m *Menu) page(prefix string, v view) (string, error) {
	longest := 0
	for _, s := range v.free {
		longest = max(longest, utf8.RuneCountInString(s))
	}
	for _, s := range v.list {
		longest = max(longest, utf8.RuneCountInString(s))
	}
	text, err := m.build(v, longest)
	if err != nil {
		return "", fmt.Errorf("ussd: %w", err)
	}
	if !fits(text) {
		// The largest cut of every value that fits, by bisection; the
		// fixed text alone always fits (tested for every screen).
		best := ""
		lo, hi := 0, longest-1
		for lo <= hi {
			mid := (lo + hi) / 2
			t, err := m.build(v, mid)
			if err != nil {
				return "", fmt.Errorf("ussd: %w", err)
			}
			if fits(t) {
				best, lo = t, mid+1
			} else {
				hi = mid - 1
			}
		}
		if best == "" {
			best = cut(text) // only when fixed values are absurdly long
		}
		text = best
	}
	return prefix + text, nil
}

// build renders v with every user value cut to at most n runes.
func (m *Menu) build(v view, n int) (string, error) {
	vars := maps.Clone(v.vars)
	if vars == nil {
		vars = templates.Vars{}
	}
	for k, s := range v.free {
		vars[k] = shorten(s, n)
	}
	if v.list != nil {
		items := make([]string, len(v.list))
		for i, s := range v.list {
			item, err := m.set.Screen(v.lang, "item", templates.Vars{"n": strconv.Itoa(v.first + i + 1), "label": shorten(s, n)})
			if err != nil {
				return "", err
			}
			items[i] = item
		}
		if v.more {
			more, err := m.set.Screen(v.lang, "more", nil)
			if err != nil {
				return "", err
			}
			item, err := m.set.Screen(v.lang, "item", templates.Vars{"n": strconv.Itoa(morePage), "label": more})
			if err != nil {
				return "", err
			}
			items = append(items, item)
		}
		vars["list"] = strings.Join(items, "\n")
	}
	text, err := m.set.Screen(v.lang, v.key, vars)
	if err != nil || !v.hint {
		return text, err
	}
	return m.set.Screen(v.lang, "invalid", templates.Vars{"menu": text})
}

// shorten cuts user data s to at most n runes between two syllables
// (templates.Shorten), and drops the spaces and punctuation the cut leaves
// at the end ("Kothrud," → "Kothrud").
func shorten(s string, n int) string {
	t := templates.Shorten(s, n)
	for t != s {
		trimmed := strings.TrimRightFunc(t, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
		if trimmed == t {
			break
		}
		// Cut again at the new length, in case the trim bared a virama.
		t = templates.Shorten(s, utf8.RuneCountInString(trimmed))
	}
	return t
}

// fits reports whether text, after its CON/END prefix, fits a handset.
func fits(text string) bool {
	c := templates.CountText(text)
	if c.Encoding == templates.UCS2 {
		return c.Units <= maxUCS2
	}
	return c.Units <= maxGSM7
}

// cut is the longest prefix of text that fits, never cut inside a syllable.
func cut(text string) string {
	for n := min(utf8.RuneCountInString(text), maxGSM7); n > 0; n-- {
		if t := templates.Shorten(text, n); fits(t) {
			return t
		}
	}
	return ""
}

// label is how person is named on screen: the name, else the id.
func label(p Person) string {
	if name := clean(p.Name); name != "" {
		return name
	}
	return clean(p.ID)
}

// clean turns control characters and runs of white space in user data into
// one space and trims it. Longer than a screen, it could never be shown
// whole: it is cut to that.
func clean(s string) string {
	if s = strings.TrimSpace(s); len(s) > 4*maxGSM7 {
		s = s[:4*maxGSM7] // may split a rune: dropped below
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	return templates.Shorten(s, maxGSM7)
}

// fixed cleans a value shown whole (date, slot, certificate id): the
// screen is fitted by shortening names and centres, so a fixed value is
// kept to the 30 characters of a message variable.
func fixed(s string) string {
	return templates.Shorten(clean(s), templates.MaxVarLen)
}
