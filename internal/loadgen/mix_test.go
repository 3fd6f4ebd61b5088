package loadgen

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Mix
		wantErr string // a part of the error; "" for none
	}{
		{in: "dose=1", want: Mix{{KindDose, 1}}},
		{in: "dose=5,kyvs=1,inbound=2,ussd=1,book=1",
			want: Mix{{KindDose, 5}, {KindKYVS, 1}, {KindInbound, 2}, {KindUSSD, 1}, {KindBook, 1}}},
		{in: " Dose = 3 , USSD=0 ", want: Mix{{KindDose, 3}, {KindUSSD, 0}}},
		{in: "", wantErr: "mix is empty"},
		{in: "   ", wantErr: "mix is empty"},
		{in: "dose", wantErr: `"dose" is not kind=weight`},
		{in: "dose=1,", wantErr: "empty item"},
		{in: "dose=1,,kyvs=1", wantErr: "empty item"},
		{in: "doses=1", wantErr: `unknown kind "doses" (known: dose, book, kyvs, inbound, ussd)`},
		{in: "cancel=1", wantErr: `unknown kind "cancel"`},
		{in: "dose=x", wantErr: `weight of dose must be a whole number from 0 to 1000000, not "x"`},
		{in: "dose=-1", wantErr: "whole number"},
		{in: "dose=1.5", wantErr: "whole number"},
		{in: "dose=", wantErr: "whole number"},
		{in: "dose=2000000", wantErr: "whole number"},
		{in: "dose=1,dose=2", wantErr: "dose is given twice"},
		{in: "dose=0,kyvs=0", wantErr: "every weight is 0"},
		{in: "=1", wantErr: `unknown kind ""`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMix(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseMix(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMix(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseMix(%q) = %v, want %v", tc.in, got, tc.want)
			}
			again, err := ParseMix(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("String() %q does not parse back: %v, %v", got.String(), again, err)
			}
		})
	}
}

// TestPicker checks that every Total() picks hold each kind exactly its
// weight, spread rather than in runs, and that weight 0 is never picked.
func TestPicker(t *testing.T) {
	for _, tc := range []struct {
		mix       string
		maxStreak int // longest run of one kind in a cycle
	}{
		{"dose=1", 1 << 30},
		{"dose=1,kyvs=1", 1},
		{"dose=5,kyvs=1,inbound=2,ussd=1,book=1", 2},
		{"dose=3,ussd=0,kyvs=1", 2},
		{"dose=1,book=1000", 1000},
	} {
		t.Run(tc.mix, func(t *testing.T) {
			m, err := ParseMix(tc.mix)
			if err != nil {
				t.Fatal(err)
			}
			p := newPicker(m)
			for cycle := range 3 {
				counts := map[Kind]int{}
				streak, longest := 0, 0
				var last Kind
				for range m.Total() {
					k := p.next()
					counts[k]++
					if k == last {
						streak++
					} else {
						streak = 1
					}
					last = k
					longest = max(longest, streak)
				}
				for _, s := range m {
					if counts[s.Kind] != s.Weight {
						t.Fatalf("cycle %d: %s picked %d times, want %d (all: %v)", cycle, s.Kind, counts[s.Kind], s.Weight, counts)
					}
				}
				if len(m) > 1 && longest > tc.maxStreak {
					t.Fatalf("cycle %d: a run of %d of one kind, want at most %d", cycle, longest, tc.maxStreak)
				}
			}
		})
	}
}
