package loadgen

import (
	"cmp"
	"slices"
	"time"
)

// expectation is an SMS a request made the gateway owe.
type expectation struct {
	kind   Kind
	mobile string
	// messageID is the gateway's id of the SMS when the API's answer gave
	// it; "" makes the SMS found by mobile.
	messageID string
	// sent is when the request was sent: the SMS cannot reach the provider
	// before it, and its end-to-end latency is counted from it.
	sent time.Time
}

// deliveries is what matching found for one kind.
type deliveries struct {
	expected   int
	delivered  int
	duplicates int // extra copies the double accepted of delivered SMS
	unexpected int // SMS to this kind's mobiles that no request explains
	latencies  []time.Duration
}

// match pairs the SMS a run expected with the messages the double
// accepted (msgs, in accept order), per kind:
//
//  1. An expectation with a message id is delivered by the first message
//     carrying that id; later copies are duplicates.
//  2. The others, per mobile in the order their requests were sent, each
//     take the first message to that mobile, at or after the request was
//     sent, not taken in step 1 or by an earlier request; later copies of
//     it (same message id) are duplicates. Every mobile's SMS belong to one
//     kind and its requests are never in flight together, so this greedy
//     pairing matches as many as can be matched.
//  3. What is left addressed to a mobile of the run (owner) is unexpected
//     and counted against the kind owning the mobile; messages to other
//     mobiles are someone else's and ignored.
//
// The result holds an entry for every kind with an expectation or an
// unexpected message.
func match(exps []expectation, msgs []SMS, owner map[string]Kind) map[Kind]*deliveries {
	out := map[Kind]*deliveries{}
	of := func(k Kind) *deliveries {
		d := out[k]
		if d == nil {
			d = &deliveries{}
			out[k] = d
		}
		return d
	}
	order := make([]int, len(msgs)) // indices of msgs by acceptance time
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(msgs[a].AtUnixNano, msgs[b].AtUnixNano)
	})
	byID := map[string][]int{}
	byMobile := map[string][]int{}
	for _, i := range order {
		if id := msgs[i].MessageID; id != "" {
			byID[id] = append(byID[id], i)
		}
		byMobile[msgs[i].To] = append(byMobile[msgs[i].To], i)
	}
	used := make([]bool, len(msgs))
	// take marks every copy of the message at i used and returns how many
	// copies beyond the first there were.
	take := func(i int) int {
		used[i] = true
		id := msgs[i].MessageID
		if id == "" {
			return 0
		}
		extra := 0
		for _, j := range byID[id] {
			if !used[j] {
				used[j] = true
				extra++
			}
		}
		return extra
	}
	latency := func(e expectation, i int) time.Duration {
		return time.Duration(msgs[i].AtUnixNano - e.sent.UnixNano())
	}

	var byMobileExp []expectation
	for _, e := range exps {
		d := of(e.kind)
		d.expected++
		if e.messageID == "" {
			byMobileExp = append(byMobileExp, e)
			continue
		}
		copies := byID[e.messageID]
		if len(copies) == 0 || used[copies[0]] {
			continue
		}
		d.delivered++
		d.latencies = append(d.latencies, latency(e, copies[0]))
		d.duplicates += take(copies[0])
	}

	slices.SortStableFunc(byMobileExp, func(a, b expectation) int { return a.sent.Compare(b.sent) })
	next := map[string]int{} // per mobile: position in byMobile before which nothing is free
	for _, e := range byMobileExp {
		list, at := byMobile[e.mobile], next[e.mobile]
		for at < len(list) && (used[list[at]] || msgs[list[at]].AtUnixNano < e.sent.UnixNano()) {
			at++
		}
		next[e.mobile] = at
		if at == len(list) {
			continue
		}
		d := out[e.kind]
		d.delivered++
		d.latencies = append(d.latencies, latency(e, list[at]))
		d.duplicates += take(list[at])
	}

	for i, m := range msgs {
		if k, ours := owner[m.To]; ours && !used[i] {
			of(k).unexpected++
		}
	}
	return out
}
