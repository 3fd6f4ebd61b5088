package card

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"sandesh/langs"
)

// The localised card text lives in strings/<lang>.txt, one "key = value" per
// line, so translators never have to touch Go code.
//
//go:embed strings/*.txt
var stringFS embed.FS

// languages are the card languages: each of langs.Codes() that has a
// strings file, in that order. The first, English, is the fallback.
var languages = func() []string {
	var out []string
	for _, code := range langs.Codes() {
		if _, err := fs.Stat(stringFS, "strings/"+code+".txt"); err == nil {
			out = append(out, code)
		}
	}
	return out
}()

// requiredKeys must be present in every strings file.
var requiredKeys = []string{
	"title", "status.fully", "status.partially", "status.not",
	"doses", "last_dose", "footer", "months",
}

// texts is one language's strings, ready to use.
type texts struct {
	title, doses, lastDose, footer string
	status                         map[string]string // keyed by Card.Status
	months                         [12]string
}

func loadTexts(lang string) (*texts, error) {
	data, err := stringFS.ReadFile("strings/" + lang + ".txt")
	if err != nil {
		return nil, err
	}
	kv, err := parseStrings(data)
	if err != nil {
		return nil, fmt.Errorf("strings/%s.txt: %w", lang, err)
	}
	for _, k := range requiredKeys {
		if kv[k] == "" {
			return nil, fmt.Errorf("strings/%s.txt: missing %q", lang, k)
		}
	}
	months := strings.Fields(kv["months"])
	if len(months) != 12 {
		return nil, fmt.Errorf("strings/%s.txt: months has %d names, want 12", lang, len(months))
	}
	t := &texts{
		title:    kv["title"],
		doses:    kv["doses"],
		lastDose: kv["last_dose"],
		footer:   kv["footer"],
		status: map[string]string{
			StatusFully:     kv["status.fully"],
			StatusPartially: kv["status.partially"],
			StatusNot:       kv["status.not"],
		},
	}
	copy(t.months[:], months)
	return t, nil
}

func parseStrings(data []byte) (map[string]string, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value", n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, dup := kv[k]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", n, k)
		}
		kv[k] = v
	}
	return kv, sc.Err()
}

func (t *texts) dosesLine(n int) string {
	return strings.ReplaceAll(t.doses, "{n}", strconv.Itoa(n))
}

// date formats d as "01 Oct 2026" with a localised month name.
func (t *texts) date(d time.Time) string {
	return fmt.Sprintf("%02d %s %d", d.Day(), t.months[d.Month()-1], d.Year())
}

func (t *texts) lastDoseLine(d time.Time) string {
	return strings.ReplaceAll(t.lastDose, "{date}", t.date(d))
}

// Language is the card language of lang — "hi" for "hi", " HI" or
// "hi-IN" — or English when the card does not speak it.
func Language(lang string) string { return normLang(lang) }

// Status is how a card in lang words status ("Fully vaccinated"), so that
// a page about the same record says what the card says; "" for a status
// that is not one of the card's.
func (r *Renderer) Status(lang, status string) string {
	return r.texts[normLang(lang)].status[status]
}

// Date is d as a card in lang writes it ("01 Oct 2026").
func (r *Renderer) Date(lang string, d time.Time) string {
	return r.texts[normLang(lang)].date(d)
}
