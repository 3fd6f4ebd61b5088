package loadgen

import (
	"fmt"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) int64 { return t0.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	sent := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const a, b, stranger = "+919000000001", "+919000000002", "+919999999999"
	owner := map[string]Kind{a: KindKYVS, b: KindDose}
	type want struct {
		expected, delivered, duplicates, unexpected int
		latenciesMS                                 []int
	}
	for _, tc := range []struct {
		name string
		exps []expectation
		msgs []SMS
		want map[Kind]want
	}{
		{
			name: "by message id",
			exps: []expectation{{kind: KindDose, mobile: b, messageID: "m1", sent: sent(0)}},
			msgs: []SMS{{SID: "S1", To: b, MessageID: "m1", AtUnixNano: at(40)}},
			want: map[Kind]want{KindDose: {1, 1, 0, 0, []int{40}}},
		},
		{
			name: "id never seen is lost; another SMS to the mobile is unexpected",
			exps: []expectation{{kind: KindDose, mobile: b, messageID: "m1", sent: sent(0)}},
			msgs: []SMS{{SID: "S1", To: b, MessageID: "m2", AtUnixNano: at(40)}},
			want: map[Kind]want{KindDose: {1, 0, 0, 1, nil}},
		},
		{
			name: "a second copy of an id is a duplicate",
			exps: []expectation{{kind: KindDose, mobile: b, messageID: "m1", sent: sent(0)}},
			msgs: []SMS{{SID: "S1", To: b, MessageID: "m1", AtUnixNano: at(40)}, {SID: "S2", To: b, MessageID: "m1", AtUnixNano: at(90)}},
			want: map[Kind]want{KindDose: {1, 1, 1, 0, []int{40}}},
		},
		{
			name: "copies out of order: latency from the earliest",
			exps: []expectation{{kind: KindDose, mobile: b, messageID: "m1", sent: sent(0)}},
			msgs: []SMS{{SID: "S2", To: b, MessageID: "m1", AtUnixNano: at(90)}, {SID: "S1", To: b, MessageID: "m1", AtUnixNano: at(40)}},
			want: map[Kind]want{KindDose: {1, 1, 1, 0, []int{40}}},
		},
		{
			name: "by mobile: the first SMS at or after the request",
			exps: []expectation{{kind: KindKYVS, mobile: a, sent: sent(100)}},
			msgs: []SMS{{SID: "S0", To: a, AtUnixNano: at(50)}, {SID: "S1", To: a, MessageID: "x", AtUnixNano: at(100)}},
			want: map[Kind]want{KindKYVS: {1, 1, 0, 1, []int{0}}},
		},
		{
			name: "by mobile: requests take SMS in turn",
			exps: []expectation{
				{kind: KindKYVS, mobile: a, sent: sent(200)},
				{kind: KindKYVS, mobile: a, sent: sent(0)},
				{kind: KindKYVS, mobile: a, sent: sent(300)},
			},
			msgs: []SMS{
				{SID: "S1", To: a, MessageID: "x1", AtUnixNano: at(30)},
				{SID: "S2", To: a, MessageID: "x2", AtUnixNano: at(250)},
			},
			want: map[Kind]want{KindKYVS: {3, 2, 0, 0, []int{30, 50}}},
		},
		{
			name: "by mobile: a copy of the matched SMS is a duplicate, not the next request's",
			exps: []expectation{
				{kind: KindKYVS, mobile: a, sent: sent(0)},
				{kind: KindKYVS, mobile: a, sent: sent(100)},
			},
			msgs: []SMS{
				{SID: "S1", To: a, MessageID: "x1", AtUnixNano: at(30)},
				{SID: "S2", To: a, MessageID: "x1", AtUnixNano: at(150)},
			},
			want: map[Kind]want{KindKYVS: {2, 1, 1, 0, []int{30}}},
		},
		{
			name: "an SMS claimed by its id is not taken by mobile",
			exps: []expectation{
				{kind: KindBook, mobile: a, messageID: "slip", sent: sent(0)},
				{kind: KindKYVS, mobile: a, sent: sent(0)},
			},
			msgs: []SMS{
				{SID: "S1", To: a, MessageID: "slip", AtUnixNano: at(10)},
				{SID: "S2", To: a, MessageID: "otp", AtUnixNano: at(20)},
			},
			want: map[Kind]want{KindBook: {1, 1, 0, 0, []int{10}}, KindKYVS: {1, 1, 0, 0, []int{20}}},
		},
		{
			name: "SMS to other mobiles are ignored",
			exps: []expectation{{kind: KindKYVS, mobile: a, sent: sent(0)}},
			msgs: []SMS{{SID: "S1", To: stranger, AtUnixNano: at(10)}},
			want: map[Kind]want{KindKYVS: {1, 0, 0, 0, nil}},
		},
		{
			name: "nothing expected, nothing seen",
			want: map[Kind]want{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := match(tc.exps, tc.msgs, owner)
			if len(got) != len(tc.want) {
				t.Fatalf("kinds %v, want %v", keys(got), tc.want)
			}
			for k, w := range tc.want {
				d := got[k]
				if d == nil {
					t.Fatalf("no result for %s", k)
				}
				var lat []int
				for _, l := range d.latencies {
					lat = append(lat, int(l/time.Millisecond))
				}
				g := want{d.expected, d.delivered, d.duplicates, d.unexpected, lat}
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("%s: got %+v, want %+v", k, g, w)
				}
			}
		})
	}
}

func keys(m map[Kind]*deliveries) []Kind {
	var out []Kind
	for k := range m {
		out = append(out, k)
	}
	return out
}
