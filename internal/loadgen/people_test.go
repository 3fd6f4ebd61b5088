package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// validINMobile is the gateway's rule (gateway.NormalizeMobile): a valid
// number, of type mobile (or fixed line or mobile), in India.
func validINMobile(t *testing.T, s string) {
	t.Helper()
	n, err := phonenumbers.Parse(s, "IN")
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	if !phonenumbers.IsValidNumberForRegion(n, "IN") {
		t.Fatalf("%s is not a valid Indian number", s)
	}
	if typ := phonenumbers.GetNumberType(n); typ != phonenumbers.MOBILE && typ != phonenumbers.FIXED_LINE_OR_MOBILE {
		t.Fatalf("%s is of type %v, not a mobile", s, typ)
	}
	if e164 := phonenumbers.Format(n, phonenumbers.E164); e164 != s {
		t.Fatalf("%s formats as %s in E.164", s, e164)
	}
}

func TestMobile(t *testing.T) {
	for _, tc := range []struct {
		prefix, i int
		want      string
	}{
		{0, 0, "+919000000000"},
		{1234, 56789, "+919123456789"},
		{9999, MaxBeneficiaries - 1, "+919999999999"},
		{42, 7, "+919004200007"},
	} {
		got := Mobile(tc.prefix, tc.i)
		if got != tc.want {
			t.Errorf("Mobile(%d, %d) = %s, want %s", tc.prefix, tc.i, got, tc.want)
		}
		validINMobile(t, got)
	}
	// Prefixes at the ends and at random (every one of the 10,000 passes,
	// but takes seconds under -race), numbers at both ends and between.
	rng := rand.New(rand.NewPCG(3, 4))
	prefixes := []int{0, 1, 999, 1000, 5000, 9000, 9999}
	for range 300 {
		prefixes = append(prefixes, rng.IntN(10000))
	}
	for _, prefix := range prefixes {
		for _, i := range []int{0, MaxBeneficiaries - 1, rng.IntN(MaxBeneficiaries)} {
			validINMobile(t, Mobile(prefix, i))
		}
	}
	// Distinct within a run.
	seen := map[string]bool{}
	for i := range MaxBeneficiaries {
		m := Mobile(777, i)
		if seen[m] {
			t.Fatalf("Mobile(777, %d) = %s repeats", i, m)
		}
		seen[m] = true
	}
}

// TestName restates the gateway's name rule (gateway/validate.go
// personName): letters of any script with their marks, digits, spaces and
// . ' - only, at least one letter, at most 100 characters, single spaces.
func TestName(t *testing.T) {
	for _, i := range []int{0, 1, 123, 99999, MaxBeneficiaries - 1} {
		name := Name(i)
		if i == 123 && name != "Load Test 000123" {
			t.Errorf("Name(123) = %q", name)
		}
		if strings.Join(strings.Fields(name), " ") != name {
			t.Errorf("Name(%d) = %q: the gateway collapses its spaces", i, name)
		}
		letters := false
		for _, r := range name {
			letters = letters || unicode.IsLetter(r)
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" .'-", r) {
				t.Errorf("Name(%d) = %q holds %q", i, name, r)
			}
		}
		if !letters || len([]rune(name)) > 100 {
			t.Errorf("Name(%d) = %q breaks the rule", i, name)
		}
	}
}

func TestPartition(t *testing.T) {
	people := func(n int) []Person {
		out := make([]Person, n)
		for i := range out {
			out[i] = Person{ID: fmt.Sprint(i), Mobile: Mobile(1, i)}
		}
		return out
	}
	for _, tc := range []struct {
		mix     string
		n       int
		want    map[Kind]int
		wantErr string
	}{
		{"dose=1", 10, map[Kind]int{KindDose: 10}, ""},
		{"ussd=1", 10, map[Kind]int{}, ""},
		{"dose=5,kyvs=1,inbound=2,ussd=1,book=1", 100,
			map[Kind]int{KindDose: 56, KindKYVS: 11, KindInbound: 22, KindBook: 11}, ""},
		{"dose=1,kyvs=1,inbound=1,book=1", 4, map[Kind]int{KindDose: 1, KindKYVS: 1, KindInbound: 1, KindBook: 1}, ""},
		{"dose=1000,kyvs=1", 10, map[Kind]int{KindDose: 9, KindKYVS: 1}, ""}, // at least one each
		{"dose=1,kyvs=0", 3, map[Kind]int{KindDose: 3}, ""},
		{"dose=1,kyvs=1,inbound=1", 10, map[Kind]int{KindDose: 4, KindKYVS: 3, KindInbound: 3}, ""},
		{"dose=1,kyvs=2", 7, map[Kind]int{KindDose: 2, KindKYVS: 5}, ""},
		{"dose=1,kyvs=1,inbound=1", 2, nil, "2 beneficiaries cannot give each of the 3 kinds"},
	} {
		t.Run(tc.mix, func(t *testing.T) {
			m, err := ParseMix(tc.mix)
			if err != nil {
				t.Fatal(err)
			}
			ps := people(tc.n)
			got, err := partition(ps, m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sizes := map[Kind]int{}
			seen := map[string]Kind{}
			total := 0
			for k, part := range got {
				sizes[k] = len(part)
				for _, p := range part {
					if other, dup := seen[p.Mobile]; dup {
						t.Fatalf("%s is in both %s and %s", p.Mobile, other, k)
					}
					seen[p.Mobile] = k
				}
				total += len(part)
			}
			if len(got) > 0 && total != tc.n {
				t.Fatalf("%d people shared out, want all %d", total, tc.n)
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.want) {
				t.Fatalf("sizes %v, want %v", sizes, tc.want)
			}
		})
	}
}

// TestPoolLendsOneAtATime hammers a pool and checks that no member is
// ever held twice at once and that every member gets turns.
func TestPoolLendsOneAtATime(t *testing.T) {
	ps := make([]Person, 5)
	for i := range ps {
		ps[i] = Person{Mobile: Mobile(2, i)}
	}
	p := newPool(KindKYVS, ps, nil)
	var held sync.Map
	var turns [5]atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 200 {
				m := p.acquire(context.Background())
				if _, dup := held.LoadOrStore(m.Mobile, true); dup {
					t.Errorf("%s lent twice at once", m.Mobile)
				}
				var i int
				fmt.Sscanf(m.Mobile[len(m.Mobile)-5:], "%d", &i)
				turns[i].Add(1)
				held.Delete(m.Mobile)
				p.release(m)
			}
		})
	}
	wg.Wait()
	for i := range turns {
		if turns[i].Load() == 0 {
			t.Errorf("member %d never had a turn", i)
		}
	}
	// All lent out: acquire waits, counts the wait, and gives up with its
	// context or takes the first member returned.
	var all []*member
	for range 5 {
		all = append(all, p.acquire(context.Background()))
	}
	waits := p.waits.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if m := p.acquire(ctx); m != nil {
		t.Fatalf("acquired %s with every member lent out", m.Mobile)
	}
	got := make(chan *member)
	go func() { got <- p.acquire(context.Background()) }()
	p.release(all[3])
	if m := <-got; m != all[3] {
		t.Fatalf("a waiting borrower got %v, want the member released", m)
	}
	if p.waits.Load() < waits+1 {
		t.Errorf("waits went from %d to %d", waits, p.waits.Load())
	}
}
