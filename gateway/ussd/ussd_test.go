package ussd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"sandesh/langs"
	"sandesh/templates"
)

// Mobiles of the fake backend.
const (
	oneMobile   = "+919876500001" // one beneficiary
	threeMobile = "+919876500003" // three beneficiaries
	longMobile  = "+919876500004" // four with 100-character names
	newMobile   = "+919876500000" // not registered
)

var errDown = errors.New("redis: connection refused")

// fakeBackend is the gateway as the menu sees it.
type fakeBackend struct {
	mu      sync.Mutex
	people  map[string][]Person
	lang    map[string]string
	resends []string // "mobile appointment-id", in order
	setLang []string // "mobile lang", in order
	failOn  string   // the method that fails with errDown
}

func (b *fakeBackend) People(_ context.Context, mobile string) ([]Person, error) {
	if b.failOn == "People" {
		return nil, errDown
	}
	return b.people[mobile], nil
}

func (b *fakeBackend) Language(_ context.Context, mobile string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failOn == "Language" {
		return "", fmt.Errorf("get language: %w", errDown)
	}
	return b.lang[mobile], nil
}

func (b *fakeBackend) SetLanguage(_ context.Context, mobile, lang string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failOn == "SetLanguage" {
		return errDown
	}
	b.lang[mobile] = lang
	if len(b.setLang) < 100 {
		b.setLang = append(b.setLang, mobile+" "+lang)
	}
	return nil
}

func (b *fakeBackend) ResendCode(_ context.Context, mobile, appointmentID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case appointmentID == "A-LIMIT":
		return ErrRateLimited
	case b.failOn == "ResendCode":
		return fmt.Errorf("resend: %w", errDown)
	}
	if len(b.resends) < 100 {
		b.resends = append(b.resends, mobile+" "+appointmentID)
	}
	return nil
}

// 100-character names and centre, Latin and Devanagari.
var (
	longLatin  = strings.Repeat("Venkata Subramaniam ", 5)[:100]
	longDeva   = string([]rune(strings.Repeat("सुनीता रामचंद्र पाटील ", 5))[:100])
	longCentre = string([]rune(strings.Repeat("प्राथमिक स्वास्थ्य केंद्र, वर्धा ", 4))[:100])
)

func newBackend() *fakeBackend {
	asha := Person{ID: "10000000000001", Name: "Asha Patil", Status: "FULLY_VACCINATED", Doses: 2,
		Appointment:   &Appointment{ID: "A-1", Center: "PHC Kothrud", Date: "24/11", Slot: "10:00-12:00"},
		CertificateID: "41203588721"}
	return &fakeBackend{
		lang: map[string]string{},
		people: map[string][]Person{
			oneMobile: {asha},
			threeMobile: {
				{ID: "10000000000031", Name: "Suresh Kumar", Status: "PARTIALLY_VACCINATED", Doses: 1,
					Appointment:   &Appointment{ID: "A-3", Center: "Sassoon Hospital", Date: "25/11", Slot: "14:00-16:00"},
					CertificateID: "31596027481"},
				{ID: "10000000000032", Name: "सुनीता पाटील", Status: "NOT_VACCINATED"},
				{ID: "10000000000033", Name: "Ravi Shinde", Status: "FULLY_VACCINATED", Doses: 2,
					Appointment:   &Appointment{ID: "A-LIMIT", Center: "UPHC Wardha", Date: "26/11", Slot: "09:00-11:00"},
					CertificateID: "77120034518"},
			},
			longMobile: {
				{ID: "10000000000041", Name: longLatin, Status: "PARTIALLY_VACCINATED", Doses: 1,
					Appointment:   &Appointment{ID: "A-41", Center: longCentre, Date: "24/11/2021", Slot: "10:00-12:00"},
					CertificateID: "98123456701234"},
				{ID: "10000000000042", Name: longDeva, Status: "FULLY_VACCINATED", Doses: 3,
					Appointment:   &Appointment{ID: "A-LIMIT", Center: longLatin, Date: "24/11/2021", Slot: "10:00-12:00"},
					CertificateID: "98123456701235"},
				{ID: "10000000000043", Name: longLatin + "😀", Status: "NOT_VACCINATED"},
				{ID: "10000000000044", Name: "  \t" + longDeva + "\n ", Status: "NOT_VACCINATED"},
			},
		},
	}
}

// loadSet loads the embedded templates once for all tests.
var loadSet = sync.OnceValues(templates.Load)

func newMenu(t testing.TB, b Backend) *Menu {
	t.Helper()
	set, err := loadSet()
	if err != nil {
		t.Fatalf("templates.Load: %v", err)
	}
	return New(b, set, []string{"en", "hi", "mr"})
}

// checkScreen fails when answer is not a CON/END answer that fits the handset.
func checkScreen(t testing.TB, what, answer string) {
	t.Helper()
	text, ok := strings.CutPrefix(answer, "CON ")
	if !ok {
		text, ok = strings.CutPrefix(answer, "END ")
	}
	if !ok {
		t.Errorf("%s: %q does not start with CON or END", what, answer)
		return
	}
	if !utf8.ValidString(answer) {
		t.Errorf("%s: invalid UTF-8: %q", what, answer)
	}
	if n := utf8.RuneCountInString(answer); n > 182 {
		t.Errorf("%s: %d characters, more than 182: %q", what, n, answer)
	}
	c := templates.CountText(text)
	if c.Encoding == templates.UCS2 && c.Units > 80 || c.Encoding == templates.GSM7 && c.Units > 182 {
		t.Errorf("%s: %s text of %d units does not fit: %q", what, c.Encoding, c.Units, text)
	}
	if strings.TrimSpace(text) == "" {
		t.Errorf("%s: empty screen %q", what, answer)
	}
}

// Menus as each language shows them.
var (
	enMain = "1 Status\n2 Appointment\n3 Resend security code\n4 Certificate\n5 Language"
	hiMain = "1 स्थिति\n2 अपॉइंटमेंट\n3 सुरक्षा कोड फिर भेजें\n4 प्रमाणपत्र\n5 भाषा"
	mrMain = "1 स्थिती\n2 भेट\n3 सुरक्षा कोड पुन्हा पाठवा\n4 प्रमाणपत्र\n5 भाषा"

	langList = "1 English\n2 हिंदी\n3 मराठी"
	enLangs  = "Choose language:\n" + langList
	hiLangs  = "भाषा चुनें:\n" + langList
	mrLangs  = "भाषा निवडा:\n" + langList

	threeList = "1 Suresh Kumar\n2 सुनीता पाटील\n3 Ravi Shinde"
	enThree   = "Choose the person:\n" + threeList
	hiThree   = "व्यक्ति चुनें:\n" + threeList
	mrThree   = "व्यक्ती निवडा:\n" + threeList

	enBad, hiBad, mrBad = "Invalid choice.\n", "गलत विकल्प।\n", "चुकीचा पर्याय.\n"
)

// TestAnswer walks every path of the menu for a mobile with one and with
// three beneficiaries, in every language.
func TestAnswer(t *testing.T) {
	type want struct{ en, hi, mr string }
	for _, tc := range []struct {
		mobile, text string
		want         want
		resend       string // appointment id the path must resend, if any
		setLang      bool   // the path saves the language it answers in
	}{
		// One beneficiary: every entry answers at once.
		{oneMobile, "", want{"CON " + enMain, "CON " + hiMain, "CON " + mrMain}, "", false},
		{oneMobile, "1", want{
			"END Asha Patil: fully vaccinated, doses taken: 2",
			"END Asha Patil: पूर्ण टीकाकरण, खुराकें: 2",
			"END Asha Patil: पूर्ण लसीकरण, घेतलेले डोस: 2"}, "", false},
		{oneMobile, "2", want{
			"END Asha Patil: appointment at PHC Kothrud on 24/11, 10:00-12:00",
			"END Asha Patil: PHC Kothrud पर 24/11, 10:00-12:00",
			"END Asha Patil: PHC Kothrud येथे 24/11, 10:00-12:00"}, "", false},
		{oneMobile, "3", want{
			"END Security code for Asha Patil sent to you by SMS.",
			"END Asha Patil का सुरक्षा कोड SMS से भेजा गया।",
			"END Asha Patil यांचा सुरक्षा कोड SMS ने पाठवला."}, "A-1", false},
		{oneMobile, "4", want{
			"END Asha Patil: certificate ID 41203588721",
			"END Asha Patil: प्रमाणपत्र आईडी 41203588721",
			"END Asha Patil: प्रमाणपत्र आयडी 41203588721"}, "", false},
		{oneMobile, "5", want{"CON " + enLangs, "CON " + hiLangs, "CON " + mrLangs}, "", false},
		{oneMobile, "5*1", want{"END Language set to English.", "END Language set to English.", "END Language set to English."}, "", true},
		{oneMobile, "5*2", want{"END भाषा हिंदी कर दी गई है।", "END भाषा हिंदी कर दी गई है।", "END भाषा हिंदी कर दी गई है।"}, "", true},
		{oneMobile, "5*3", want{"END भाषा मराठी केली आहे.", "END भाषा मराठी केली आहे.", "END भाषा मराठी केली आहे."}, "", true},
		{oneMobile, "5*0", want{"CON " + enMain, "CON " + hiMain, "CON " + mrMain}, "", false},
		// One beneficiary, invalid answers.
		{oneMobile, "9", want{"CON " + enBad + enMain, "CON " + hiBad + hiMain, "CON " + mrBad + mrMain}, "", false},
		{oneMobile, "abc", want{"CON " + enBad + enMain, "CON " + hiBad + hiMain, "CON " + mrBad + mrMain}, "", false},
		{oneMobile, "0", want{"CON " + enBad + enMain, "CON " + hiBad + hiMain, "CON " + mrBad + mrMain}, "", false},
		{oneMobile, "1*9", want{"CON " + enBad + enMain, "CON " + hiBad + hiMain, "CON " + mrBad + mrMain}, "", false},
		{oneMobile, "3*3", want{"CON " + enBad + enMain, "CON " + hiBad + hiMain, "CON " + mrBad + mrMain}, "", false}, // nothing resent
		{oneMobile, "5*9", want{"CON " + enBad + enLangs, "CON " + hiBad + hiLangs, "CON " + mrBad + mrLangs}, "", false},
		{oneMobile, "5*2*1", want{"CON " + enBad + enLangs, "CON " + hiBad + hiLangs, "CON " + mrBad + mrLangs}, "", false}, // nothing saved
		{oneMobile, "9*4", want{
			"END Asha Patil: certificate ID 41203588721",
			"END Asha Patil: प्रमाणपत्र आईडी 41203588721",
			"END Asha Patil: प्रमाणपत्र आयडी 41203588721"}, "", false},

		// Three beneficiaries: a choice of person, then the answer.
		{threeMobile, "", want{"CON " + enMain, "CON " + hiMain, "CON " + mrMain}, "", false},
		{threeMobile, "1", want{"CON " + enThree, "CON " + hiThree, "CON " + mrThree}, "", false},
		{threeMobile, "2", want{"CON " + enThree, "CON " + hiThree, "CON " + mrThree}, "", false},
		{threeMobile, "3", want{"CON " + enThree, "CON " + hiThree, "CON " + mrThree}, "", false},
		{threeMobile, "4", want{"CON " + enThree, "CON " + hiThree, "CON " + mrThree}, "", false},
		{threeMobile, "1*1", want{
			"END Suresh Kumar: partially vaccinated, doses taken: 1",
			"END Suresh Kumar: आंशिक टीकाकरण, खुराकें: 1",
			"END Suresh Kumar: अंशतः लसीकरण, घेतलेले डोस: 1"}, "", false},
		{threeMobile, "1*2", want{
			"END सुनीता पाटील: not vaccinated, doses taken: 0",
			"END सुनीता पाटील: टीका नहीं लगा, खुराकें: 0",
			"END सुनीता पाटील: लसीकरण झालेले नाही, घेतलेले डोस: 0"}, "", false},
		{threeMobile, "1*3", want{
			"END Ravi Shinde: fully vaccinated, doses taken: 2",
			"END Ravi Shinde: पूर्ण टीकाकरण, खुराकें: 2",
			"END Ravi Shinde: पूर्ण लसीकरण, घेतलेले डोस: 2"}, "", false},
		{threeMobile, "2*1", want{
			"END Suresh Kumar: appointment at Sassoon Hospital on 25/11, 14:00-16:00",
			"END Suresh Kumar: Sassoon Hospital पर 25/11, 14:00-16:00",
			"END Suresh Kumar: Sassoon Hospital येथे 25/11, 14:00-16:00"}, "", false},
		{threeMobile, "2*2", want{
			"END सुनीता पाटील has no active appointment.",
			"END सुनीता पाटील का कोई सक्रिय अपॉइंटमेंट नहीं है।",
			"END सुनीता पाटील यांची कोणतीही सक्रिय भेट नाही."}, "", false},
		{threeMobile, "2*3", want{
			"END Ravi Shinde: appointment at UPHC Wardha on 26/11, 09:00-11:00",
			"END Ravi Shinde: UPHC Wardha पर 26/11, 09:00-11:00",
			"END Ravi Shinde: UPHC Wardha येथे 26/11, 09:00-11:00"}, "", false},
		{threeMobile, "3*1", want{
			"END Security code for Suresh Kumar sent to you by SMS.",
			"END Suresh Kumar का सुरक्षा कोड SMS से भेजा गया।",
			"END Suresh Kumar यांचा सुरक्षा कोड SMS ने पाठवला."}, "A-3", false},
		{threeMobile, "3*2", want{
			"END सुनीता पाटील has no active appointment.",
			"END सुनीता पाटील का कोई सक्रिय अपॉइंटमेंट नहीं है।",
			"END सुनीता पाटील यांची कोणतीही सक्रिय भेट नाही."}, "", false},
		{threeMobile, "3*3", want{
			"END Too many requests. Please try again later.",
			"END बहुत अधिक अनुरोध। कृपया बाद में कोशिश करें।",
			"END खूप विनंत्या. कृपया नंतर पुन्हा प्रयत्न करा."}, "", false},
		{threeMobile, "4*1", want{
			"END Suresh Kumar: certificate ID 31596027481",
			"END Suresh Kumar: प्रमाणपत्र आईडी 31596027481",
			"END Suresh Kumar: प्रमाणपत्र आयडी 31596027481"}, "", false},
		{threeMobile, "4*2", want{
			"END सुनीता पाटील has no vaccination certificate yet.",
			"END सुनीता पाटील का प्रमाणपत्र अभी नहीं बना है।",
			"END सुनीता पाटील यांचे प्रमाणपत्र अद्याप तयार नाही."}, "", false},
		{threeMobile, "4*3", want{
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "5", want{"CON " + enLangs, "CON " + hiLangs, "CON " + mrLangs}, "", false},
		{threeMobile, "5*2", want{"END भाषा हिंदी कर दी गई है।", "END भाषा हिंदी कर दी गई है।", "END भाषा हिंदी कर दी गई है।"}, "", true},
		// Three beneficiaries, invalid and untidy answers.
		{threeMobile, "1*9", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "1*abc", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "1*2*3", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "3*1*1", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false}, // nothing resent
		{threeMobile, "1*0", want{"CON " + enMain, "CON " + hiMain, "CON " + mrMain}, "", false},
		{threeMobile, "1*0*9", want{"CON " + enBad + enMain, "CON " + hiBad + hiMain, "CON " + mrBad + mrMain}, "", false},
		{threeMobile, "9*1*9*3", want{
			"END Ravi Shinde: fully vaccinated, doses taken: 2",
			"END Ravi Shinde: पूर्ण टीकाकरण, खुराकें: 2",
			"END Ravi Shinde: पूर्ण लसीकरण, घेतलेले डोस: 2"}, "", false},
		{threeMobile, "4**3", want{
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, " 4 * 3 ", want{
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "4*", want{"CON " + enThree, "CON " + hiThree, "CON " + mrThree}, "", false},
		{threeMobile, "*4*3#", want{
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "384*12*4*3", want{ // the service code *384*12# repeated
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "४*३", want{ // Devanagari digits from a handset set to Hindi
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "௪*௩", want{ // Tamil digits
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "04*03", want{
			"END Ravi Shinde: certificate ID 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आईडी 77120034518",
			"END Ravi Shinde: प्रमाणपत्र आयडी 77120034518"}, "", false},
		{threeMobile, "1*4", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "1*-1", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "1*+2", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "1*2.", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},
		{threeMobile, "1*002", want{"CON " + enBad + enThree, "CON " + hiBad + hiThree, "CON " + mrBad + mrThree}, "", false},

		// Not registered: one answer whatever was typed.
		{newMobile, "", want{
			"END This mobile number is not registered for vaccination.",
			"END यह मोबाइल नंबर टीकाकरण के लिए पंजीकृत नहीं है।",
			"END हा मोबाइल क्रमांक लसीकरणासाठी नोंदणीकृत नाही."}, "", false},
		{newMobile, "1*2", want{
			"END This mobile number is not registered for vaccination.",
			"END यह मोबाइल नंबर टीकाकरण के लिए पंजीकृत नहीं है।",
			"END हा मोबाइल क्रमांक लसीकरणासाठी नोंदणीकृत नाही."}, "", false},
	} {
		for _, lang := range []string{"en", "hi", "mr"} {
			want := map[string]string{"en": tc.want.en, "hi": tc.want.hi, "mr": tc.want.mr}[lang]
			what := fmt.Sprintf("%s %s %q", lang, tc.mobile, tc.text)
			b := newBackend()
			b.lang[tc.mobile] = lang
			m := newMenu(t, b)
			got, err := m.Answer(context.Background(), Request{
				SessionID: "ATUid_1", ServiceCode: "*384*12#", Mobile: tc.mobile, NetworkCode: "40410", Text: tc.text,
			})
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			if got != want {
				t.Errorf("%s:\n got %q\nwant %q", what, got, want)
			}
			checkScreen(t, what, got)
			var wantResends []string
			if tc.resend != "" {
				wantResends = []string{tc.mobile + " " + tc.resend}
			}
			if !slices.Equal(b.resends, wantResends) {
				t.Errorf("%s: resent %v, want %v", what, b.resends, wantResends)
			}
			if tc.setLang != (len(b.setLang) == 1) {
				t.Errorf("%s: saved languages %v", what, b.setLang)
			}
		}
	}
}

// TestLanguage: a saved language is used until another is chosen; an
// unknown or unconfigured one falls back to the first configured.
func TestLanguage(t *testing.T) {
	b := newBackend()
	m := newMenu(t, b)
	ask := func(text string) string {
		t.Helper()
		got, err := m.Answer(context.Background(), Request{Mobile: oneMobile, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := ask(""); got != "CON "+enMain {
		t.Errorf("no language saved: %q, want the default (English) menu", got)
	}
	if got := ask("5*3"); got != "END भाषा मराठी केली आहे." {
		t.Errorf("5*3 = %q", got)
	}
	if b.lang[oneMobile] != "mr" || !slices.Equal(b.setLang, []string{oneMobile + " mr"}) {
		t.Errorf("saved %v, want mr for %s", b.setLang, oneMobile)
	}
	if got := ask(""); got != "CON "+mrMain {
		t.Errorf("after choosing Marathi: %q", got)
	}
	b.lang[oneMobile] = "ta"
	if got := ask(""); got != "CON "+enMain {
		t.Errorf("unknown saved language: %q, want the default menu", got)
	}

	// Configured languages: order, default and the language menu follow them.
	set, _ := templates.Load()
	m = New(b, set, []string{"mr", "en", "xx", "mr"})
	b.lang[oneMobile] = ""
	for text, want := range map[string]string{
		"":    "CON " + mrMain,
		"5":   "CON भाषा निवडा:\n1 मराठी\n2 English",
		"5*3": "CON " + mrBad + "भाषा निवडा:\n1 मराठी\n2 English",
		"5*2": "END Language set to English.",
	} {
		b.lang[oneMobile] = ""
		got, err := m.Answer(context.Background(), Request{Mobile: oneMobile, Text: text})
		if err != nil || got != want {
			t.Errorf("languages mr, en: %q = %q, %v; want %q", text, got, err, want)
		}
	}
}

// TestBackendErrors: a failing backend is an error, never a screen, and
// nothing after the failure is done.
func TestBackendErrors(t *testing.T) {
	for _, tc := range []struct{ failOn, mobile, text string }{
		{"People", oneMobile, ""},
		{"Language", threeMobile, "1*2"},
		{"SetLanguage", oneMobile, "5*2"},
		{"ResendCode", threeMobile, "3*1"},
	} {
		b := newBackend()
		b.failOn = tc.failOn
		m := newMenu(t, b)
		got, err := m.Answer(context.Background(), Request{Mobile: tc.mobile, Text: tc.text})
		if !errors.Is(err, errDown) || got != "" {
			t.Errorf("%s failing, %q = %q, %v; want an error wrapping %v", tc.failOn, tc.text, got, err, errDown)
		}
		if strings.Contains(fmt.Sprint(err), tc.mobile) {
			t.Errorf("error %q names the mobile", err)
		}
	}
}

// TestWorstCase: four beneficiaries with 100-character names (Latin,
// Devanagari, emoji) and a 100-character centre fit every screen in every
// language, with names shortened between syllables.
func TestWorstCase(t *testing.T) {
	type walk struct {
		text   string
		choice bool // a choice of person
	}
	walks := []walk{{"", false}, {"9", false}, {"5", false}, {"5*9", false}}
	for _, e := range []string{"1", "2", "3", "4"} {
		walks = append(walks, walk{e, true}, walk{e + "*9", true})
		for _, p := range []string{"1", "2", "3", "4"} {
			walks = append(walks, walk{e + "*" + p, false})
		}
	}
	for _, lang := range []string{"en", "hi", "mr"} {
		b := newBackend()
		b.lang[longMobile] = lang
		m := newMenu(t, b)
		longest := 0
		for _, w := range walks {
			what := fmt.Sprintf("%s %q", lang, w.text)
			got, err := m.Answer(context.Background(), Request{Mobile: longMobile, Text: w.text})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkScreen(t, what, got)
			checkNames(t, what, got, w.choice)
			longest = max(longest, units(got[4:]))
			if testing.Verbose() {
				t.Logf("%s:\n%s", what, got)
			}
		}
		t.Logf("%s: longest screen %d units", lang, longest)
	}
}

// checkNames fails when a screen cuts a long name inside a syllable, or
// leaves a name in a choice of person with fewer than 6 characters.
func checkNames(t *testing.T, what, answer string, choice bool) {
	t.Helper()
	for _, name := range []string{longLatin, longDeva} {
		shown := "" // the longest prefix of name on screen, from 4 characters
		for i := range name {
			if utf8.RuneCountInString(name[:i]) >= 4 && strings.Contains(answer, name[:i]) {
				shown = name[:i]
			}
		}
		if shown == "" || strings.Contains(answer, name) {
			continue
		}
		next, _ := utf8.DecodeRuneInString(name[len(shown):])
		if unicode.Is(unicode.M, next) || strings.HasSuffix(shown, "\u094D") {
			t.Errorf("%s: %q cut inside a syllable", what, shown)
		}
	}
	if choice {
		for _, line := range strings.Split(answer, "\n")[1:] {
			if n, label, ok := strings.Cut(line, " "); ok && len(n) == 1 && utf8.RuneCountInString(label) < 6 {
				t.Errorf("%s: name cut to %q", what, label)
			}
		}
	}
}

// TestScreensFit renders every screen key in every language with
// worst-case values the way the menu does, and checks the limits. A screen
// key the test does not know fails it, so a new screen gets a row.
func TestScreensFit(t *testing.T) {
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	m := New(&fakeBackend{}, set, []string{"en", "hi", "mr"})
	names := []string{longLatin, longDeva, longLatin + "😀", longDeva}
	cases := map[string][]view{ // by screen key
		"main":            {{key: "main"}, {key: "main", hint: true}},
		"choose_person":   {{key: "choose_person", list: names}, {key: "choose_person", list: names, hint: true}, {key: "choose_person", list: append(names, names...), hint: true}},
		"choose_language": {{key: "choose_language", list: []string{"English", "हिंदी", "मराठी"}, hint: true}},
		"not_registered":  {{key: "not_registered"}},
		"language_set":    {{key: "language_set"}},
		"rate_limited":    {{key: "rate_limited"}},
		// status: the longest status word of the language is put in below.
		"status": {{key: "status", free: templates.Vars{"name": longDeva}, vars: templates.Vars{"doses": "10"}},
			{key: "status", free: templates.Vars{"name": longLatin}, vars: templates.Vars{"doses": "10"}}},
		"appointment": {{key: "appointment", free: templates.Vars{"name": longDeva, "center": longCentre}, vars: templates.Vars{"date": "24 Nov 2021", "slot": "10:00-12:00"}},
			{key: "appointment", free: templates.Vars{"name": longLatin, "center": longLatin}, vars: templates.Vars{"date": "24 Nov 2021", "slot": "10:00 AM-12:00 PM"}}},
		"no_appointment": {{key: "no_appointment", free: templates.Vars{"name": longDeva}}},
		"code_sent":      {{key: "code_sent", free: templates.Vars{"name": longDeva}}},
		"certificate":    {{key: "certificate", free: templates.Vars{"name": longDeva}, vars: templates.Vars{"certificate_id": "98123456701234567890"}}},
		"no_certificate": {{key: "no_certificate", free: templates.Vars{"name": longDeva}}},
		// Parts of other screens, covered by the rows above.
		"invalid": nil, "item": nil, "language_name": nil,
		"more": nil, // TestLanguagePages
	}
	for _, key := range set.ScreenKeys() {
		if _, ok := cases[key]; !ok {
			t.Errorf("screen %q has no worst case in this test", key)
		}
	}
	longest := map[string]int{} // by language and encoding
	for key, views := range cases {
		for _, lang := range set.Languages() {
			if !set.HasScreen(key, lang) {
				t.Errorf("screen %q missing in %s", key, lang)
			}
			for _, v := range views {
				v.lang = lang
				if key == "status" {
					v.vars = templates.Vars{"doses": v.vars["doses"], "status": ""}
					for _, w := range statusWords {
						if w := set.Word(lang, w); utf8.RuneCountInString(w) > utf8.RuneCountInString(v.vars["status"]) {
							v.vars["status"] = w
						}
					}
				}
				what := fmt.Sprintf("%s %s hint=%v", lang, key, v.hint)
				got, err := m.page("CON ", v)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				checkScreen(t, what, got)
				// The fixed text alone fits with room for names: the safety
				// cut of page is never needed.
				bare, err := m.build(v, 4)
				if err != nil {
					t.Fatal(err)
				}
				if len(v.list) <= 4 && !fits(bare) {
					t.Errorf("%s: does not fit even with 4-letter names: %q", what, bare)
				}
				c := templates.CountText(got[4:])
				longest[lang+" "+c.Encoding] = max(longest[lang+" "+c.Encoding], c.Units)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(longest)) {
		t.Logf("%s: longest screen %d units", k, longest[k])
	}
}

func units(text string) int { return templates.CountText(text).Units }

func TestWalk(t *testing.T) {
	for _, tc := range []struct {
		text   string
		people int
		want   position
	}{
		{"", 1, position{at: atMain}},
		{"1", 1, position{at: atEnd, action: doStatus}},
		{"1", 3, position{at: atPerson, action: doStatus}},
		{"4*3", 3, position{at: atEnd, action: doCertificate, pick: 2}},
		{"5", 1, position{at: atLanguage, action: doLanguage}},
		{"5*3", 1, position{at: atEnd, action: doLanguage, pick: 2}},
		{"5*4", 1, position{at: atLanguage, action: doLanguage, hint: true}},
		{"6", 3, position{at: atMain, hint: true}},
		{"1*9", 1, position{at: atMain, hint: true}},
		{"1*9", 3, position{at: atPerson, action: doStatus, hint: true}},
		{"2*3*1", 3, position{at: atPerson, action: doAppointment, hint: true}},
		{"2*3*1*1", 3, position{at: atEnd, action: doAppointment, pick: 0}},
		{"5*1*1", 3, position{at: atLanguage, action: doLanguage, hint: true}},
		{"1*0", 3, position{at: atMain}},
		{"1*0*2*1", 3, position{at: atEnd, action: doAppointment, pick: 0}},
		{"1*5", 9, position{at: atEnd, action: doStatus, pick: 4}},
		{"1*10", 9, position{at: atPerson, action: doStatus, hint: true}},
	} {
		if got := walk(Answers("*384#", tc.text), tc.people, 3); got != tc.want {
			t.Errorf("walk(%q, %d people) = %+v, want %+v", tc.text, tc.people, got, tc.want)
		}
	}
}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		code, text string
		want       []string
	}{
		{"*384*12#", "", nil},
		{"*384*12#", "1", []string{"1"}},
		{"*384*12#", "1*2", []string{"1", "2"}},
		{"*384*12#", "1**2*", []string{"1", "2"}},
		{"*384*12#", " 1 *\t2 ", []string{"1", "2"}},
		{"*384*12#", "*384*12*1#", []string{"1"}},
		{"*384*12#", "384*12", nil},
		{"*384*12#", "384*1", []string{"384", "1"}}, // not the service code
		{"*384*12#", "12*384*1", []string{"12", "384", "1"}},
		{"", "1*2", []string{"1", "2"}},
		{"*#", "1", []string{"1"}},
	} {
		if got := Answers(tc.code, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Answers(%q, %q) = %q, want %q", tc.code, tc.text, got, tc.want)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int
		ok bool
	}{
		{"1", 1, true}, {"09", 9, true}, {"0", 0, true}, {"12", 12, true},
		{"३", 3, true}, {"१२", 12, true}, {"௧௨", 12, true}, {"৫", 5, true}, {"౩", 3, true}, {"１", 1, true},
		{"", 0, false}, {"123", 0, false}, {"-1", 0, false}, {"+1", 0, false},
		{"1a", 0, false}, {"१a", 0, false}, {"٣", 0, false}, {"௰", 0, false},
	} {
		if n, ok := number(tc.in); n != tc.n || ok != tc.ok {
			t.Errorf("number(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

// TestLongText: a 2,000-character text (and a 1 MB one) is answered with
// a screen that fits. How fast is BenchmarkLongText's business: a timed
// unit test fails on a loaded CI machine, not on slow code.
func TestLongText(t *testing.T) {
	b := newBackend()
	m := newMenu(t, b)
	for _, text := range []string{
		strings.Repeat("1*9*", 500) + "1*2",
		strings.Repeat("9*", 1000),
		strings.Repeat("x", 2000),
		strings.Repeat("1*0*", 250_000),
	} {
		got, err := m.Answer(context.Background(), Request{Mobile: threeMobile, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		checkScreen(t, fmt.Sprintf("%d-byte text", len(text)), got)
	}
}

func BenchmarkLongText(b *testing.B) {
	m := newMenu(b, newBackend())
	text := strings.Repeat("1*0*", 250_000)
	for b.Loop() {
		if _, err := m.Answer(context.Background(), Request{Mobile: threeMobile, Text: text}); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	for _, s := range []string{"", "1", "1*2", "5*3", "1**2", "9*abc*", "*384*12*1#", "४*३", "1*2*3*4*5", "\x00*\xff", " * "} {
		f.Add(s, uint8(3))
	}
	b := newBackend()
	m := newMenu(f, b)
	mobiles := []string{oneMobile, threeMobile, longMobile, newMobile}
	f.Fuzz(func(t *testing.T, text string, who uint8) {
		mobile := mobiles[int(who)%len(mobiles)]
		got, err := m.Answer(context.Background(), Request{ServiceCode: "*384*12#", Mobile: mobile, Text: text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		checkScreen(t, fmt.Sprintf("%s %q", mobile, text), got)
	})
}

// FuzzNames: whatever the names and centre hold, every screen fits and
// nothing panics.
func FuzzNames(f *testing.F) {
	f.Add(longLatin, longCentre, uint8(4))
	f.Add(longDeva, "", uint8(2))
	f.Add("\u094D\u094D\u094D", "\u0301\u0301", uint8(1))
	f.Add("😀"+longDeva, "{[€]}"+longLatin, uint8(3))
	f.Add("", "\x00\xff\n\t", uint8(4))
	set, err := templates.Load()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, centre string, n uint8) {
		people := make([]Person, 1+int(n)%4)
		for i := range people {
			people[i] = Person{ID: "1000000000000" + strconv.Itoa(i), Name: name, Status: "PARTIALLY_VACCINATED", Doses: 1,
				Appointment: &Appointment{ID: "A-" + strconv.Itoa(i), Center: centre, Date: "24/11", Slot: "10:00-12:00"}, CertificateID: centre}
		}
		b := &fakeBackend{people: map[string][]Person{oneMobile: people}, lang: map[string]string{}}
		m := New(b, set, []string{"en", "hi", "mr"})
		for _, lang := range []string{"en", "hi", "mr"} {
			b.lang[oneMobile] = lang
			for _, text := range []string{"", "1", "1*9", "1*1", "2*1", "3*1", "4*1", "2*9*1"} {
				got, err := m.Answer(context.Background(), Request{Mobile: oneMobile, Text: text})
				if err != nil {
					t.Fatalf("%s %q: %v", lang, text, err)
				}
				checkScreen(t, fmt.Sprintf("%s %q %q", lang, text, name), got)
			}
		}
	})
}

// TestEnds: what Ends says of a request is what Answer then answers, for
// every number of people on the mobile (more than a choice lists too).
func TestEnds(t *testing.T) {
	texts := []string{"", "1", "1*1", "1*2", "2", "2*9", "3*1", "4*4", "5", "5*2", "5*9", "9", "9*1", "0",
		"1*0", "1*0*1", "5*0", "1*1*1", "1*10", "5*2*1", "abc", "*384*12*1#", "४*१", "1*12", "4*9*3"}
	set, err := loadSet()
	if err != nil {
		t.Fatal(err)
	}
	for n := range 12 {
		people := make([]Person, n)
		for i := range people {
			people[i] = Person{ID: fmt.Sprintf("1000000000%04d", i), Name: fmt.Sprint("Person ", i+1), Status: "NOT_VACCINATED",
				Appointment: &Appointment{ID: fmt.Sprint("A-", i), Center: "PHC", Date: "24/11", Slot: "10:00-12:00"}}
		}
		b := &fakeBackend{people: map[string][]Person{oneMobile: people}, lang: map[string]string{}}
		m := New(b, set, []string{"en", "hi", "mr"})
		for _, text := range texts {
			r := Request{ServiceCode: "*384*12#", Mobile: oneMobile, Text: text}
			ends := m.Ends(r)
			got, err := m.Answer(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if want := ends[min(n, len(ends)-1)]; strings.HasPrefix(got, "END ") != want {
				t.Errorf("%d people, %q: Ends says %v, Answer %q", n, text, want, got)
			}
		}
	}
}

// TestWith: a menu over another backend answers from it and leaves the
// first menu as it was.
func TestWith(t *testing.T) {
	b := newBackend()
	m := newMenu(t, b)
	other := &fakeBackend{people: map[string][]Person{oneMobile: b.people[threeMobile]}, lang: map[string]string{}}
	ctx := context.Background()
	for _, tc := range []struct {
		menu       *Menu
		text, want string
	}{
		{m.With(other), "1*1", "Suresh Kumar"}, // three people: a choice first
		{m, "1", "Asha Patil"},
	} {
		got, err := tc.menu.Answer(ctx, Request{Mobile: oneMobile, Text: tc.text})
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("status %q, %v; want %s's", got, err, tc.want)
		}
	}
}

// TestLanguagePages: with the twelve languages configured, the choice of
// language is shown over several screens in every language, each ending
// "99 More" in it; 99 turns to the next (round again after the last); every
// language is listed once, with its whole name and its own number, which
// chooses it from any screen.
func TestLanguagePages(t *testing.T) {
	set, err := loadSet()
	if err != nil {
		t.Fatal(err)
	}
	all := langs.Codes()
	b := &fakeBackend{people: map[string][]Person{oneMobile: {{ID: "b1", Name: "Asha Patil", Status: "FULLY_VACCINATED"}}}, lang: map[string]string{}}
	m := New(b, set, all)
	ask := func(text string) string {
		t.Helper()
		got, err := m.Answer(context.Background(), Request{Mobile: oneMobile, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, lang := range all {
		b.lang[oneMobile] = lang
		more, _ := set.Screen(lang, "more", nil)
		listed := map[string]string{} // number → name
		text, pages := "5", 0
		for {
			got := ask(text)
			checkScreen(t, lang+" "+text, got)
			lines := strings.Split(got, "\n")
			if last := lines[len(lines)-1]; last != "99 "+more {
				t.Fatalf("%s %s: last line %q, want 99 %s:\n%s", lang, text, last, more, got)
			}
			if first, _, _ := strings.Cut(lines[1], " "); first == "1" && pages > 0 {
				break // round again
			}
			for _, line := range lines[1 : len(lines)-1] {
				n, name, _ := strings.Cut(line, " ")
				if _, seen := listed[n]; seen {
					t.Errorf("%s: %s listed twice", lang, n)
				}
				listed[n] = name
			}
			if pages++; pages > len(all) {
				t.Fatalf("%s: never round again", lang)
			}
			text += "*99"
		}
		if pages < 2 {
			t.Errorf("%s: the twelve languages on %d screen", lang, pages)
		}
		for i, code := range all {
			name, _ := set.Screen(code, "language_name", nil)
			if got := listed[strconv.Itoa(i+1)]; got != name {
				t.Errorf("%s: language %d listed as %q, want %q", lang, i+1, got, name)
			}
		}
		// A number chooses its language from any screen.
		if got, want := ask("5*99*11"), "END "; !strings.HasPrefix(got, want) || b.lang[oneMobile] != "pa" {
			t.Errorf("%s: 5*99*11 = %q, language %q; want Punjabi set", lang, got, b.lang[oneMobile])
		}
		b.lang[oneMobile] = lang
		if got := ask("5*0"); !strings.HasPrefix(got, "CON ") || b.lang[oneMobile] != lang {
			t.Errorf("%s: 5*0 = %q", lang, got)
		}
	}
}
