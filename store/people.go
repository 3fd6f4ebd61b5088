package store

import (
	"context"
	"errors"
	"fmt"
)

// PersonView is a beneficiary with their doses and, when their record
// names one, their latest booking and its centre as stored: whether the
// booking is still active (its date, its status) is the caller's rule.
type PersonView struct {
	Beneficiary
	// Appointment is the one ActiveAppointment names, nil when none or
	// gone, with what a menu shows and a resend needs: id, beneficiary,
	// centre, date, slot, status.
	Appointment *Appointment
	Center      *Center // the appointment's; nil when none or gone
}

// readPeopleLua reads back, in a step that answers a mobile, each
// beneficiary on it (their doses in their hash: dosefields.go) and the
// appointment their record names.
// Those keys are named from ids read in the same step, so the script is
// given what stands before and after an id in each (peopleKeyParts, at
// ARGV[at] on) instead of a second round trip to learn them; they are all
// of the mobile's shard. The appointment's centre is on another slot: it
// is read after the step, from this process's cache of centres
// (KnownCenter). kbens is the mobile's beneficiaries (a sorted set).
const readPeopleLua = `
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return ''
end
local function read_people(kbens, at)
  local people = {}
  for _, id in ipairs(redis.call('ZRANGE', kbens, 0, -1)) do
    local ben = redis.call('HGETALL', ARGV[at] .. id .. ARGV[at + 1])
    if #ben > 0 then
      local appt = {}
      local active = field(ben, 'active_appt')
      if active ~= '' then appt = redis.call('HGETALL', ARGV[at + 2] .. active .. ARGV[at + 3]) end
      people[#people + 1] = {ben, appt}
    end
  end
  return people
end
`

// peopleKeyParts are the four arguments read_people names the keys of
// shard's ids with.
func (s *Store) peopleKeyParts(shard string) []any {
	return keyParts(shard, s.beneficiaryKey, s.appointmentKey)
}

// peopleViews reads read_people's answer, with each appointment's centre.
func (s *Store) peopleViews(ctx context.Context, answer any) ([]PersonView, error) {
	flats, _ := answer.([]any)
	var out []PersonView
	for _, flat := range flats {
		p, err := personView(flat)
		if err != nil {
			return nil, err
		}
		if p.Appointment != nil && p.Appointment.CenterID != "" {
			c, err := s.KnownCenter(ctx, p.Appointment.CenterID)
			switch {
			case err == nil:
				p.Center = &c
			case !errors.Is(err, ErrNotFound):
				return nil, err
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// beneficiaryWithDoses is a beneficiary as a script reads it back: the
// record's fields, with the doses kept there.
func beneficiaryWithDoses(h map[string]string) (Beneficiary, error) {
	b := beneficiaryFromHash(h)
	doses, err := storedDoses(h)
	if err != nil {
		return Beneficiary{}, fmt.Errorf("beneficiary %s: %w", b.ID, err)
	}
	b.Doses = doses
	return b, nil
}

// personView reads one beneficiary of ussdStepScript's answer.
func personView(flat any) (PersonView, error) {
	parts, _ := flat.([]any)
	if len(parts) != 2 {
		return PersonView{}, fmt.Errorf("unexpected beneficiary of %d parts", len(parts))
	}
	b, err := beneficiaryWithDoses(pairs(parts[0]))
	if err != nil {
		return PersonView{}, err
	}
	p := PersonView{Beneficiary: b}
	// An id Appointment would refuse is no appointment, as there.
	a := pairs(parts[1])
	if len(a) == 0 || !validID(p.ActiveAppointment) {
		return p, nil
	}
	p.Appointment = &Appointment{ID: a["id"], BeneficiaryID: a["ben"], CenterID: a["center"],
		Date: a["date"], Slot: a["slot"], Status: AppointmentStatus(a["status"])}
	return p, nil
}
