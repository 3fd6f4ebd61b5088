package loadgen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Kind is one kind of request the generator sends.
type Kind string

// The kinds a mix may name.
const (
	// KindDose records a walk-in dose (POST /v1/doses) with a centre key;
	// the confirmation SMS follows. Each goes to a beneficiary not dosed
	// before (see KindRegister).
	KindDose Kind = "dose"
	// KindBook books an appointment (POST /v1/appointments); the slip SMS
	// follows. A beneficiary booked earlier in the run is first cancelled
	// (see KindCancel).
	KindBook Kind = "book"
	// KindKYVS asks for a Know-Your-Vaccination-Status OTP (POST
	// /v1/kyvs/otp); the OTP SMS follows.
	KindKYVS Kind = "kyvs"
	// KindInbound posts a signed Twilio inbound SMS "STATUS"; the keyword
	// reply SMS follows.
	KindInbound Kind = "inbound"
	// KindUSSD posts one USSD callback (the main menu or its choice 1); no SMS.
	KindUSSD Kind = "ussd"
)

// KindCancel is not part of a mix: it is the cancellation (POST
// /v1/appointments/{id}/cancel) a book request sends first when its
// beneficiary still holds the appointment it booked earlier in the run, so
// the new booking is not refused as already_booked. The cancellation SMS is
// expected and reported under this kind.
const KindCancel Kind = "cancel"

// KindRegister is not part of a mix either: the registration a dose
// request sends first when its member has had the run's dose. The
// programme's schedule allows one dose per person a day (and weeks between
// doses), so each dose of a run goes to a beneficiary not dosed before: the
// setup's one per mobile, then up to 3 more registered on that mobile, then
// a mobile past the setup's. No SMS follows a registration.
const KindRegister Kind = "register"

// MixKinds are the kinds a mix may name, in report order.
var MixKinds = []Kind{KindDose, KindBook, KindKYVS, KindInbound, KindUSSD}

// reportKinds are the kinds a report lists, in order.
var reportKinds = []Kind{KindDose, KindRegister, KindBook, KindCancel, KindKYVS, KindInbound, KindUSSD}

// sendsSMS reports whether a successful request of kind k makes the
// gateway send one SMS.
func (k Kind) sendsSMS() bool { return k != KindUSSD && k != KindRegister }

// Share is one kind's weight in a mix.
type Share struct {
	Kind   Kind `json:"kind"`
	Weight int  `json:"weight"`
}

// Mix is how requests are shared among kinds: each kind gets
// weight/total of the requests, in a fixed interleaving (smooth weighted
// round robin), so that short runs keep the proportions exactly.
type Mix []Share

// maxWeight bounds a weight, so that totals cannot overflow.
const maxWeight = 1_000_000

// ParseMix reads a mix written as comma-separated kind=weight pairs, like
// "dose=5,kyvs=1,inbound=2,ussd=1,book=1". Weights are whole numbers;
// a kind with weight 0 is allowed and sends nothing; at least one weight
// must be positive.
func ParseMix(s string) (Mix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("mix is empty: give kind=weight pairs like dose=5,kyvs=1")
	}
	var m Mix
	seen := map[Kind]bool{}
	total := 0
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("mix %q: empty item between commas", s)
		}
		name, weight, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("mix %q: %q is not kind=weight", s, item)
		}
		k := Kind(strings.ToLower(strings.TrimSpace(name)))
		if !knownKind(k) {
			return nil, fmt.Errorf("mix %q: unknown kind %q (known: %s)", s, strings.TrimSpace(name), kindList())
		}
		if seen[k] {
			return nil, fmt.Errorf("mix %q: %s is given twice", s, k)
		}
		seen[k] = true
		w, err := strconv.Atoi(strings.TrimSpace(weight))
		if err != nil || w < 0 || w > maxWeight {
			return nil, fmt.Errorf("mix %q: weight of %s must be a whole number from 0 to %d, not %q", s, k, maxWeight, strings.TrimSpace(weight))
		}
		m = append(m, Share{Kind: k, Weight: w})
		total += w
	}
	if total == 0 {
		return nil, fmt.Errorf("mix %q: every weight is 0, nothing would be sent", s)
	}
	return m, nil
}

func knownKind(k Kind) bool {
	for _, known := range MixKinds {
		if k == known {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, len(MixKinds))
	for i, k := range MixKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// String writes m as ParseMix reads it.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = fmt.Sprintf("%s=%d", s.Kind, s.Weight)
	}
	return strings.Join(parts, ",")
}

// Weight is k's weight in m (0 when m does not name k).
func (m Mix) Weight(k Kind) int {
	for _, s := range m {
		if s.Kind == k {
			return s.Weight
		}
	}
	return 0
}

// Total is the sum of m's weights.
func (m Mix) Total() int {
	t := 0
	for _, s := range m {
		t += s.Weight
	}
	return t
}

// picker hands out kinds in m's proportions by smooth weighted round robin
// (as nginx balances upstreams): every Total() picks hold each kind exactly
// Weight times, spread out rather than in runs. Safe for concurrent use.
type picker struct {
	mu      sync.Mutex
	mix     Mix
	current []int
	total   int
}

func newPicker(m Mix) *picker {
	return &picker{mix: m, current: make([]int, len(m)), total: m.Total()}
}

func (p *picker) next() Kind {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, s := range p.mix {
		p.current[i] += s.Weight
		if s.Weight > 0 && (best < 0 || p.current[i] > p.current[best]) {
			best = i
		}
	}
	p.current[best] -= p.total
	return p.mix[best].Kind
}
