package webpage

import (
	"strings"
	"testing"
)

func TestParseWords(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
		want              Words
	}{
		{"comments and blanks", "# c\n\nkey: text: with colon\n", "", Words{"key": "text: with colon"}},
		{"spaces trimmed", "  k :  v  \n", "", Words{"k": "v"}},
		{"no colon", "key text\n", "x.txt:1", nil},
		{"no text", "a: b\nkey:\n", "x.txt:2: key has no text", nil},
		{"key with space", "a key: text\n", "x.txt:1", nil},
		{"twice", "k: a\nk: b\n", "k twice", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWords("x.txt", []byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v, %v; want %v", got, err, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestSameShape(t *testing.T) {
	ref := Words{"a": "x {n}", "b": "y"}
	for _, tc := range []struct {
		name    string
		w       Words
		wantErr string
	}{
		{"same", Words{"a": "X {n}", "b": "Y"}, ""},
		{"missing key", Words{"a": "X {n}"}, "has no b"},
		{"extra key", Words{"a": "X {n}", "b": "Y", "c": "Z"}, "c is not in en.txt"},
		{"placeholder lost", Words{"a": "X", "b": "Y"}, "a has []"},
		{"placeholder renamed", Words{"a": "X {m}", "b": "Y"}, "a has [{m}]"},
	} {
		err := SameShape("xx", tc.w, ref)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestTextFillsOnce(t *testing.T) {
	w := Words{"checking": "Checking: {name}, {mobile}"}
	if got := w.Text("checking", "name", "{mobile}", "mobile", "98"); got != "Checking: {mobile}, 98" {
		t.Errorf("got %q", got)
	}
	if got := w.Text("nope"); got != "nope" {
		t.Errorf("missing key gave %q", got)
	}
}
