package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Registry errors. Flows translate them into the programme's words.
var (
	ErrExists        = errors.New("already exists")
	ErrMobileLimit   = errors.New("mobile has the most beneficiaries allowed")
	ErrAlreadyBooked = errors.New("beneficiary has an active appointment")
)

// Center is a vaccination centre.
type Center struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	District  string    `json:"district"`
	State     string    `json:"state"`
	Pincode   string    `json:"pincode"`
	CreatedAt time.Time `json:"created_at"`
}

// createCenterScript stores a centre unless its id is taken. With an
// idempotency key (KEYS[2]) the answers are kept in the same step
// (keptAnswersLua): a repeat gets the first answer back, and a taken id's
// refusal is kept too. KEYS: centre, [idempotency]. ARGV: 1–6 the key's
// fingerprint (empty without one), TTL and answers, then the field pairs.
// 1: stored, 0: id taken.
var createCenterScript = redis.NewScript(keptAnswersLua + `
local seen = answered(KEYS[2], 1)
if seen then return seen end
if redis.call('EXISTS', KEYS[1]) == 1 then
  keep(KEYS[2], 1, false)
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
keep(KEYS[2], 1, true)
return 1
`)

// CreateCenterOnce is CreateCenter that, with idem, keeps the answers kept
// renders (to the centre stored, and to ErrExists) in the same step; a
// repeat gets an *AnsweredError with the first and changes nothing.
func (s *Store) CreateCenterOnce(ctx context.Context, c Center, idem *IdempotencyKey, kept Kept[Center]) (Center, error) {
	c.CreatedAt = s.now().UTC()
	keys, args, err := keptFor(s, centersTag, c, idem, kept)
	if err != nil {
		return Center{}, fmt.Errorf("create centre %s: %w", c.ID, err)
	}
	args = append(args, "id", c.ID, "name", c.Name, "district", c.District, "state", c.State,
		"pincode", c.Pincode, "created_at", c.CreatedAt.UnixMilli())
	res, err := s.ackedPath(ctx, createCenterScript, append([]string{s.centerKey(c.ID)}, keys...), args...).Result()
	if err != nil {
		return Center{}, fmt.Errorf("create centre %s: %w", c.ID, err)
	}
	if err := stepResult(res, ErrExists); err != nil {
		return Center{}, err
	}
	return c, nil
}

// Center loads one centre.
func (s *Store) Center(ctx context.Context, id string) (Center, error) {
	h, err := s.rdb.HGetAll(ctx, s.centerKey(id)).Result()
	if err != nil {
		return Center{}, fmt.Errorf("load centre %s: %w", id, err)
	}
	if len(h) == 0 {
		return Center{}, ErrNotFound
	}
	return Center{
		ID: h["id"], Name: h["name"], District: h["district"], State: h["state"],
		Pincode: h["pincode"], CreatedAt: msTime(h["created_at"]),
	}, nil
}

// Beneficiary is a registered citizen with the doses recorded for them.
type Beneficiary struct {
	ID        string
	Name      string
	Mobile    string // E.164
	BirthYear int
	Gender    string
	Language  string
	CreatedAt time.Time
	// ActiveAppointment is the latest booking; it may be past its date.
	ActiveAppointment string
	ActiveDate        string
	Doses             []Dose
	// NextDue is the day the next dose opens, as the due index holds it
	// (YYYY-MM-DD); "" when no reminder is due (course complete, no dose).
	NextDue string
	// RemindedDose is the dose the last due-dose reminder was for (0: none
	// yet), RemindedOn the date of the run that queued it.
	RemindedDose int
	RemindedOn   string
}

// Dose is one vaccination given.
type Dose struct {
	Number        int       `json:"dose"`
	Vaccine       string    `json:"vaccine"`
	Batch         string    `json:"batch"`
	Date          string    `json:"date"` // programme time zone, YYYY-MM-DD
	CenterID      string    `json:"center_id"`
	CertificateID string    `json:"certificate_id"`
	AppointmentID string    `json:"appointment_id,omitempty"`
	RecordedAt    time.Time `json:"recorded_at"`
}

// createBeneficiaryScript keeps at most ARGV[1] beneficiaries on one
// mobile; the count and the insert are one step so parallel registrations
// cannot overshoot. With an idempotency key (KEYS[3]) its answers are kept
// in the same step (keptAnswersLua): checked first, so a repeat gets the
// first answer back; the registration's kept only with the insert, and a
// full mobile's refusal kept too. A taken id keeps nothing: the caller
// tries another, rendering its answer again. An id is taken, too, by a
// record an earlier version issued it to, moved to another shard (KEYS[3],
// see moved.go).
// KEYS: beneficiary, the mobile's beneficiaries, the id's moved pointer,
// [idempotency]. ARGV:
// 1 limit, 2 id, 3–8 the key's fingerprint (empty without one), TTL and
// answers, then the field pairs. 1: registered, 0: mobile full, 2: id
// taken (try another).
// The score is one more than the newest, so registrations in the same
// millisecond still list in order.
var createBeneficiaryScript = redis.NewScript(keptAnswersLua + `
local seen = answered(KEYS[4], 3)
if seen then return seen end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then
  keep(KEYS[4], 3, false)
  return 0
end
if redis.call('EXISTS', KEYS[1], KEYS[3]) > 0 then return 2 end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[2], (tonumber(newest[2]) or 0) + 1, ARGV[2])
keep(KEYS[4], 3, true)
return 1
`)

// CreateBeneficiaryOnce is CreateBeneficiary that, with idem, keeps the
// answers kept renders (to the beneficiary registered, and to
// ErrMobileLimit) in the same step; a repeat gets an *AnsweredError with
// the first and changes nothing.
func (s *Store) CreateBeneficiaryOnce(ctx context.Context, b Beneficiary, maxPerMobile int, idem *IdempotencyKey, kept Kept[Beneficiary]) (Beneficiary, error) {
	b.CreatedAt = s.now().UTC()
	b.ActiveAppointment, b.ActiveDate, b.Doses = "", "", nil
	shard := shardOfMobile(b.Mobile)
	for range 5 {
		id, err := digitsIn(shard, 11)
		if err != nil {
			return Beneficiary{}, fmt.Errorf("create beneficiary: %w", err)
		}
		b.ID = id
		keys, args, err := keptFor(s, tag(shard), b, idem, kept)
		if err != nil {
			return Beneficiary{}, fmt.Errorf("create beneficiary: %w", err)
		}
		args = append([]any{maxPerMobile, id}, args...)
		args = append(args, "id", id, "name", b.Name, "mobile", b.Mobile, "birth_year", b.BirthYear,
			"gender", b.Gender, "lang", b.Language, "created_at", b.CreatedAt.UnixMilli())
		res, err := s.ackedPath(ctx, createBeneficiaryScript,
			append([]string{s.beneficiaryKey(id), s.mobileBeneficiariesKey(b.Mobile), s.movedKey(id)}, keys...), args...).Result()
		if err != nil {
			return Beneficiary{}, fmt.Errorf("create beneficiary: %w", err)
		}
		if res == int64(2) {
			continue
		}
		if err := stepResult(res, ErrMobileLimit); err != nil {
			return Beneficiary{}, err
		}
		return b, nil
	}
	return Beneficiary{}, errors.New("create beneficiary: no free id after 5 tries")
}

// Beneficiary loads one beneficiary with their doses.
func (s *Store) Beneficiary(ctx context.Context, id string) (Beneficiary, error) {
	if !allDigits(id, 14) {
		return Beneficiary{}, ErrNotFound
	}
	bs, err := s.Beneficiaries(ctx, []string{id})
	if err != nil {
		return Beneficiary{}, err
	}
	if len(bs) == 0 {
		return Beneficiary{}, ErrNotFound
	}
	return bs[0], nil
}

// Beneficiaries loads the beneficiaries ids name with their doses, in one
// round trip, in the order given; ids that do not exist are left out.
func (s *Store) Beneficiaries(ctx context.Context, ids []string) ([]Beneficiary, error) {
	found, err := s.beneficiariesAt(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load beneficiaries: %w", err)
	}
	out := make([]Beneficiary, 0, len(ids))
	for _, b := range found {
		if b.ID != "" {
			out = append(out, b)
		}
	}
	return out, nil
}

// beneficiariesAt reads the beneficiaries ids name with their doses in one
// round trip: out[i] is ids[i]'s, with an empty ID for one that does not
// exist.
func (s *Store) beneficiariesAt(ctx context.Context, ids []string) ([]Beneficiary, error) {
	s, err := s.locate(ctx, ids...)
	if err != nil {
		return nil, err
	}
	hs := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			hs[i] = p.HGetAll(ctx, s.beneficiaryKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Beneficiary, len(ids))
	for i, id := range ids {
		if len(hs[i].Val()) == 0 {
			continue
		}
		b := beneficiaryFromHash(hs[i].Val())
		if b.Doses, err = storedDoses(hs[i].Val()); err != nil {
			return nil, fmt.Errorf("beneficiary %s: %w", id, err)
		}
		out[i] = b
	}
	return out, nil
}

func beneficiaryFromHash(h map[string]string) Beneficiary {
	year, _ := strconv.Atoi(h["birth_year"])
	reminded, _ := strconv.Atoi(h["reminded"])
	return Beneficiary{
		ID: h["id"], Name: h["name"], Mobile: h["mobile"], BirthYear: year,
		Gender: h["gender"], Language: h["lang"], CreatedAt: msTime(h["created_at"]),
		ActiveAppointment: h["active_appt"], ActiveDate: h["active_date"],
		NextDue: h["due"], RemindedDose: reminded, RemindedOn: h["reminded_on"],
	}
}

// BeneficiariesByMobile lists the beneficiaries registered on a mobile,
// oldest first.
func (s *Store) BeneficiariesByMobile(ctx context.Context, mobile string) ([]Beneficiary, error) {
	ids, err := s.rdb.ZRange(ctx, s.mobileBeneficiariesKey(mobile), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("beneficiaries of mobile: %w", err)
	}
	return s.Beneficiaries(ctx, ids)
}

func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
