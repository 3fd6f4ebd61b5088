package templates

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"sandesh/langs"
)

var update = flag.Bool("update", false, "rewrite the generated tables of docs/SEGMENTS.md")

// segmentsDoc is the document whose tables TestSegmentsDoc keeps true.
const segmentsDoc = "../docs/SEGMENTS.md"

// worstVars are every variable at its longest: names, centres and
// verifiers of 30 characters (what DLT lets a variable hold) in a script
// that makes any message UCS-2, the longest values of the fixed-width ones.
func worstVars(s *Set, lang string) Vars {
	long := strings.Repeat("अ", MaxVarLen)
	v := Vars{"name": long, "center": long, "verifier": long, "date": "28/02", "slot": "10:00-12:00",
		"code": "4821", "otp": "503917", "certificate_id": "1234567890123", "dose": "3", "doses": "3",
		"vaccine": "SPUTNIK_LIGHT", "base": strings.Repeat("h", MaxVarLen), "token": "0123456789abcdef0123"}
	for _, w := range []string{"not_vaccinated", "partially_vaccinated", "fully_vaccinated", "precaution_dose"} {
		if word := s.Word(lang, w); len([]rune(word)) > len([]rune(v["status"])) {
			v["status"] = word
		}
	}
	return v
}

// typicalNames are a common name in each language's script: what a
// confirmation usually costs.
var typicalNames = map[string]string{
	"en": "Priya Sharma", "hi": "प्रिया शर्मा", "mr": "प्रिया शिंदे", "bn": "প্রিয়া দাস", "ta": "பிரியா குமார்",
	"te": "ప్రియా రెడ్డి", "gu": "પ્રિયા પટેલ", "kn": "ಪ್ರಿಯಾ ರಾವ್", "ml": "പ്രിയ നായർ", "or": "ପ୍ରିୟା ଦାସ",
	"pa": "ਪ੍ਰਿਆ ਸਿੰਘ", "as": "প্ৰিয়া বৰা",
}

// TestSegmentBudgets: every message, in every language, fits its budget
// with every variable at its longest.
func TestSegmentBudgets(t *testing.T) {
	s := mustLoad(t)
	for _, name := range s.Names() {
		budget := SegmentBudget(name)
		if budget == 0 {
			t.Errorf("%s has no segment budget", name)
			continue
		}
		for _, lang := range s.Languages() {
			r, err := s.Render(name, lang, worstVars(s, lang))
			if err != nil {
				t.Fatal(err)
			}
			if r.Segments > budget {
				t.Errorf("%s/%s costs %d segments (%d %s units) at worst, over its budget of %d: %s",
					lang, name, r.Segments, r.Units, r.Encoding, budget, r.Body)
			}
		}
	}
}

// TestSegmentsDoc: the tables of docs/SEGMENTS.md are what the templates
// cost; -update writes them.
func TestSegmentsDoc(t *testing.T) {
	s := mustLoad(t)
	data, err := os.ReadFile(segmentsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, table := range []struct{ name, text string }{
		{"budgets", budgetTable(t, s)},
		{"typical", typicalTable(t, s)},
	} {
		begin, end := "<!-- "+table.name+":begin -->\n", "<!-- "+table.name+":end -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s: no %q … %q markers", segmentsDoc, begin, end)
		}
		if got := doc[i+len(begin) : j]; got != table.text {
			if !*update {
				t.Errorf("%s: the %s table is stale; run go test ./templates -run SegmentsDoc -update\nwant:\n%s", segmentsDoc, table.name, table.text)
				continue
			}
			doc = doc[:i+len(begin)] + table.text + doc[j:]
		}
	}
	if *update {
		if err := os.WriteFile(segmentsDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// orderedLangs are the set's languages in langs' order (CoWIN's).
func orderedLangs(s *Set) []string {
	var out []string
	for _, l := range langs.Codes() {
		if slices.Contains(s.Languages(), l) {
			out = append(out, l)
		}
	}
	return out
}

func budgetTable(t *testing.T, s *Set) string {
	ls := orderedLangs(s)
	var b strings.Builder
	fmt.Fprintf(&b, "| message | budget | %s |\n|---|---|%s\n", strings.Join(ls, " | "), strings.Repeat("---|", len(ls)))
	for _, name := range s.Names() {
		fmt.Fprintf(&b, "| `%s` | %d |", name, SegmentBudget(name))
		for _, lang := range ls {
			r, err := s.Render(name, lang, worstVars(s, lang))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, " %d (%d) |", r.Segments, r.Units)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func typicalTable(t *testing.T, s *Set) string {
	var b strings.Builder
	msgs := []string{"appointment_slip", "security_code", "dose_confirmation", "dose_due"}
	fmt.Fprintf(&b, "| language | %s |\n|---|%s\n", "`"+strings.Join(msgs, "` | `")+"`", strings.Repeat("---|", len(msgs)))
	for _, lang := range orderedLangs(s) {
		l, _ := langs.Lookup(lang)
		v := Vars{"name": typicalNames[lang], "center": "PHC Kothrud", "date": "14/02", "slot": "09:00-11:00", "code": "4821",
			"dose": "2", "vaccine": "COVISHIELD", "certificate_id": "4281759301612", "status": s.Word(lang, "fully_vaccinated")}
		fmt.Fprintf(&b, "| %s (`%s`) |", l.Native, lang)
		for _, name := range msgs {
			r, err := s.Render(name, lang, v)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, " %d × %s (%d) |", r.Segments, r.Encoding, r.Units)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
