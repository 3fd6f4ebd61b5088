package vaccines

import "testing"

func TestOpensOn(t *testing.T) {
	for _, tc := range []struct {
		vaccine string
		given   int
		last    string
		want    string
	}{
		{"COVISHIELD", 1, "2026-01-01", "2026-03-26"}, // 84 days
		{"COVAXIN", 1, "2026-01-01", "2026-01-29"},    // 28
		{"SPUTNIK_V", 1, "2026-01-01", "2026-01-22"},  // 21
		{"CORBEVAX", 1, "2026-02-01", "2026-03-01"},   // 28, across February
		{"ZYCOV_D", 1, "2026-01-01", "2026-01-29"},
		{"ZYCOV_D", 2, "2026-01-29", "2026-02-26"},
		{"ZYCOV_D", 3, "2026-01-01", "2026-07-02"},       // complete: the precaution's 182
		{"COVISHIELD", 2, "2026-01-01", "2026-07-02"},    // complete
		{"COVISHIELD", 5, "2026-01-01", "2026-07-02"},    // a later precaution dose
		{"SPUTNIK_LIGHT", 1, "2026-01-01", "2026-07-02"}, // one dose is the course
		{"UNKNOWN", 1, "2026-01-01", "2026-07-02"},       // no course known: counted complete
		{"COVAXIN", 1, "2024-02-28", "2024-03-27"},       // a leap year
	} {
		got, err := OpensOn(tc.vaccine, tc.given, tc.last)
		if err != nil || got != tc.want {
			t.Errorf("OpensOn(%s, %d, %s) = %q, %v; want %q", tc.vaccine, tc.given, tc.last, got, err, tc.want)
		}
		latest, err := LatestLastDose(tc.want, Gap(tc.vaccine, tc.given))
		if err != nil || latest != tc.last {
			t.Errorf("LatestLastDose(%s) for %s after %d = %q, %v; want %q", tc.want, tc.vaccine, tc.given, latest, err, tc.last)
		}
	}
	if _, err := OpensOn("COVAXIN", 1, "01/02/2026"); err == nil {
		t.Error("a date not in YYYY-MM-DD was read")
	}
}

func TestCourse(t *testing.T) {
	want := map[string]int{"COVISHIELD": 2, "COVAXIN": 2, "SPUTNIK_V": 2, "CORBEVAX": 2, "ZYCOV_D": 3, "SPUTNIK_LIGHT": 1}
	for _, v := range Names() {
		if !Known(v) || Course(v) != want[v] {
			t.Errorf("%s: known %v, course %d; want %d", v, Known(v), Course(v), want[v])
		}
		delete(want, v)
	}
	if len(want) != 0 {
		t.Errorf("Names() leaves out %v", want)
	}
	if Known("covishield") || Course("BCG") != 0 {
		t.Error("a name outside the table is known")
	}
}
