package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
)

// TestDueIndex: each dose lists the beneficiary on the day their next dose
// opens (the vaccine's interval after it) and names that day in their
// 'due'; a complete course lists them nowhere — or, with precaution
// reminders, on the day 182 days on, and the precaution dose nowhere. The
// day named before keeps its entry, with 'due' no longer naming it.
func TestDueIndex(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		precaution bool
		vaccines   []string
		dates      []string
		wantDue    []string // after each dose; "" none
	}{
		{"covishield", false, []string{"COVISHIELD", "COVISHIELD"}, []string{"2027-01-01", "2027-03-26"}, []string{"2027-03-26", ""}},
		{"covaxin", false, []string{"COVAXIN", "COVAXIN"}, []string{"2027-01-01", "2027-01-29"}, []string{"2027-01-29", ""}},
		{"sputnik v", false, []string{"SPUTNIK_V"}, []string{"2027-01-01"}, []string{"2027-01-22"}},
		{"zycov-d takes three", false, []string{"ZYCOV_D", "ZYCOV_D", "ZYCOV_D"}, []string{"2027-01-01", "2027-01-29", "2027-02-26"},
			[]string{"2027-01-29", "2027-02-26", ""}},
		{"sputnik light is one dose", false, []string{"SPUTNIK_LIGHT"}, []string{"2027-01-01"}, []string{""}},
		{"precaution reminders", true, []string{"COVAXIN", "COVAXIN", "COVAXIN"}, []string{"2027-01-01", "2027-01-29", "2027-07-30"},
			[]string{"2027-01-29", "2027-07-30", ""}},
		{"precaution after sputnik light", true, []string{"SPUTNIK_LIGHT"}, []string{"2027-01-01"}, []string{"2027-07-02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(redistest.New(t, 1), Options{Secret: []byte("0123456789abcdef0123456789abcdef"), PrecautionReminders: tc.precaution})
			if err != nil {
				t.Fatal(err)
			}
			ben := mustBeneficiary(t, s, "+919876543210")
			prev := ""
			for i, v := range tc.vaccines {
				if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: ben.ID, Vaccine: v, Batch: "B1", CenterID: testCenter, Date: tc.dates[i]}, nil); err != nil {
					t.Fatal(err)
				}
				b, err := s.Beneficiary(ctx, ben.ID)
				if err != nil {
					t.Fatal(err)
				}
				if b.NextDue != tc.wantDue[i] {
					t.Errorf("after dose %d: due %q, want %q", i+1, b.NextDue, tc.wantDue[i])
				}
				if want := tc.wantDue[i]; want != "" {
					if ids, _ := s.DueOn(ctx, want, 0, 10); !slices.Equal(ids, []string{ben.ID}) {
						t.Errorf("after dose %d: due on %s = %v", i+1, want, ids)
					}
				}
				if prev != "" && prev != tc.wantDue[i] {
					if ids, _ := s.DueOn(ctx, prev, 0, 10); !slices.Equal(ids, []string{ben.ID}) {
						t.Errorf("after dose %d: the list of %s = %v, want its entry kept", i+1, prev, ids)
					}
				}
				prev = tc.wantDue[i]
			}
		})
	}
}

// dueOn29January registers n beneficiaries on mobiles of their own and
// gives each a COVAXIN dose on 2027-01-01, so their next opens on
// 2027-01-29; it returns their ids in that order.
func dueOn29January(t *testing.T, s *Store, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		b := mustBeneficiary(t, s, "+91987654321"+string(rune('0'+i)))
		if _, err := s.RecordDose(context.Background(), NewDose{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: "B1", CenterID: testCenter, Date: "2027-01-01"}, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	return ids
}

// TestDueOnPages: a day's list comes in the order the doses were
// recorded, page after page.
func TestDueOnPages(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	ids := dueOn29January(t, s, 5)
	var got []string
	for from := int64(0); ; {
		page, err := s.DueOn(ctx, "2027-01-29", from, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		from += int64(len(page))
	}
	if !slices.Equal(got, ids) {
		t.Errorf("pages %v, want %v", got, ids)
	}
}

// TestReindexDue: beneficiaries dosed before the index existed are put on
// the day their next dose opens; a complete course is left out (and put on
// its precaution day with precaution reminders); running it twice changes
// nothing.
func TestReindexDue(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.New(t, 1)
	s, err := New(rdb, Options{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	one := mustBeneficiary(t, s, "+919876543210")
	two := mustBeneficiary(t, s, "+919876543211")
	none := mustBeneficiary(t, s, "+919876543212")
	for _, d := range []struct{ id, vaccine, date string }{
		{one.ID, "COVISHIELD", "2027-01-01"}, {two.ID, "COVAXIN", "2027-01-01"}, {two.ID, "COVAXIN", "2027-01-29"},
	} {
		if _, err := s.RecordDose(ctx, NewDose{BeneficiaryID: d.id, Vaccine: d.vaccine, Batch: "B1", CenterID: testCenter, Date: d.date}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// As before the index: no due day anywhere.
	keys, _ := rdb.Keys(ctx, "sandesh:dues:*").Result()
	rdb.Del(ctx, keys...)
	for _, id := range []string{one.ID, two.ID} {
		rdb.HDel(ctx, "sandesh:ben:"+id, "due")
	}

	for range 2 {
		n, err := s.ReindexDue(ctx)
		if err != nil || n != 2 {
			t.Fatalf("ReindexDue = %d, %v; want the 2 with doses", n, err)
		}
		if ids, _ := s.DueOn(ctx, "2027-03-26", 0, 10); !slices.Equal(ids, []string{one.ID}) {
			t.Errorf("due on 2027-03-26: %v", ids)
		}
		if keys, _ := rdb.Keys(ctx, "sandesh:dues:*").Result(); len(keys) != 1 {
			t.Errorf("due days %v, want one (a complete course is not due)", keys)
		}
	}
	withPrecaution, err := New(rdb, Options{Secret: []byte("0123456789abcdef0123456789abcdef"), PrecautionReminders: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withPrecaution.ReindexDue(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.DueOn(ctx, "2027-07-30", 0, 10); !slices.Equal(ids, []string{two.ID}) {
		t.Errorf("precaution due on 2027-07-30: %v, want the complete course", ids)
	}
	if b, _ := s.Beneficiary(ctx, none.ID); b.NextDue != "" {
		t.Errorf("no dose, due %q", b.NextDue)
	}
}

// TestReindexMovesTheSortedSets: a day's sorted-set index of the earlier
// version moves into the day's list, in id order, each id once, even with
// its beneficiaries' 'due' already naming the day; the sorted set goes.
func TestReindexMovesTheSortedSets(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.New(t, 1)
	s, err := New(rdb, Options{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	ids := dueOn29January(t, s, 3)
	// As the earlier version left them: a sorted set at score 0, no list.
	rdb.Del(ctx, "sandesh:dues:2027-01-29")
	for _, id := range ids {
		rdb.ZAdd(ctx, "sandesh:due:2027-01-29", redis.Z{Member: id})
	}
	// More than one step's worth, on a day no one is due any more.
	for i := range 1200 {
		rdb.ZAdd(ctx, "sandesh:due:2027-01-30", redis.Z{Member: fmt.Sprintf("%014d", i)})
	}
	for range 2 {
		if _, err := s.ReindexDue(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := s.DueOn(ctx, "2027-01-29", 0, 10)
		if want := slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
			t.Errorf("due on 2027-01-29: %v, want %v", got, want)
		}
		if n := rdb.LLen(ctx, "sandesh:dues:2027-01-30").Val(); n != 1200 {
			t.Errorf("2027-01-30 lists %d, want 1200", n)
		}
		if keys, _ := rdb.Keys(ctx, "sandesh:due:*").Result(); len(keys) != 0 {
			t.Errorf("sorted sets left: %v", keys)
		}
	}
}
