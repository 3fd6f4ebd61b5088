package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A beneficiary's doses are fields of their hash: 'doses' counts them and
// 'dose.N' holds the Nth (from 1) as storedDose writes it, split into
// parts of at most 64 bytes ('dose.N', 'dose.N.2', …) so that the hash
// keeps Redis's compact encoding (hash-max-listpack-value is 64). A list of
// JSON per beneficiary, as versions before kept them (ben:<id>:doses),
// took 360 bytes of Redis for one dose; the fields take about 90.
// `sandesh migrate` turns such lists into fields (mergeDoseLists).

// storedDose writes d as vaccine|batch|date|certificate|appointment|
// recorded ms|centre. Every field but the last is validated to hold no
// '|' (vaccines by name, batches, dates and ids by pattern); the centre
// goes last so that the dose step can append a booked dose's from its
// appointment (d.CenterID "" leaves it to the step).
func storedDose(d Dose) string {
	return strings.Join([]string{d.Vaccine, d.Batch, d.Date, d.CertificateID, d.AppointmentID,
		strconv.FormatInt(d.RecordedAt.UnixMilli(), 10), d.CenterID}, "|")
}

// parseStoredDose reads a dose as storedDose wrote it or, from the list
// of a version before the fields (for migrate), as JSON. Number is left to
// the caller.
func parseStoredDose(raw string) (Dose, error) {
	var d Dose
	if strings.HasPrefix(raw, "{") {
		err := json.Unmarshal([]byte(raw), &d)
		return d, err
	}
	f := strings.Split(raw, "|")
	if len(f) != 7 {
		return Dose{}, fmt.Errorf("stored dose has %d fields, want 7", len(f))
	}
	ms, err := strconv.ParseInt(f[5], 10, 64)
	if err != nil {
		return Dose{}, fmt.Errorf("stored dose: recorded at: %w", err)
	}
	return Dose{Vaccine: f[0], Batch: f[1], Date: f[2], CertificateID: f[3], AppointmentID: f[4],
		RecordedAt: time.UnixMilli(ms).UTC(), CenterID: f[6]}, nil
}

// doseFields are the hash fields of the nth dose (from 1) stored as raw,
// in parts of 64 bytes, as dose_add writes them.
func doseFields(n int, raw string) map[string]string {
	f := "dose." + strconv.Itoa(n)
	out := map[string]string{}
	for k := 1; (k-1)*64 < len(raw); k++ {
		name := f
		if k > 1 {
			name = f + "." + strconv.Itoa(k)
		}
		out[name] = raw[(k-1)*64 : min(k*64, len(raw))]
	}
	return out
}

// storedDoses reads a beneficiary's doses from their hash h.
func storedDoses(h map[string]string) ([]Dose, error) {
	n, ok := h["doses"]
	if !ok {
		return nil, nil
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 {
		return nil, fmt.Errorf("doses: count %q", n)
	}
	doses := make([]Dose, 0, count)
	for i := range count {
		f := "dose." + strconv.Itoa(i+1)
		raw := h[f]
		for k := 2; ; k++ {
			part, ok := h[f+"."+strconv.Itoa(k)]
			if !ok {
				break
			}
			raw += part
		}
		d, err := parseStoredDose(raw)
		if err != nil {
			return nil, fmt.Errorf("dose %d: %w", i+1, err)
		}
		d.Number = i + 1
		doses = append(doses, d)
	}
	return doses, nil
}

// dosesLua reads and appends doses in a step, as the comment above lays
// them out; ben is the beneficiary's hash.
const dosesLua = `
local function doses_count(ben)
  return tonumber(redis.call('HGET', ben, 'doses') or '0')
end
-- dose_at is the ith dose (from 1; -1 the last) as {vaccine, date}, nil
-- for none. Both lie in a stored dose's first part (vaccine, batch and
-- date take at most 45 bytes).
local function dose_at(ben, i)
  if i < 0 then i = doses_count(ben) + 1 + i end
  local raw = redis.call('HGET', ben, 'dose.' .. i)
  if not raw then return nil end
  local v, d = string.match(raw, '^([^|]*)|[^|]*|([^|]*)|')
  return {vaccine = v, date = d}
end
-- dose_add appends a dose (as storedDose writes it) and answers how many
-- there are now.
local function dose_add(ben, raw)
  local n = redis.call('HINCRBY', ben, 'doses', 1)
  local f = 'dose.' .. n
  local fields = {f, string.sub(raw, 1, 64)}
  for k = 2, math.ceil(#raw / 64) do
    fields[#fields + 1] = f .. '.' .. k
    fields[#fields + 1] = string.sub(raw, (k - 1) * 64 + 1, k * 64)
  end
  redis.call('HSET', ben, unpack(fields))
  return n
end
`
