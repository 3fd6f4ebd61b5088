package templates

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var wantScreens = map[string][]string{ // key → variables
	"main":            nil,
	"invalid":         {"menu"},
	"choose_person":   {"list"},
	"choose_language": {"list"},
	"item":            {"n", "label"},
	"language_name":   nil,
	"language_set":    nil,
	"not_registered":  nil,
	"status":          {"name", "status", "doses"},
	"appointment":     {"name", "center", "date", "slot"},
	"no_appointment":  {"name"},
	"code_sent":       {"name"},
	"rate_limited":    nil,
	"certificate":     {"name", "certificate_id"},
	"no_certificate":  {"name"},
	"more":            nil,
}

func TestScreensEmbedded(t *testing.T) {
	s := mustLoad(t)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range wantScreens {
			if !yield(k) {
				return
			}
		}
	})
	if got := s.ScreenKeys(); !slices.Equal(got, keys) {
		t.Errorf("ScreenKeys = %v, want %v", got, keys)
	}
	for key, vars := range wantScreens {
		if got := s.ScreenVars(key); !slices.Equal(got, vars) {
			t.Errorf("ScreenVars(%s) = %v, want %v", key, got, vars)
		}
		for _, lang := range s.Languages() {
			if !s.HasScreen(key, lang) {
				t.Errorf("screen %s missing in %s", key, lang)
				continue
			}
			v := Vars{}
			for _, name := range vars {
				v[name] = ""
			}
			text, err := s.Screen(lang, key, v)
			if err != nil {
				t.Errorf("Screen(%s, %s): %v", lang, key, err)
				continue
			}
			if strings.Contains(text, "{{") || strings.Contains(text, "}}") || strings.Contains(text, "[") {
				t.Errorf("%s/%s holds markup: %q", lang, key, text)
			}
			// Hindi and Marathi screens are in Devanagari, except the item
			// line ("1 Asha") that is all number and value.
			if lang != "en" && key != "item" && CountText(text).Encoding != UCS2 {
				t.Errorf("%s/%s is not localised: %q", lang, key, text)
			}
			if lang == "en" && key != "language_name" && CountText(text).Encoding != GSM7 {
				t.Errorf("en/%s is not GSM-7: %q", key, text)
			}
		}
	}
	// The main menu has the same five numbered entries in every language:
	// the numbers are what a caller types.
	for _, lang := range s.Languages() {
		text, _ := s.Screen(lang, "main", nil)
		lines := strings.Split(text, "\n")
		if len(lines) != 5 {
			t.Errorf("%s main has %d lines, want 5: %q", lang, len(lines), text)
			continue
		}
		for i, line := range lines {
			if !strings.HasPrefix(line, string(rune('1'+i))+" ") {
				t.Errorf("%s main line %d = %q, want it numbered %d", lang, i+1, line, i+1)
			}
		}
	}
	for lang, want := range map[string]string{"en": "English", "hi": "हिंदी", "mr": "मराठी"} {
		if got, _ := s.Screen(lang, "language_name", nil); got != want {
			t.Errorf("%s language_name = %q, want %q", lang, got, want)
		}
	}
}

func TestScreen(t *testing.T) {
	s := mustLoad(t)
	for _, tc := range []struct {
		lang, key string
		vars      Vars
		want      string
		err       error
		mention   string
	}{
		{"en", "item", Vars{"n": "2", "label": "Asha Patil"}, "2 Asha Patil", nil, ""},
		{"hi", "status", Vars{"name": "Asha", "status": "पूर्ण टीकाकरण", "doses": "2", "extra": "x"}, "Asha: पूर्ण टीकाकरण, खुराकें: 2", nil, ""},
		// Values go in as given: no cleaning, no cut (the menu fits them).
		{"en", "invalid", Vars{"menu": "1 A\n2 B"}, "Invalid choice.\n1 A\n2 B", nil, ""},
		{"en", "no_certificate", Vars{"name": strings.Repeat("x", 40)}, strings.Repeat("x", 40) + " has no vaccination certificate yet.", nil, ""},
		{"en", "no_certificate", Vars{"name": ""}, " has no vaccination certificate yet.", nil, ""},
		{"en", "nope", nil, "", ErrUnknownTemplate, `"nope"`},
		{"xx", "main", nil, "", ErrUnknownLanguage, `"xx"`},
		{"en", "appointment", Vars{"name": "A", "date": "1/1"}, "", ErrMissingVar, `"center", "slot"`},
	} {
		got, err := s.Screen(tc.lang, tc.key, tc.vars)
		if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("Screen(%s, %s) error = %v, want %v", tc.lang, tc.key, err, tc.err)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Screen(%s, %s) error %q does not mention %s", tc.lang, tc.key, err, tc.mention)
		}
		if got != tc.want {
			t.Errorf("Screen(%s, %s) = %q, want %q", tc.lang, tc.key, got, tc.want)
		}
	}
}

// screensFS is goodFS with screen files.
func screensFS() fstest.MapFS {
	fsys := goodFS()
	fsys["ussd/en.txt"] = &fstest.MapFile{Data: []byte("# English\n\n[main]\n1 Status\n  2 Language  \n\n\n[status]\n\n{{.name}}: {{.status}}\n")}
	fsys["ussd/hi.txt"] = &fstest.MapFile{Data: []byte("[main]\n1 स्थिति\n# a comment\n2 भाषा\n[status]\n{{.status}} — {{.name}}")}
	return fsys
}

func TestLoadScreensFS(t *testing.T) {
	s, err := load(screensFS())
	if err != nil {
		t.Fatalf("load(screensFS): %v", err)
	}
	for _, tc := range []struct{ lang, key, want string }{
		{"en", "main", "1 Status\n2 Language"},
		{"hi", "main", "1 स्थिति\n2 भाषा"},
		{"en", "status", "Asha: done"},
		{"hi", "status", "done — Asha"},
	} {
		if got, err := s.Screen(tc.lang, tc.key, Vars{"name": "Asha", "status": "done"}); got != tc.want || err != nil {
			t.Errorf("Screen(%s, %s) = %q, %v; want %q", tc.lang, tc.key, got, err, tc.want)
		}
	}
	if got := s.ScreenKeys(); !slices.Equal(got, []string{"main", "status"}) {
		t.Errorf("ScreenKeys = %v", got)
	}
	if got := s.ScreenVars("status"); !slices.Equal(got, []string{"name", "status"}) {
		t.Errorf("ScreenVars = %v", got)
	}

	// A set without screens loads; it has none.
	s, err = load(goodFS())
	if err != nil || s.ScreenKeys() != nil || s.HasScreen("main", "en") {
		t.Errorf("set without ussd/: %v, keys %v", err, s.ScreenKeys())
	}

	for _, tc := range []struct {
		name, path, data, mention string // data "-" deletes the file
	}{
		{"missing language", "ussd/hi.txt", "-", "ussd/hi.txt: missing"},
		{"language without messages", "ussd/mr.txt", "[main]\nx\n[status]\n{{.name}}{{.status}}\n", "ussd/mr.txt: no messages/mr"},
		{"bad file name", "ussd/EN.txt", "[main]\nx\n", "ussd/EN.txt"},
		{"not .txt", "ussd/README.md", "notes", "ussd/README.md"},
		{"missing screen", "ussd/hi.txt", "[main]\n1 स्थिति\n", "ussd/hi.txt: screen [status] missing"},
		{"extra screen", "ussd/hi.txt", "[main]\nx\n[status]\n{{.name}}{{.status}}\n[extra]\ny\n", "ussd/hi.txt: screen [extra] is not in ussd/en.txt"},
		{"different variables", "ussd/hi.txt", "[main]\nx\n[status]\n{{.name}}\n", "ussd/hi.txt: screen [status] uses variables [name]"},
		{"text before key", "ussd/hi.txt", "hello\n[main]\nx\n", "ussd/hi.txt: line 1: text before"},
		{"bad key", "ussd/hi.txt", "[Main]\nx\n", "line 1: want a screen key"},
		{"unclosed key", "ussd/hi.txt", "[main\nx\n", "line 1: want a screen key"},
		{"key twice", "ussd/hi.txt", "[main]\nx\n[status]\n{{.name}}{{.status}}\n[main]\ny\n", "line 5: screen [main] given twice"},
		{"empty screen", "ussd/hi.txt", "[main]\n\n# nothing\n[status]\n{{.name}}{{.status}}\n", "line 1: screen [main] is empty"},
		{"empty file", "ussd/hi.txt", "# nothing\n", "ussd/hi.txt: no screens"},
		{"parse error", "ussd/hi.txt", "[main]\nx\n[status]\n{{.name}{{.status}}\n", "screen [status]"},
		{"if action", "ussd/hi.txt", "[main]\nx\n[status]\n{{if .name}}{{.name}}{{end}}{{.status}}\n", "only plain insertions"},
		{"pipeline", "ussd/hi.txt", "[main]\nx\n[status]\n{{.name | printf \"%s\"}}{{.status}}\n", "only plain insertions"},
		{"define", "ussd/hi.txt", "[main]\nx\n[status]\n{{define \"x\"}}y{{end}}{{.name}}{{.status}}\n", "define"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := screensFS()
			if tc.data == "-" {
				delete(fsys, tc.path)
			} else {
				fsys[tc.path] = &fstest.MapFile{Data: []byte(tc.data)}
			}
			_, err := load(fsys)
			if err == nil {
				t.Fatal("load accepted malformed screens")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Asha Patil", 10, "Asha Patil"},
		{"Asha Patil", 20, "Asha Patil"},
		{"Asha Patil", 6, "Asha P"},
		{"Asha Patil", 5, "Asha"}, // no trailing space
		{"Asha Patil", 0, ""},
		{"Asha Patil", -1, ""},
		{"", 3, ""},
		{"वर्धा", 3, "व"}, // not "वर्"
		{"वर्धा", 4, "व"}, // nor "वर्ध" without its vowel sign
		{"सुनीता पाटील", 4, "सुनी"},
		{"सुनीता पाटील", 5, "सुनी"}, // "सुनीत" would strip ा from त
		{"सुनीता पाटील", 6, "सुनीता"},
		{"क्षमा", 2, ""}, // the first syllable क्ष is 3 runes: nothing fits
		{"क्षमा", 3, "क्ष"},
		{"नमस्ते", 4, "नम"}, // स्ते is one syllable
		{"a\u0301b", 1, ""}, // a with a combining accent is one cluster
		{"a\u0301b", 2, "a\u0301"},
		{"😀😀", 1, "😀"},
	} {
		if got := Shorten(tc.in, tc.n); got != tc.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
