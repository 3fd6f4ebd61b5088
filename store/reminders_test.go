package store

import (
	"context"
	"slices"
	"testing"

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
					if ids := dueAll(t, s, want); !slices.Equal(ids, []string{ben.ID}) {
						t.Errorf("after dose %d: due on %s = %v", i+1, want, ids)
					}
				}
				if prev != "" && prev != tc.wantDue[i] {
					if ids := dueAll(t, s, prev); !slices.Equal(ids, []string{ben.ID}) {
						t.Errorf("after dose %d: the list of %s = %v, want its entry kept", i+1, prev, ids)
					}
				}
				prev = tc.wantDue[i]
			}
		})
	}
}

// dueOn29January registers n beneficiaries on mobiles of their own, all
// of one shard, and gives each a COVAXIN dose on 2027-01-01, so their next
// opens on 2027-01-29; it returns their ids in that order.
func dueOn29January(t *testing.T, s *Store, n int) []string {
	t.Helper()
	var ids []string
	for _, m := range mobilesOfOneShard(n) {
		b := mustBeneficiary(t, s, m)
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
	shard := shardIndex(shardOfID(ids[0]))
	var got []string
	for from := int64(0); ; {
		page, err := s.DueOn(ctx, "2027-01-29", shard, from, 2)
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
		rdb.HDel(ctx, s.beneficiaryKey(id), "due")
	}

	for range 2 {
		n, err := s.ReindexDue(ctx)
		if err != nil || n != 2 {
			t.Fatalf("ReindexDue = %d, %v; want the 2 with doses", n, err)
		}
		if ids := dueAll(t, s, "2027-03-26"); !slices.Equal(ids, []string{one.ID}) {
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
	if ids := dueAll(t, s, "2027-07-30"); !slices.Equal(ids, []string{two.ID}) {
		t.Errorf("precaution due on 2027-07-30: %v, want the complete course", ids)
	}
	if b, _ := s.Beneficiary(ctx, none.ID); b.NextDue != "" {
		t.Errorf("no dose, due %q", b.NextDue)
	}
}

// dueAll lists the due lists of date of every shard, in shard order.
func dueAll(t *testing.T, s *Store, date string) []string {
	t.Helper()
	var all []string
	for i := range DueShards {
		ids, err := s.DueOn(context.Background(), date, i, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids...)
	}
	return all
}

func TestDueShardsIn(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const day, other = "2027-03-01", "2027-03-02"
	for _, i := range []int{5, 99, 100, 250, 899} {
		if err := s.rdb.RPush(ctx, s.dueKey(shardAt(i), day), shardAt(i)+"00000000001").Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		date     string
		from     int
		want     []int
		wantNext int
	}{
		{day, 0, []int{5, 99}, 100},
		{day, -1, []int{5, 99}, 100},
		{day, 6, []int{99, 100}, 106},
		{day, 100, []int{100}, 200},
		{day, 200, []int{250}, 300},
		{day, 850, []int{899}, DueShards},
		{day, 900, nil, DueShards},
		{other, 0, nil, 100},
	} {
		got, next, err := s.DueShardsIn(ctx, tc.date, tc.from)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) || next != tc.wantNext {
			t.Errorf("DueShardsIn(%s, %d) = %v, %d; want %v, %d", tc.date, tc.from, got, next, tc.want, tc.wantNext)
		}
	}
}
