// Package vaccines holds the programme's schedule: which vaccines it
// gives, how many doses complete each one's course, and how long after a
// dose the next one opens. Bookings, doses and due-dose reminders all read
// this one table.
package vaccines

import (
	"fmt"
	"time"
)

// PrecautionGap is how long after the last dose of a complete course a
// precaution dose opens (and after one precaution dose, the next).
const PrecautionGap = 182 * day

const day = 24 * time.Hour

// schedule is one vaccine's course: doses in it and the gap between them.
type schedule struct {
	doses int
	gap   time.Duration
}

// lookup is the contract's table (API.md, "Due-dose reminders"). A switch,
// not a package map, so nothing can change it at run time.
func lookup(vaccine string) (schedule, bool) {
	switch vaccine {
	case "COVISHIELD":
		return schedule{2, 84 * day}, true
	case "COVAXIN":
		return schedule{2, 28 * day}, true
	case "SPUTNIK_V":
		return schedule{2, 21 * day}, true
	case "CORBEVAX":
		return schedule{2, 28 * day}, true
	case "ZYCOV_D":
		return schedule{3, 28 * day}, true
	case "SPUTNIK_LIGHT":
		return schedule{1, 0}, true
	}
	return schedule{}, false
}

// Names lists the vaccines, in the order error messages give them.
func Names() []string {
	return []string{"COVISHIELD", "COVAXIN", "SPUTNIK_V", "CORBEVAX", "ZYCOV_D", "SPUTNIK_LIGHT"}
}

// Known reports whether the programme gives vaccine.
func Known(vaccine string) bool {
	_, ok := lookup(vaccine)
	return ok
}

// Course is how many doses of vaccine make a person fully vaccinated
// (0 for a vaccine the programme does not give). Doses after that are
// precaution doses.
func Course(vaccine string) int {
	s, _ := lookup(vaccine)
	return s.doses
}

// Gap is how long after the last of given doses the next one opens, for a
// course started with vaccine: the vaccine's interval within the course,
// PrecautionGap once it is complete.
func Gap(vaccine string, given int) time.Duration {
	s, _ := lookup(vaccine)
	if given >= s.doses {
		return PrecautionGap
	}
	return s.gap
}

// OpensOn is the date (YYYY-MM-DD) the next dose opens for a person whose
// course started with vaccine, who has had given doses, the last on last.
func OpensOn(vaccine string, given int, last string) (string, error) {
	d, err := time.Parse(time.DateOnly, last)
	if err != nil {
		return "", fmt.Errorf("next dose of %s: last dose date: %w", vaccine, err)
	}
	return d.Add(Gap(vaccine, given)).Format(time.DateOnly), nil
}

// LatestLastDose is, for a dose (or a booking) on date on, the latest day
// the last dose may have been given for a next dose gap later to be open.
// It is what a step in Redis compares a stored date with, as strings,
// without date arithmetic of its own.
func LatestLastDose(on string, gap time.Duration) (string, error) {
	d, err := time.Parse(time.DateOnly, on)
	if err != nil {
		return "", fmt.Errorf("next dose: date: %w", err)
	}
	return d.Add(-gap).Format(time.DateOnly), nil
}

// After is the date (YYYY-MM-DD) gap after on.
func After(on string, gap time.Duration) (string, error) {
	d, err := time.Parse(time.DateOnly, on)
	if err != nil {
		return "", fmt.Errorf("date: %w", err)
	}
	return d.Add(gap).Format(time.DateOnly), nil
}
