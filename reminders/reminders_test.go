package reminders

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when refused
	}{
		{"09:00-21:00", "09:00-21:00"},
		{"00:00-23:59", "00:00-23:59"},
		{"21:00-09:00", ""}, // overnight
		{"09:00-09:00", ""},
		{"9:00-21:00", ""},
		{"09:00 21:00", ""},
		{"24:00-25:00", ""},
		{"", ""},
	} {
		w, err := ParseWindow(tc.in)
		if got := w.String(); (err == nil) != (tc.want != "") || (err == nil && got != tc.want) {
			t.Errorf("ParseWindow(%q) = %s, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if c, err := ParseClock("10:05"); err != nil || c != 605 {
		t.Errorf("ParseClock(10:05) = %d, %v", c, err)
	}
	for _, bad := range []string{"10:5", "1005", "25:00", "10:60", "ten"} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) accepted", bad)
		}
	}
}

func TestWindow(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	w, _ := ParseWindow("09:00-21:00")
	at := func(h, m int) time.Time { return time.Date(2027, 2, 14, h, m, 0, 0, ist) }
	for _, tc := range []struct {
		t    time.Time
		open bool
		next time.Time
	}{
		{at(8, 59), false, at(9, 0)},
		{at(9, 0), true, at(9, 0)},
		{at(20, 59), true, at(20, 59)},
		{at(21, 0), false, time.Date(2027, 2, 15, 9, 0, 0, 0, ist)},
		{at(23, 30), false, time.Date(2027, 2, 15, 9, 0, 0, 0, ist)},
		// In UTC the same instant is judged in the programme's time.
		{time.Date(2027, 2, 14, 3, 0, 0, 0, time.UTC).In(ist), false, at(9, 0)},
	} {
		if got := w.Open(tc.t); got != tc.open {
			t.Errorf("Open(%s) = %v", tc.t, got)
		}
		if got := w.Next(tc.t); !got.Equal(tc.next) {
			t.Errorf("Next(%s) = %s, want %s", tc.t, got, tc.next)
		}
	}
}
