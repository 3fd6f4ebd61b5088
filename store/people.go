package store

import (
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
// beneficiary on it (their doses in their hash, or in the list of an
// earlier version: dosefields.go), the appointment
// their record names and that appointment's centre. Those keys are named
// from ids read in the same step, so the script is given what stands
// before and after an id in each (peopleKeyParts, at ARGV[at] on) instead
// of a second round trip to learn them; such a step needs its keys on one
// node. kbens is the mobile's beneficiaries (a sorted set).
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
      local legacy = redis.call('LRANGE', ARGV[at + 2] .. id .. ARGV[at + 3], 0, -1)
      local appt, center = {}, {}
      local active = field(ben, 'active_appt')
      if active ~= '' then appt = redis.call('HGETALL', ARGV[at + 4] .. active .. ARGV[at + 5]) end
      local c = field(appt, 'center')
      if c ~= '' then center = redis.call('HGETALL', ARGV[at + 6] .. c .. ARGV[at + 7]) end
      people[#people + 1] = {ben, legacy, appt, center}
    end
  end
  return people
end
`

// peopleKeyParts are the eight arguments read_people names keys with.
func (s *Store) peopleKeyParts() []any {
	return keyParts(s.beneficiaryKey, s.dosesKey, s.appointmentKey, s.centerKey)
}

// peopleViews reads read_people's answer.
func peopleViews(answer any) ([]PersonView, error) {
	flats, _ := answer.([]any)
	var out []PersonView
	for _, flat := range flats {
		p, err := personView(flat)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// beneficiaryWithDoses is a beneficiary as a script reads it back: the
// record's fields (with the doses kept there) and the entries of their
// list of an earlier version (a script's array of strings).
func beneficiaryWithDoses(h map[string]string, legacy any) (Beneficiary, error) {
	b := beneficiaryFromHash(h)
	entries, _ := legacy.([]any)
	raws := make([]string, len(entries))
	for i, e := range entries {
		raws[i], _ = e.(string)
	}
	doses, err := storedDoses(h, raws)
	if err != nil {
		return Beneficiary{}, fmt.Errorf("beneficiary %s: %w", b.ID, err)
	}
	b.Doses = doses
	return b, nil
}

// personView reads one beneficiary of ussdStepScript's answer.
func personView(flat any) (PersonView, error) {
	parts, _ := flat.([]any)
	if len(parts) != 4 {
		return PersonView{}, fmt.Errorf("unexpected beneficiary of %d parts", len(parts))
	}
	b, err := beneficiaryWithDoses(pairs(parts[0]), parts[1])
	if err != nil {
		return PersonView{}, err
	}
	p := PersonView{Beneficiary: b}
	// An id Appointment would refuse is no appointment, as there.
	a := pairs(parts[2])
	if len(a) == 0 || !validID(p.ActiveAppointment) {
		return p, nil
	}
	p.Appointment = &Appointment{ID: a["id"], BeneficiaryID: a["ben"], CenterID: a["center"],
		Date: a["date"], Slot: a["slot"], Status: AppointmentStatus(a["status"])}
	if c := pairs(parts[3]); len(c) > 0 {
		p.Center = &Center{ID: c["id"], Name: c["name"], District: c["district"], State: c["state"],
			Pincode: c["pincode"], CreatedAt: msTime(c["created_at"])}
	}
	return p, nil
}
