package templates

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"sandesh/langs"
)

var wantNames = []string{
	"appointment_slip", "cancellation", "dose_confirmation", "dose_due",
	"kw_card", "kw_cert", "kw_code_limited", "kw_help", "kw_language", "kw_no_appointment", "kw_no_cert",
	"kw_not_registered", "kw_opted_in", "kw_opted_out", "kw_slip", "kw_status", "kw_unknown",
	"kyvs_checked", "kyvs_otp", "security_code",
}

var wantVars = map[string][]string{
	"appointment_slip":  {"center", "date", "slot", "code"},
	"security_code":     {"center", "date", "code"},
	"cancellation":      {"center", "date"},
	"dose_confirmation": {"name", "dose", "vaccine", "certificate_id", "status"},
	"dose_due":          {"name", "dose", "vaccine", "date"},
	"kyvs_otp":          {"verifier", "otp"},
	"kyvs_checked":      {"verifier"},
	"kw_status":         {"name", "status", "doses"},
	"kw_slip":           {"name", "center", "date", "slot"},
	"kw_no_appointment": {"name"},
	"kw_cert":           {"name", "certificate_id"},
	"kw_no_cert":        {"name"},
	"kw_code_limited":   {"name"},
	"kw_card":           {"name", "base", "token"},
}

func mustLoad(t *testing.T) *Set {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func TestLoadEmbedded(t *testing.T) {
	s := mustLoad(t)
	if got, want := s.Languages(), slices.Sorted(slices.Values(langs.Codes())); !slices.Equal(got, want) {
		t.Errorf("Languages = %v", got)
	}
	if got := s.Names(); !slices.Equal(got, wantNames) {
		t.Errorf("Names = %v, want %v", got, wantNames)
	}
	ids := map[string]string{}
	for _, name := range wantNames {
		got := s.Vars(name)
		if !slices.Equal(got, wantVars[name]) && !(len(got) == 0 && wantVars[name] == nil) {
			t.Errorf("%s uses %v, want %v", name, got, wantVars[name])
		}
		for _, lang := range []string{"en", "hi", "mr"} {
			if !s.Has(name, lang) {
				t.Errorf("%s missing in %s", name, lang)
				continue
			}
			id, text, ok := s.DLT(name, lang)
			if !ok || len(id) != 19 || text == "" {
				t.Errorf("DLT(%s, %s) = %q, %q, %v", name, lang, id, text, ok)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("DLT id %s used by %s/%s and %s", id, lang, name, other)
			}
			ids[id] = lang + "/" + name
			if strings.Contains(text, "{{") {
				t.Errorf("DLT text of %s/%s holds template syntax: %q", lang, name, text)
			}
		}
	}
	if s.Has("appointment_slip", "xx") || s.Has("nope", "en") {
		t.Error("Has reports messages that do not exist")
	}
	if _, _, ok := s.DLT("nope", "en"); ok {
		t.Error("DLT of unknown message is ok")
	}
}

// dltPattern turns a registered DLT text into the regexp a DLT scrubber
// applies: each {#var#} matches 1–30 characters, the rest is literal.
func dltPattern(text string) *regexp.Regexp {
	lits := strings.Split(text, dltVar)
	for i := range lits {
		lits[i] = regexp.QuoteMeta(lits[i])
	}
	return regexp.MustCompile(`^` + strings.Join(lits, `(.{1,30})`) + `$`)
}

// valueSets are realistic variable values; each set is rendered into every
// message in every language.
var valueSets = map[string]Vars{
	"english": {
		"center": "PHC Kothrud", "date": "12 May 2021", "slot": "09:00-11:00", "code": "4821",
		"name": "Priya Sharma", "dose": "2", "vaccine": "Covishield", "certificate_id": "42817593016",
		"verifier": "Indian Railways", "otp": "503917", "status": "fully vaccinated", "doses": "2",
		"base": "https://sms.example.org", "token": "k3xq9w2mzt7p",
	},
	"30-char centre and long names": {
		"center": "Sassoon General Hospital, Pune", "date": "28 Sep 2021", "slot": "14:00-16:00", "code": "0937",
		"name": "Venkata Subramaniam Iyer", "dose": "1", "vaccine": "COVAXIN", "certificate_id": "98123456701234",
		"verifier": "Tata Consultancy Services", "otp": "118204", "status": "partially vaccinated", "doses": "1",
		"base": "https://vaccination.example.gov", "token": "a8f3k2m9q4x7w1z5",
	},
	"Devanagari": {
		"center": "प्राथमिक स्वास्थ्य केंद्र, वर्धा", "date": "5 जून 2021", "slot": "10:00-12:00", "code": "7305",
		"name": "सुनीता रामचंद्र पाटील", "dose": "2", "vaccine": "कोविशील्ड", "certificate_id": "31596027481",
		"verifier": "भारतीय रेल", "otp": "660142", "status": "पूर्ण टीकाकरण", "doses": "3",
		"base": "http://127.0.0.1:3000", "token": "z9y8x7w6v5u4",
	},
}

func TestRenderMatchesDLT(t *testing.T) {
	s := mustLoad(t)
	for setName, vars := range valueSets {
		for _, name := range s.Names() {
			for _, lang := range s.Languages() {
				r, err := s.Render(name, lang, vars)
				if err != nil {
					t.Errorf("%s %s/%s: %v", setName, lang, name, err)
					continue
				}
				id, text, _ := s.DLT(name, lang)
				if r.Template != name || r.Language != lang || r.DLTTemplateID != id {
					t.Errorf("%s/%s: Rendered header = %q %q %q", lang, name, r.Template, r.Language, r.DLTTemplateID)
				}
				if !dltPattern(text).MatchString(r.Body) {
					t.Errorf("%s %s/%s: body does not match DLT text\nbody: %s\nDLT:  %s", setName, lang, name, r.Body, text)
				}
				if r.Count != CountText(r.Body) {
					t.Errorf("%s/%s: Count = %+v, want %+v", lang, name, r.Count, CountText(r.Body))
				}
				if lang == "en" && setName != "Devanagari" && (r.Encoding != GSM7 || r.Segments != 1) {
					t.Errorf("%s %s/%s: %+v, want one GSM-7 SMS: %s", setName, lang, name, r.Count, r.Body)
				}
				if lang != "en" && (r.Encoding != UCS2 || r.Segments > 2) {
					t.Errorf("%s %s/%s: %+v, want at most 2 UCS-2 segments: %s", setName, lang, name, r.Count, r.Body)
				}
			}
		}
	}
}

func TestRenderTruncatesTo30(t *testing.T) {
	s := mustLoad(t)
	long := map[string]string{
		"45 chars":   strings.Repeat("Y", 45),
		"Latin":      "Government Multi Speciality Hospital Sector 16", // 46 runes
		"Devanagari": "छत्रपती शिवाजी महाराज सर्वोपचार रुग्णालय, ठाणे", // > 30 runes
		"spaces":     "  Ward   12,\n\tDistrict\u00a0Hospital  Nashik Road Campus East  ",
	}
	for kind, v := range long {
		if utf8.RuneCountInString(v) <= 30 {
			t.Fatalf("%s value too short for the test", kind)
		}
		vars := Vars{}
		for _, name := range s.Names() {
			for _, vn := range s.Vars(name) {
				vars[vn] = v
			}
		}
		want := cleanValue(v)
		if n := utf8.RuneCountInString(want); n == 0 || n > MaxVarLen {
			t.Fatalf("%s: cleaned value has %d runes", kind, n)
		}
		if want != strings.TrimSpace(want) || strings.Contains(want, "  ") || strings.ContainsAny(want, "\n\t") {
			t.Errorf("%s: cleaned value %q not trimmed and collapsed", kind, want)
		}
		for _, name := range s.Names() {
			for _, lang := range s.Languages() {
				r, err := s.Render(name, lang, vars)
				if err != nil {
					t.Fatalf("%s/%s: %v", lang, name, err)
				}
				_, text, _ := s.DLT(name, lang)
				m := dltPattern(text).FindStringSubmatch(r.Body)
				if m == nil {
					t.Errorf("%s %s/%s: body does not match DLT text: %s", kind, lang, name, r.Body)
					continue
				}
				if strings.Contains(r.Body, strings.TrimSpace(v)) {
					t.Errorf("%s %s/%s: untruncated value reached the body", kind, lang, name)
				}
				for _, got := range m[1:] {
					if got != want {
						t.Errorf("%s %s/%s: inserted %q, want %q", kind, lang, name, got, want)
					}
				}
			}
		}
	}
}

func TestCleanValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  PHC Kothrud ", "PHC Kothrud"},
		{"a\n\tb\x00c", "a b c"},
		{strings.Repeat("x", 45), strings.Repeat("x", 30)},
		{strings.Repeat("क", 45), strings.Repeat("क", 30)},
		{strings.Repeat("a", 29) + " bcd", strings.Repeat("a", 29)}, // no trailing space after the cut
		{"   ", ""},
		{"प्राथमिक स्वास्थ्य केंद्र, वर्धा", "प्राथमिक स्वास्थ्य केंद्र, व"}, // not "…वर्"
		{strings.Repeat("क", 29) + "्षा", strings.Repeat("क", 28)},     // conjunct क्षा kept whole or dropped
		{strings.Repeat("क", 29) + "ि", strings.Repeat("क", 29) + "ि"}, // exactly 30 runes: kept
		{strings.Repeat("क", 30) + "ि", strings.Repeat("क", 29)},       // vowel sign not cut from its consonant
		{strings.Repeat("\u0301", 40), strings.Repeat("\u0301", 30)},   // all marks: hard cut
	} {
		if got := cleanValue(tc.in); got != tc.want {
			t.Errorf("cleanValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMasked(t *testing.T) {
	s := mustLoad(t)
	vars := Vars{}
	for k, v := range valueSets["english"] {
		vars[k] = v
	}
	vars["code"], vars["otp"], vars["token"] = "7391", "846205", "k3xq9w2mzt7p"
	secretsOf := map[string][]string{"appointment_slip": {"7391"}, "security_code": {"7391"}, "kyvs_otp": {"846205"}, "kw_card": {"k3xq9w2mzt7p"}}
	for _, name := range s.Names() {
		for _, lang := range s.Languages() {
			r, err := s.Render(name, lang, vars)
			if err != nil {
				t.Fatal(err)
			}
			secrets := secretsOf[name]
			if len(secrets) == 0 {
				if r.Masked != r.Body {
					t.Errorf("%s/%s: Masked %q differs from Body %q", lang, name, r.Masked, r.Body)
				}
				continue
			}
			want := r.Body
			for _, sec := range secrets {
				if !strings.Contains(r.Body, sec) {
					t.Errorf("%s/%s: secret missing from Body", lang, name)
				}
				if strings.Contains(r.Masked, sec) {
					t.Errorf("%s/%s: secret in Masked: %s", lang, name, r.Masked)
				}
				want = strings.ReplaceAll(want, sec, Mask)
			}
			if r.Masked != want {
				t.Errorf("%s/%s: Masked = %q, want %q", lang, name, r.Masked, want)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	s := mustLoad(t)
	full := valueSets["english"]
	for _, tc := range []struct {
		name, lang string
		vars       Vars
		want       error
		mention    string
	}{
		{"nope", "en", full, ErrUnknownTemplate, "nope"},
		{"appointment_slip", "xx", full, ErrUnknownLanguage, "xx"},
		{"appointment_slip", "", full, ErrUnknownLanguage, "appointment_slip"},
		{"appointment_slip", "en", Vars{"center": "PHC", "date": "1 Jun", "slot": "9-11"}, ErrMissingVar, `"code"`},
		{"security_code", "hi", Vars{"center": "PHC", "date": "1 Jun", "code": " \t "}, ErrMissingVar, `"code"`},
		{"kyvs_otp", "mr", nil, ErrMissingVar, `"verifier", "otp"`},
		{"kw_help", "en", nil, nil, ""},
		{"kw_help", "hi", Vars{"unused": "x"}, nil, ""},
		{"kyvs_checked", "en", Vars{"verifier": "Air India", "extra": "ignored"}, nil, ""},
	} {
		_, err := s.Render(tc.name, tc.lang, tc.vars)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Render(%q, %q) error = %v, want %v", tc.name, tc.lang, err, tc.want)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Render(%q, %q) error %q does not mention %s", tc.name, tc.lang, err, tc.mention)
		}
	}
}

func TestEnglishTexts(t *testing.T) {
	s := mustLoad(t)
	for _, tc := range []struct {
		name string
		vars Vars
		want []string
	}{
		{"kyvs_otp", Vars{"verifier": "Indian Railways", "otp": "503917"},
			[]string{"Indian Railways asks to see your vaccination status. OTP 503917, valid 3 minutes. Share it only if you agree."}},
		{"kyvs_checked", Vars{"verifier": "Indian Railways"},
			[]string{"Indian Railways checked your vaccination status."}},
		{"kw_help", nil, []string{"STATUS", "SLIP", "CODE", "CERT", "LANG HI", "LANG MR", "LANG EN", "STOP", "START"}},
		{"kw_opted_out", nil, []string{"START"}},
		{"kw_unknown", nil, []string{"HELP"}},
		{"appointment_slip", valueSets["english"], []string{"PHC Kothrud", "12 May 2021", "09:00-11:00", "4821"}},
	} {
		r, err := s.Render(tc.name, "en", tc.vars)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s: %q lacks %q", tc.name, r.Body, w)
			}
		}
	}
	// Keywords stay in Latin letters in every language: the citizen types them.
	for _, lang := range []string{"hi", "mr"} {
		r, _ := s.Render("kw_help", lang, nil)
		for _, kw := range []string{"STATUS", "SLIP", "CODE", "CERT", "LANG HI/MR/EN", "STOP", "START"} {
			if !strings.Contains(r.Body, kw) {
				t.Errorf("%s kw_help lacks %s", lang, kw)
			}
		}
	}
}

func TestWord(t *testing.T) {
	s := mustLoad(t)
	keys := []string{"not_vaccinated", "partially_vaccinated", "fully_vaccinated", "precaution_dose"}
	for _, key := range keys {
		en := s.Word("en", key)
		for _, lang := range s.Languages() {
			w := s.Word(lang, key)
			if w == "" || w == key {
				t.Errorf("Word(%s, %s) = %q", lang, key, w)
			}
			if lang != "en" && (w == en || CountText(w).Encoding != UCS2) {
				t.Errorf("Word(%s, %s) = %q, not localised", lang, key, w)
			}
			if n := utf8.RuneCountInString(w); n > MaxVarLen {
				t.Errorf("Word(%s, %s) has %d runes, too long for a DLT variable", lang, key, n)
			}
		}
		if got := s.Word("xx", key); got != en {
			t.Errorf("Word(xx, %s) = %q, want English fallback %q", key, got, en)
		}
	}
	if got := s.Word("hi", "no_such_word"); got != "no_such_word" {
		t.Errorf("Word of unknown key = %q, want the key", got)
	}
}

// goodFS is a minimal valid set; tests of the loader break one file of it.
func goodFS() fstest.MapFS {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	return fstest.MapFS{
		"messages/en/greet.txt": file("# greeting\nid: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{.name}}, code {{.code}}.\n"),
		"messages/hi/greet.txt": file("id: 1000000000000000002\ndlt: {#var#} नमस्ते, कोड {#var#}।\n---\n{{.name}} नमस्ते, कोड {{.code}}।\n"),
		"messages/en/bye.txt":   file("id: 1000000000000000003\ndlt: Bye.\n---\nBye."),
		"messages/hi/bye.txt":   file("id: 1000000000000000004\ndlt: अलविदा।\n---\nअलविदा।\n"),
		"words/en.txt":          file("yes: yes\n"),
		"words/hi.txt":          file("# hi\n\nyes: हाँ\n"),
	}
}

func TestLoadFS(t *testing.T) {
	s, err := load(goodFS())
	if err != nil {
		t.Fatalf("load(goodFS): %v", err)
	}
	r, err := s.Render("greet", "hi", Vars{"name": "सीता", "code": "1234"})
	if err != nil || r.Body != "सीता नमस्ते, कोड 1234।" || r.Masked != "सीता नमस्ते, कोड ****।" {
		t.Fatalf("Render = %+v, %v", r, err)
	}
	if got := s.Word("hi", "yes"); got != "हाँ" {
		t.Errorf("Word = %q", got)
	}

	for _, tc := range []struct {
		name    string
		path    string // file to replace; "" with data "" removes nothing
		data    string // new content; "-" deletes the file
		mention string // what the error must name
	}{
		{"no separator", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\nBye.\n", "messages/en/bye.txt"},
		{"no id", "messages/en/bye.txt", "dlt: Bye.\n---\nBye.\n", `no "id:"`},
		{"short id", "messages/en/bye.txt", "id: 12345\ndlt: Bye.\n---\nBye.\n", "19 digits"},
		{"no dlt", "messages/en/bye.txt", "id: 1000000000000000003\n---\nBye.\n", `no "dlt:"`},
		{"unknown key", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\nlang: en\n---\nBye.\n", `unknown header key "lang"`},
		{"key twice", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\ndlt: Bye.\n---\nBye.\n", "given twice"},
		{"header line without colon", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\noops\n---\nBye.\n", "line 3"},
		{"empty body", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\n---\n\n", "empty body"},
		{"two-line body", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\n---\nBye.\nAgain.\n", "one line"},
		{"fewer DLT vars", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code.\n---\nHello {{.name}}, code {{.code}}.\n", "DLT text has 1 {#var#}, body inserts 2"},
		{"more DLT vars", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye {#var#}.\n---\nBye.\n", "DLT text has 1 {#var#}, body inserts 0"},
		{"literal differs", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, your code {#var#}.\n---\nHello {{.name}}, code {{.code}}.\n", "character 16"},
		{"var in other place", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{.name}}{{.code}}, code .\n", "does not match its DLT text"},
		{"parse error", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{.name, code {{.code}}.\n", "body:"},
		{"if action", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{if .name}}{{.name}}{{end}}, code {{.code}}.\n", "only plain insertions"},
		{"pipeline", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{.name | printf \"%s\"}}, code {{.code}}.\n", "only plain insertions"},
		{"nested field", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{.name.first}}, code {{.code}}.\n", "only plain insertions"},
		{"dot", "messages/en/greet.txt", "id: 1000000000000000001\ndlt: Hello {#var#}, code {#var#}.\n---\nHello {{.}}, code {{.code}}.\n", "only plain insertions"},
		{"define", "messages/en/bye.txt", "id: 1000000000000000003\ndlt: Bye.\n---\n{{define \"x\"}}y{{end}}Bye.\n", "define"},
		{"missing translation", "messages/hi/bye.txt", "-", "messages/hi/bye.txt: missing"},
		{"different variables", "messages/hi/greet.txt", "id: 1000000000000000002\ndlt: {#var#} नमस्ते, कोड {#var#}।\n---\n{{.name}} नमस्ते, कोड {{.otp}}।\n", "messages/hi/greet.txt: variables"},
		{"duplicate DLT id", "messages/hi/bye.txt", "id: 1000000000000000001\ndlt: अलविदा।\n---\nअलविदा।\n", "already used by messages/en/greet.txt"},
		{"bad file name", "messages/en/Bye.txt", "id: 1000000000000000009\ndlt: Bye.\n---\nBye.\n", "messages/en/Bye.txt"},
		{"not .txt", "messages/en/README.md", "notes", "messages/en/README.md"},
		{"bad language dir", "messages/English/bye.txt", "id: 1000000000000000009\ndlt: Bye.\n---\nBye.\n", "messages/English"},
		{"bad words line", "words/hi.txt", "yes हाँ\n", "words/hi.txt: line 1"},
		{"word key twice", "words/en.txt", "yes: yes\nyes: yeah\n", "given twice"},
		{"word key not in en", "words/hi.txt", "yse: हाँ\n", `words/hi.txt: key "yse"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := goodFS()
			if tc.data == "-" {
				delete(fsys, tc.path)
			} else {
				fsys[tc.path] = &fstest.MapFile{Data: []byte(tc.data)}
			}
			_, err := load(fsys)
			if err == nil {
				t.Fatal("load accepted a malformed set")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
	if _, err := load(fstest.MapFS{}); err == nil {
		t.Error("load accepted an empty fs")
	}
}

func TestSetConcurrentUse(t *testing.T) {
	s := mustLoad(t)
	done := make(chan struct{})
	for i := 0; i < 8; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, name := range s.Names() {
				if _, err := s.Render(name, "hi", valueSets["Devanagari"]); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
}
