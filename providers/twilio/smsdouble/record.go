package smsdouble

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
)

// Accepted is one message the double accepted, as /messages lists it.
type Accepted struct {
	Sid        string `json:"sid"`
	To         string `json:"to"`
	Body       string `json:"body"`
	MessageID  string `json:"message_id"` // the gateway's id: the m parameter of StatusCallback, "" if none
	AtUnixNano int64  `json:"at_unix_nano"`
}

// Record is what the double saw since it started or was last reset.
type Record struct {
	Accepted         int            `json:"accepted"`
	UniqueMessageIDs int            `json:"unique_message_ids"` // distinct non-empty message ids accepted
	Duplicates       []Duplicate    `json:"duplicates"`         // sorted by MessageID; never nil
	Rejected         Rejected       `json:"rejected"`
	Callbacks        CallbackCounts `json:"callbacks"`
}

// Duplicate is a gateway message id accepted more than once.
type Duplicate struct {
	MessageID string `json:"message_id"`
	Count     int    `json:"count"`
}

// Rejected counts create requests that were not accepted, by reason.
type Rejected struct {
	Auth     int64 `json:"auth"`    // wrong credentials or account SID in the path
	Invalid  int64 `json:"invalid"` // unreadable form, or To, Body, From missing
	Error500 int64 `json:"error_500"`
	Error429 int64 `json:"error_429"`
	Timeout  int64 `json:"timeout"`
	Down     int64 `json:"down"`
}

// CallbackCounts counts status callbacks, one per status posted.
type CallbackCounts struct {
	Posted  int64 `json:"posted"`  // answered 2xx
	Failed  int64 `json:"failed"`  // answered otherwise, or not at all; not retried
	Dropped int64 `json:"dropped"` // not posted: the queue was full
}

// rejections is Rejected as counters the handlers update concurrently.
type rejections struct {
	auth, invalid, error500, error429, timeout, down atomic.Int64
}

func (r *rejections) snapshot() Rejected {
	return Rejected{
		Auth: r.auth.Load(), Invalid: r.invalid.Load(), Error500: r.error500.Load(),
		Error429: r.error429.Load(), Timeout: r.timeout.Load(), Down: r.down.Load(),
	}
}

func (r *rejections) reset() {
	for _, c := range []*atomic.Int64{&r.auth, &r.invalid, &r.error500, &r.error429, &r.timeout, &r.down} {
		c.Store(0)
	}
}

// shardCount spreads accepted messages over independently locked shards,
// so that concurrent creates rarely wait for each other.
const shardCount = 64

// ledger keeps every accepted message. A message id's messages all land in
// the shard its hash picks, so each shard counts its ids on its own.
type ledger struct {
	seq    atomic.Uint64 // accept order across shards
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu      sync.Mutex
	entries []entry
	ids     map[string]int // message id → times accepted; keys point into entries' data
}

// entry is one accepted message in one allocation: ~50 bytes plus its
// text, for hundreds of thousands of messages.
type entry struct {
	seq  uint64
	at   int64     // Unix nanoseconds
	data string    // sid + to + body + message id
	ends [3]uint32 // where sid, to and body end in data
}

func newEntry(seq uint64, at int64, sid, to, body, id string) entry {
	e := entry{seq: seq, at: at, data: sid + to + body + id}
	e.ends[0] = uint32(len(sid))
	e.ends[1] = e.ends[0] + uint32(len(to))
	e.ends[2] = e.ends[1] + uint32(len(body))
	return e
}

func (e *entry) messageID() string { return e.data[e.ends[2]:] }

func (e *entry) accepted() Accepted {
	return Accepted{
		Sid:        e.data[:e.ends[0]],
		To:         e.data[e.ends[0]:e.ends[1]],
		Body:       e.data[e.ends[1]:e.ends[2]],
		MessageID:  e.messageID(),
		AtUnixNano: e.at,
	}
}

func newLedger() *ledger {
	l := &ledger{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].ids = map[string]int{}
	}
	return l
}

// add records one accepted message; id is "" when the gateway gave none.
func (l *ledger) add(at int64, sid, to, body, id string) {
	seq := l.seq.Add(1)
	e := newEntry(seq, at, sid, to, body, id)
	n := seq
	if id != "" {
		n = maphash.String(l.seed, id)
	}
	sh := &l.shards[n%shardCount]
	sh.mu.Lock()
	sh.entries = append(sh.entries, e)
	if id != "" {
		sh.ids[e.messageID()]++
	}
	sh.mu.Unlock()
}

// summary fills the message counts of a Record.
func (l *ledger) summary(r *Record) {
	r.Duplicates = []Duplicate{}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		r.Accepted += len(sh.entries)
		r.UniqueMessageIDs += len(sh.ids)
		for id, n := range sh.ids {
			if n > 1 {
				r.Duplicates = append(r.Duplicates, Duplicate{MessageID: id, Count: n})
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(r.Duplicates, func(a, b Duplicate) int { return cmp.Compare(a.MessageID, b.MessageID) })
}

// since returns the messages accepted after sinceUnixNano, in accept order.
func (l *ledger) since(sinceUnixNano int64) []entry {
	var out []entry
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for _, e := range sh.entries {
			if e.at > sinceUnixNano {
				out = append(out, e)
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// reset forgets every message and frees their memory.
func (l *ledger) reset() {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		sh.entries = nil
		sh.ids = map[string]int{}
		sh.mu.Unlock()
	}
}
