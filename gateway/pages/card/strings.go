package card

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The localised card text lives in strings/<lang>.txt, one "key = value" per
// line, so translators never have to touch Go code.
//
//go:embed strings/*.txt
var stringFS embed.FS

// languages are the card languages; the first is the fallback.
var languages = []string{"en", "hi", "mr"}

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

// lastDoseLine formats d as "01 Oct 2026" with a localised month name.
func (t *texts) lastDoseLine(d time.Time) string {
	date := fmt.Sprintf("%02d %s %d", d.Day(), t.months[d.Month()-1], d.Year())
	return strings.ReplaceAll(t.lastDose, "{date}", date)
}
