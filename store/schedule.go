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
// given the beneficiary's doses (dosesLua: fields of their hash) and the
// table scheduleTable wrote for that date,
// nil when the next dose is open, else {'too_early', the vaccine the
// course started with, doses given, the last one's date}. Dates are
// compared as YYYY-MM-DD strings; the step needs no calendar of its own.
// A script includes dosesLua before it.
// A last dose dated on or after the date refuses too (the dose step
// answers 'dosed_today' before asking).
const scheduleLua = `
local function next_dose_closed(ben, tbl)
  local given = doses_count(ben)
  if given == 0 then return nil end
  local last = dose_at(ben, -1)
  local first = last
  if given > 1 then first = dose_at(ben, 1) end
  local course, latest = string.match(tbl, ';' .. first.vaccine .. '=(%d+):([%d-]+)[>;]')
  if not course or given >= tonumber(course) then latest = string.match(tbl, ';%*=([%d-]+)[>;]') end
  if last.date > latest then return {'too_early', first.vaccine, given, last.date} end
  return nil
end
local function dosed_on(ben, on)
  local last = dose_at(ben, -1)
  return last and last.date >= on
end
`

// scheduleTable writes, for a dose or a booking on date on, each
// vaccine's course length, the latest date its last dose may have been for
// the next one to be open, and when the next one opens after a dose on
// that date — ";COVISHIELD=2:2026-09-10>2027-02-14;…;*=2026-06-04>2027-06-01;",
// the last for a precaution dose, whose opening is left out when its
// reminders are off — as scheduleLua and indexDueLua read it.
func scheduleTable(on string, precaution bool) (string, error) {
	var b strings.Builder
	b.WriteByte(';')
	for _, v := range vaccines.Names() {
		latest, err := vaccines.LatestLastDose(on, vaccines.Gap(v, 0))
		if err != nil {
			return "", err
		}
		next, err := vaccines.After(on, vaccines.Gap(v, 0))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s=%d:%s>%s;", v, vaccines.Course(v), latest, next)
	}
	latest, err := vaccines.LatestLastDose(on, vaccines.PrecautionGap)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "*=%s", latest)
	if precaution {
		next, err := vaccines.After(on, vaccines.PrecautionGap)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, ">%s", next)
	}
	b.WriteByte(';')
	return b.String(), nil
}

// indexDueLua keeps the due index (API.md "Due-dose reminders") in the
// dose step: unless the course is complete (or, with precaution reminders,
// the precaution dose taken), the beneficiary joins the list of the day
// their next dose opens, read from the dose date's scheduleTable. The
// beneficiary's 'due' field names that day; the entry in the list of the
// day it named before stays, and the run of that day passes over it (its
// 'due' differs). A beneficiary already listed on the day is not listed
// twice, so indexing again changes nothing. The day's key is built here,
// the one key the step does not declare. A script includes dosesLua
// before it.
const indexDueLua = `
local function index_due(ben, prefix, id, tbl)
  local old = redis.call('HGET', ben, 'due')
  local given = doses_count(ben)
  local first = dose_at(ben, 1)
  local course, due = string.match(tbl, ';' .. first.vaccine .. '=(%d+):[%d-]+>([%d-]+);')
  if course and given >= tonumber(course) then
    due = nil
    if given == tonumber(course) then due = string.match(tbl, ';%*=[%d-]+>([%d-]+);') end
  end
  if due then
    if due ~= old then redis.call('RPUSH', prefix .. due, id) end
    redis.call('HSET', ben, 'due', due)
  else
    redis.call('HDEL', ben, 'due')
  end
end
`

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
