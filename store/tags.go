package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// A Redis Cluster runs a script only when all its keys hash to one slot,
// and a request's step touches a citizen's beneficiaries, appointments,
// messages, limits and idempotency results together. So every such key
// carries the hash tag of the citizen's shard, "{cNNN}": NNN (100–999)
// from the mobile number, and every id issued for that citizen (a
// beneficiary, an appointment, a message, a certificate, a KYVS
// transaction) starts with the same three digits, so that a request
// naming only an id finds the shard without asking Redis. On one server
// the tags change nothing but the keys' names.
//
// 900 shards spread over any number of masters (each shard is one slot;
// CLUSTER KEYSLOT decides which master holds it) and bound the shared
// sets that are split by shard (pending, in flight, owed, due).
const (
	firstShard = 100
	shardCount = 900
)

// shardOfMobile is the three digits of mobile's shard. The hash is not
// keyed: a shard is one of 900 buckets, not a secret, and it must never
// change (a secret may be replaced; see keyring).
func shardOfMobile(mobile string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(mobile))
	return strconv.Itoa(firstShard + int(h.Sum64()%shardCount))
}

// shardOfID is the shard an id we issued starts with; "000", where no
// record lives, for one that cannot be ours.
func shardOfID(id string) string {
	if len(id) < 3 || id[0] < '1' || id[0] > '9' || id[1] < '0' || id[1] > '9' || id[2] < '0' || id[2] > '9' {
		return "000"
	}
	return id[:3]
}

// shardAt is the i-th shard (0 ≤ i < shardCount), for walking all of them.
func shardAt(i int) string { return strconv.Itoa(firstShard + i) }

// randomShard is any shard, for a record that is nobody's.
func randomShard() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return shardAt(int(binary.LittleEndian.Uint64(b[:]) % shardCount))
}

// tag is a shard's hash tag.
func tag(shard string) string { return "{c" + shard + "}" }

// newMessageID is a message's (or an appointment's) id in shard:
// time-ordered within the shard (hex milliseconds) and unguessable (64
// random bits).
func newMessageID(shard string, now time.Time) string {
	return fmt.Sprintf("%s%011x%s", shard, now.UnixMilli(), randomHex(8))
}

// newEntryID is a unique member for a sliding-window log.
func newEntryID(now time.Time) string {
	return fmt.Sprintf("%011x%s", now.UnixMilli(), randomHex(8))
}

// newTxnID is a KYVS transaction id in shard: 32 characters, 116 random
// bits.
func newTxnID(shard string) string { return shard + randomHex(15)[:29] }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS is broken; nothing is safe
	}
	return hex.EncodeToString(b)
}

// digitsIn returns shard followed by n random decimal digits (leading
// zeros allowed): a beneficiary's id is 3+11 digits, a certificate's 3+10.
func digitsIn(shard string, n int) (string, error) {
	if n < 1 || n > 18 {
		return "", fmt.Errorf("random digits: %d digits is out of range", n)
	}
	span := uint64(1)
	for range n {
		span *= 10
	}
	limit := ^uint64(0) - ^uint64(0)%span
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("random digits: %w", err)
		}
		if v := binary.LittleEndian.Uint64(b[:]); v < limit {
			return fmt.Sprintf("%s%0*d", shard, n, v%span), nil
		}
	}
}

// ShardNumber is the shard an id we issued names (100–999), 0 for one
// that names none: for spreading work by citizen outside the store (the
// send queues of a cluster).
func ShardNumber(id string) int {
	n, _ := strconv.Atoi(shardOfID(id))
	return n
}
