package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// MaxBeneficiaries is the most beneficiaries one run registers: mobiles
// number them in 5 digits after the run's prefix.
const MaxBeneficiaries = 100_000

// Mobile is the E.164 mobile of the i-th beneficiary (0 <= i <
// MaxBeneficiaries) of a run with mobile prefix prefix (0 to 9999):
// +91 9 PPPP NNNNN. Every such number is a valid Indian mobile (the 9x
// series is mobile throughout), and a run's random prefix keeps the
// beneficiaries of reruns against the same Redis on other mobiles, away
// from the gateway's 4-beneficiaries-per-mobile limit and from earlier
// runs' per-mobile OTP and reply limits.
func Mobile(prefix, i int) string {
	return fmt.Sprintf("+919%04d%05d", prefix%10000, i%MaxBeneficiaries)
}

// Name is the i-th beneficiary's name: "Load Test 000123". Letters, digits
// and spaces only, as the gateway's name rule (letters in any script,
// digits, spaces, . ' -) accepts; KYVS requests repeat it exactly.
func Name(i int) string { return fmt.Sprintf("Load Test %06d", i) }

// Person is a beneficiary the generator registered.
type Person struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Mobile string `json:"mobile"` // E.164, as the gateway stored it
}

// member is a person in a kind's pool, with what the generator knows of
// them. Only the goroutine that acquired a member touches it until it is
// released: the pool's channel hands it over.
type member struct {
	Person
	// appointment is the active appointment the run booked ("" for none).
	appointment string
	// inbound holds when the last inbound SMS were sent from this mobile,
	// newest last, for the gateway's reply limit.
	inbound []time.Time
	// dosed: the run recorded (or tried to record) this person's dose.
	dosed bool
	// onMobile counts the beneficiaries the run registered on the mobile
	// (the setup's included).
	onMobile int
	// fresh are people registered for doses on this member's mobile, not
	// yet dosed (Config.DosePeople).
	fresh []Person
}

// perMobile is the gateway's most beneficiaries on one mobile.
const perMobile = 4

// pool lends a kind's members out one at a time, in turn (FIFO), so that
// no two requests of the run are ever in flight for one mobile, and an SMS
// that carries no message id in the API's answer (a KYVS OTP, a keyword
// reply) can be told apart by its mobile.
type pool struct {
	kind  Kind
	size  int
	free  chan *member
	waits atomic.Int64 // acquisitions that found no member free
}

// newPool lends people out; fresh, by mobile, are more people on a
// member's mobile for its later doses (Config.DosePeople).
func newPool(k Kind, people []Person, fresh map[string][]Person) *pool {
	p := &pool{kind: k, size: len(people), free: make(chan *member, len(people))}
	for _, person := range people {
		m := &member{Person: person, onMobile: 1}
		if k == KindDose {
			m.fresh = fresh[person.Mobile]
			m.onMobile += len(m.fresh)
		}
		p.free <- m
	}
	return p
}

// acquire takes the member whose turn it is, waiting while all are lent
// out; nil when ctx ends first.
func (p *pool) acquire(ctx context.Context) *member {
	select {
	case m := <-p.free:
		return m
	default:
	}
	p.waits.Add(1)
	select {
	case m := <-p.free:
		return m
	case <-ctx.Done():
		return nil
	}
}

// release puts m back at the end of the line.
func (p *pool) release(m *member) { p.free <- m }

// partition shares people among the kinds of m that send SMS, in
// proportion to their weights (largest remainder, at least one each), so
// that each mobile only ever receives the SMS of one kind. USSD sends no
// SMS and uses every person.
func partition(people []Person, m Mix) (map[Kind][]Person, error) {
	var kinds []Kind
	total := 0
	for _, s := range m {
		if s.Weight > 0 && s.Kind.sendsSMS() {
			kinds = append(kinds, s.Kind)
			total += s.Weight
		}
	}
	out := map[Kind][]Person{}
	if len(kinds) == 0 {
		return out, nil
	}
	if len(people) < len(kinds) {
		return nil, fmt.Errorf("%d beneficiaries cannot give each of the %d kinds that send SMS its own mobiles", len(people), len(kinds))
	}
	// Hamilton's method: whole quotas, then the largest remainders; then
	// a kind left with none takes one from the largest.
	n := len(people)
	sizes := make([]int, len(kinds))
	rems := make([]int, len(kinds))
	given := 0
	for i, k := range kinds {
		share := n * m.Weight(k)
		sizes[i], rems[i] = share/total, share%total
		given += sizes[i]
	}
	for ; given < n; given++ {
		best := 0
		for i := range kinds {
			if rems[i] > rems[best] {
				best = i
			}
		}
		sizes[best]++
		rems[best] = -1
	}
	for i := range kinds {
		if sizes[i] == 0 {
			largest := 0
			for j := range kinds {
				if sizes[j] > sizes[largest] {
					largest = j
				}
			}
			sizes[largest]--
			sizes[i]++
		}
	}
	at := 0
	for i, k := range kinds {
		out[k] = people[at : at+sizes[i]]
		at += sizes[i]
	}
	return out, nil
}
