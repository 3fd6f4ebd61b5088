// Package reminders holds the rules of due-dose reminders that more than
// one process needs: the hours of the day they may be sent in and the time
// the day's run starts, both in the programme's local time.
package reminders

import (
	"fmt"
	"time"
)

// Clock is a time of day, minutes after midnight.
type Clock int

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (Clock, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day like 09:30", s)
	}
	return Clock(t.Hour()*60 + t.Minute()), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// On is c on the day of t, in t's location.
func (c Clock) On(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, int(c)/60, int(c)%60, 0, 0, t.Location())
}

// Window is the hours of the day reminders may be sent in: from Start
// up to, not including, End, on the same day.
type Window struct{ Start, End Clock }

// ParseWindow reads "HH:MM-HH:MM", the start before the end.
func ParseWindow(s string) (Window, error) {
	if len(s) != 11 || s[5] != '-' {
		return Window{}, fmt.Errorf("%q is not hours like 09:00-21:00", s)
	}
	start, err := ParseClock(s[:5])
	if err != nil {
		return Window{}, err
	}
	end, err := ParseClock(s[6:])
	if err != nil {
		return Window{}, err
	}
	if start >= end {
		return Window{}, fmt.Errorf("%q: the hours must start before they end, on one day", s)
	}
	return Window{start, end}, nil
}

func (w Window) String() string { return w.Start.String() + "-" + w.End.String() }

// Open reports whether t, in its location, is inside the window.
func (w Window) Open(t time.Time) bool {
	return !t.Before(w.Start.On(t)) && t.Before(w.End.On(t))
}

// Next is when the window next opens after t: t itself when it is open.
func (w Window) Next(t time.Time) time.Time {
	if w.Open(t) {
		return t
	}
	start := w.Start.On(t)
	if t.Before(start) {
		return start
	}
	return w.Start.On(t.AddDate(0, 0, 1))
}
