package store

import (
	"errors"
	"fmt"
	"strings"

	"sandesh/vaccines"
)

// ErrDosedToday refuses a second dose for a beneficiary on one day.
var ErrDosedToday = errors.New("a dose is already recorded today")

// TooEarlyError refuses a dose or a booking before the next dose opens.
type TooEarlyError struct{ OpensOn string }

func (e *TooEarlyError) Error() string { return "the next dose opens on " + e.OpensOn }

// scheduleLua is the schedule's rule for a dose or a booking on a date:
// given the doses list and the table scheduleTable wrote for that date,
// nil when the next dose is open, else {'too_early', the vaccine the
// course started with, doses given, the last one's date}. Dates are
// compared as YYYY-MM-DD strings; the step needs no calendar of its own.
// A last dose dated on or after the date refuses too (the dose step
// answers 'dosed_today' before asking).
const scheduleLua = `
local function next_dose_closed(doses, tbl)
  local given = redis.call('LLEN', doses)
  if given == 0 then return nil end
  local last = cjson.decode(redis.call('LINDEX', doses, -1))
  local first = last
  if given > 1 then first = cjson.decode(redis.call('LINDEX', doses, 0)) end
  local course, latest = string.match(tbl, ';' .. first.vaccine .. '=(%d+):([%d-]+);')
  if not course or given >= tonumber(course) then latest = string.match(tbl, ';%*=([%d-]+);') end
  if last.date > latest then return {'too_early', first.vaccine, given, last.date} end
  return nil
end
local function dosed_on(doses, on)
  local last = redis.call('LINDEX', doses, -1)
  return last and cjson.decode(last).date >= on
end
`

// scheduleTable writes, for a dose or a booking on date on, each
// vaccine's course length and the latest date its last dose may have been
// for the next one to be open — ";COVISHIELD=2:2026-09-10;…;*=2026-06-04;",
// the last for a precaution dose — as scheduleLua reads it.
func scheduleTable(on string) (string, error) {
	var b strings.Builder
	b.WriteByte(';')
	for _, v := range vaccines.Names() {
		latest, err := vaccines.LatestLastDose(on, vaccines.Gap(v, 0))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s=%d:%s;", v, vaccines.Course(v), latest)
	}
	latest, err := vaccines.LatestLastDose(on, vaccines.PrecautionGap)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "*=%s;", latest)
	return b.String(), nil
}

// scheduleRefusal reads a step's answer from scheduleLua or its dose
// step's 'dosed_today'; ok is false for any other answer.
func scheduleRefusal(res []any) (err error, ok bool) {
	if len(res) == 0 {
		return nil, false
	}
	switch res[0] {
	case "dosed_today":
		return ErrDosedToday, true
	case "too_early":
		if len(res) < 4 {
			return fmt.Errorf("too early: short answer %v", res), true
		}
		vaccine, _ := res[1].(string)
		given, _ := res[2].(int64)
		last, _ := res[3].(string)
		opens, err := vaccines.OpensOn(vaccine, int(given), last)
		if err != nil {
			return fmt.Errorf("too early: %w", err), true
		}
		return &TooEarlyError{OpensOn: opens}, true
	}
	return nil, false
}
