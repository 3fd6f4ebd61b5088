package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"sandesh/internal/memo"
)

// Migrate moves the data an earlier version wrote (layout 1: no shard
// tags) into this version's layout, offline: no process of either version
// may run meanwhile. Every record keeps its id (see moved.go), its value
// and its TTL; a record named by id moves into its citizen's shard, what
// is kept per mobile into the mobile's, the shared sets split by shard,
// and the shared records take their tags.
//
// It runs in three phases, marked in the target's layout key, so that a
// run that stopped half-way is finished by running it again:
//  1. "migrating": everything is written in the new layout. Every write
//     replaces (a key is deleted and written whole), and nothing of the
//     earlier layout is removed yet, so a second run redoes it.
//  2. "2": the pointers' marker and the layout are set; from here the
//     new version starts.
//  3. in place only: the earlier layout's keys are removed.
//
// Left behind on purpose (counted in the report): KYVS transactions and
// USSD sessions, which live for minutes (the verifier asks again, the
// citizen dials again); worker heartbeats; idempotency answers that name no
// record (refusals a retry meets again); asynq's queues, which are not
// under the prefix (in place they stay, and their tasks name ids that
// still work; into another Redis the sweeper queues the pending messages
// again after two minutes).

// MigrateReport is what Migrate did.
type MigrateReport struct {
	Written  map[string]int // records written in this layout, by kind
	Dropped  map[string]int // records left behind on purpose, by kind
	Pointers int            // moved pointers written (moved.go)
	Removed  int            // keys of the earlier layout removed (in place)
	Unknown  []string       // keys under the prefix it does not know, left as they are (the first 20)
	Unknowns int
}

// layoutMigrating marks a target Migrate has begun to write.
const layoutMigrating = "migrating"

// ErrMigrateTarget: the target of a migration already holds data of its
// own.
var ErrMigrateTarget = errors.New("the target Redis already holds data")

// migrateBatch is how many keys one round of reads and writes handles.
const migrateBatch = 500

// Migrate moves the earlier layout's data under the prefix from from into
// s: in place when from is nil (or s's own client).
func (s *Store) Migrate(ctx context.Context, from redis.UniversalClient) (MigrateReport, error) {
	m := &migration{
		s: s, src: from, inPlace: from == nil || from == s.rdb,
		shards: memo.New[string](1_000_000),
		report: MigrateReport{Written: map[string]int{}, Dropped: map[string]int{}},
	}
	if m.inPlace {
		m.src = s.rdb
	}
	if err := m.run(ctx); err != nil {
		return m.report, fmt.Errorf("migrate: %w", err)
	}
	return m.report, nil
}

type migration struct {
	s       *Store
	src     redis.UniversalClient
	inPlace bool
	shards  *memo.Map[string] // a record's id → its citizen's shard ("" none)
	report  MigrateReport
	later   []oldKey // the shared sets and runs, split once every record is known
}

func (m *migration) run(ctx context.Context) error {
	state, err := m.s.rdb.Get(ctx, m.s.layoutKey()).Result()
	switch {
	case errors.Is(err, redis.Nil):
		state = ""
	case err != nil:
		return err
	}
	switch state {
	case layoutVersion:
		if !m.inPlace {
			return fmt.Errorf("%w: its layout is already %s", ErrMigrateTarget, layoutVersion)
		}
		return m.removeEarlier(ctx) // a run that stopped while removing
	case "":
		if !m.inPlace {
			if key, err := m.anyKey(ctx); err != nil {
				return err
			} else if key != "" {
				return fmt.Errorf("%w (%s)", ErrMigrateTarget, key)
			}
		}
		if err := m.s.rdb.Set(ctx, m.s.layoutKey(), layoutMigrating, 0).Err(); err != nil {
			return err
		}
	case layoutMigrating:
	default:
		return fmt.Errorf("the target's layout is %q", state)
	}
	if err := m.copyRecords(ctx); err != nil {
		return err
	}
	for _, k := range m.later {
		if err := m.split(ctx, k); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	if m.report.Pointers > 0 {
		if err := m.s.rdb.Set(ctx, m.s.movedMarkerKey(), m.report.Pointers, 0).Err(); err != nil {
			return err
		}
	}
	if err := m.s.rdb.Set(ctx, m.s.layoutKey(), layoutVersion, 0).Err(); err != nil {
		return err
	}
	if m.inPlace {
		return m.removeEarlier(ctx)
	}
	return nil
}

// anyKey is a key under the prefix on the target, "" with none.
func (m *migration) anyKey(ctx context.Context) (string, error) {
	var found string
	stop := errors.New("found")
	err := scanOn(ctx, m.s.rdb, m.s.prefix+"*", "", migrateBatch, func(keys []string) error {
		if len(keys) > 0 {
			found = keys[0]
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return "", err
	}
	return found, nil
}

// How a key of the earlier layout moves.
type moveHow int

const (
	moveNew      moveHow = iota // already this layout's (a second run, or a new-only key)
	moveTo                      // to a fixed name (a shared record's tag)
	moveByRecord                // into the shard of the record id names
	moveByMobile                // into the shard of mobile
	moveByValue                 // into the shard of the record its value names
	moveIdem                    // an idempotency answer: into the shard of a record it names
	moveSplit                   // a shared set or list, member by member
	moveMerged                  // into its record's own fields (a beneficiary's dose list)
	moveRun                     // a reminder run's record, converted
	moveKeep                    // the same name in both layouts
	moveDrop                    // left behind
	moveUnknown                 // not ours to judge
)

// oldKey is a key of the earlier layout and where it goes.
type oldKey struct {
	name   string // the full key
	kind   string // for the report
	how    moveHow
	id     string                    // moveByRecord: the record
	record bool                      // the record id names itself (not its dose list or limit): it gets a pointer
	mobile string                    // moveByMobile
	to     func(shard string) string // the new name (without the prefix), given the shard
	split  string                    // moveSplit: which set
	date   string                    // moveSplit of due lists, moveRun
}

// classify tells how the key rest (the key without the prefix) moves.
func classify(rest string) oldKey {
	k := oldKey{kind: strings.SplitN(rest, ":", 2)[0]}
	fixed := func(name string) oldKey {
		k.how, k.to = moveTo, func(string) string { return name }
		return k
	}
	inShard := func(id, name string) oldKey {
		k.how, k.id = moveByRecord, id
		k.to = func(sh string) string { return name + tag(sh) + ":" + strings.TrimPrefix(rest, name) }
		return k
	}
	if strings.Contains(rest, ":{") || rest == "layout" || rest == "moved" {
		k.how = moveNew
		return k
	}
	switch rest {
	case "msgs:pending", "msgs:inflight", "notify:owed", "notify:tries":
		k.how, k.split = moveSplit, rest
		return k
	case "dead":
		k.kind = "dead letter list"
		return fixed("dead:{dead}")
	case "dead:info":
		k.kind = "dead letter list"
		return fixed("dead:{dead}:info")
	case "apikeys":
		k.kind = "api key index"
		return fixed("apikeys:" + keysTag)
	case "apikeys:version":
		k.kind = "api key index"
		return fixed("apikeys:" + keysTag + ":version")
	case "audit":
		k.kind = "audit trail"
		return fixed("audit:{audit}")
	case "workers":
		k.how, k.kind = moveDrop, "worker registry"
		return k
	}
	kind, after, _ := strings.Cut(rest, ":")
	switch kind {
	case "ben":
		id, more, _ := strings.Cut(after, ":")
		if more == "doses" {
			k.how, k.kind = moveMerged, "dose list"
			return k
		}
		k.kind, k.record = "beneficiary", true
		return inShard(id, "ben:")
	case "appt":
		k.kind, k.record = "appointment", true
		return inShard(after, "appt:")
	case "msg":
		k.kind, k.record = "message", true
		return inShard(after, "msg:")
	case "resend":
		_, id, _ := strings.Cut(after, ":")
		k.kind = "resend limit"
		return inShard(id, "resend:")
	case "cert":
		k.kind = "certificate"
		return fixed("cert:" + tag(shardOfID(after)) + ":" + after)
	case "center":
		k.kind = "centre"
		return fixed("center:" + centersTag + ":" + after)
	case "apikey":
		k.kind = "api key"
		return fixed("apikey:" + keysTag + ":" + after)
	case "session":
		k.kind = "web session"
		return fixed("session:" + keysTag + ":" + after)
	case "audit":
		k.kind = "audit trail"
		return fixed("audit:{audit}:" + after)
	case "mobile", "replies", "calls":
		mobile, _, _ := strings.Cut(after, ":")
		k.how, k.mobile = moveByMobile, mobile
		k.kind = map[string]string{"mobile": "mobile's record", "replies": "reply limit", "calls": "missed-call limit"}[kind]
		k.to = func(sh string) string { return kind + ":" + tag(sh) + ":" + after }
		return k
	case "limit":
		if mobile, ok := strings.CutPrefix(after, "kyvs-mobile:"); ok {
			k.how, k.mobile, k.kind = moveByMobile, mobile, "otp budget"
			k.to = func(sh string) string { return "limit:" + tag(sh) + ":" + mobile + ":kyvs" }
			return k
		}
		k.how = moveKeep
		return k
	case "inbound":
		k.how, k.kind = moveByValue, "inbound id"
		k.to = func(sh string) string { return "inbound:" + tag(sh) + ":" + after }
		return k
	case "idem":
		k.how, k.kind = moveIdem, "idempotency answer"
		k.to = func(tag string) string { return "idem:" + tag + ":" + after }
		return k
	case "dues", "due":
		k.how, k.split, k.date, k.kind = moveSplit, kind, after, "due list"
		return k
	case "reminders":
		k.how, k.date, k.kind = moveRun, after, "reminder run"
		return k
	case "kyvs":
		k.how, k.kind = moveDrop, "kyvs transaction"
		return k
	case "ussd":
		k.how, k.kind = moveDrop, "ussd session"
		return k
	case "worker":
		k.how, k.kind = moveDrop, "worker heartbeat"
		return k
	case "pmid", "card", "marker", "turn", "stats", "breaker", "tps":
		k.how = moveKeep
		return k
	}
	k.how = moveUnknown
	return k
}

// copyRecords writes every record of the earlier layout in this one, a
// batch of keys at a time; the shared sets and runs wait in m.later.
func (m *migration) copyRecords(ctx context.Context) error {
	return scanOn(ctx, m.src, m.s.prefix+"*", "", migrateBatch, func(names []string) error {
		var batch []oldKey
		for _, name := range names {
			k := classify(strings.TrimPrefix(name, m.s.prefix))
			k.name = name
			switch k.how {
			case moveNew, moveMerged:
			case moveDrop:
				m.report.Dropped[k.kind]++
			case moveUnknown:
				if len(m.report.Unknown) < 20 {
					m.report.Unknown = append(m.report.Unknown, name)
				}
				m.report.Unknowns++
			case moveSplit, moveRun:
				m.later = append(m.later, k)
			case moveKeep:
				if !m.inPlace {
					batch = append(batch, k)
				}
			default:
				batch = append(batch, k)
			}
		}
		return m.copyBatch(ctx, batch)
	})
}

// copyBatch finds the shard of every key of batch, then copies them
// (read by type, each written whole with its TTL: value) with the pointers
// of the records that moved.
func (m *migration) copyBatch(ctx context.Context, batch []oldKey) error {
	if len(batch) == 0 {
		return nil
	}
	dest, err := m.destinations(ctx, batch)
	if err != nil {
		return err
	}
	vals, err := readValues(ctx, m.src, batch, dest)
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	if err := m.mergeDoseLists(ctx, batch, vals); err != nil {
		return fmt.Errorf("read dose lists: %w", err)
	}
	_, err = m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range batch {
			v := vals[i]
			if dest[i] == "" || v == nil {
				continue // named no record, or expired meanwhile
			}
			v.write(ctx, p, dest[i])
			m.report.Written[k.kind]++
			if k.record {
				if sh := shardInKey(dest[i]); sh != shardOfID(k.id) {
					p.Set(ctx, m.s.movedKey(k.id), sh, v.ttl)
					m.report.Pointers++
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// value is a key's content as read, by type, to be written under another
// name: a copy by commands rather than DUMP/RESTORE, whose payload a
// server of an older version than the source refuses.
type value struct {
	kind string
	str  string
	hash map[string]string
	list []string
	zset []redis.Z
	ttl  time.Duration // 0: none
}

// readValues reads the keys of batch that have a destination, in two
// round trips (their types and TTLs, then their contents); nil for a key
// gone meanwhile.
func readValues(ctx context.Context, src redis.UniversalClient, batch []oldKey, dest []string) ([]*value, error) {
	types := make([]*redis.StatusCmd, len(batch))
	ttls := make([]*redis.DurationCmd, len(batch))
	if _, err := src.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range batch {
			if dest[i] != "" {
				types[i], ttls[i] = p.Type(ctx, k.name), p.PTTL(ctx, k.name)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]*value, len(batch))
	reads := make([]redis.Cmder, len(batch))
	if _, err := src.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range batch {
			if types[i] == nil {
				continue
			}
			v := &value{kind: types[i].Val(), ttl: max(ttls[i].Val(), 0)}
			switch v.kind {
			case "string":
				reads[i] = p.Get(ctx, k.name)
			case "hash":
				reads[i] = p.HGetAll(ctx, k.name)
			case "list":
				reads[i] = p.LRange(ctx, k.name, 0, -1)
			case "set":
				reads[i] = p.SMembers(ctx, k.name)
			case "zset":
				reads[i] = p.ZRangeWithScores(ctx, k.name, 0, -1)
			default:
				continue // gone ("none"), or a type no version of ours writes
			}
			out[i] = v
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, v := range out {
		if v == nil {
			continue
		}
		var err error
		switch c := reads[i].(type) {
		case *redis.StringCmd:
			v.str, err = c.Result()
		case *redis.MapStringStringCmd:
			v.hash, err = c.Result()
		case *redis.StringSliceCmd:
			v.list, err = c.Result()
		case *redis.ZSliceCmd:
			v.zset, err = c.Result()
		}
		if errors.Is(err, redis.Nil) || err == nil && v.empty() {
			out[i] = nil // expired between the reads
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", batch[i].name, err)
		}
	}
	return out, nil
}

func (v *value) empty() bool {
	switch v.kind {
	case "hash":
		return len(v.hash) == 0
	case "list", "set":
		return len(v.list) == 0
	case "zset":
		return len(v.zset) == 0
	}
	return false
}

// write replaces key with v, in p.
func (v *value) write(ctx context.Context, p redis.Pipeliner, key string) {
	p.Del(ctx, key)
	switch v.kind {
	case "string":
		p.Set(ctx, key, v.str, v.ttl)
		return
	case "hash":
		p.HSet(ctx, key, v.hash)
	case "list":
		p.RPush(ctx, key, anys(v.list)...)
	case "set":
		p.SAdd(ctx, key, anys(v.list)...)
	case "zset":
		p.ZAdd(ctx, key, v.zset...)
	}
	if v.ttl > 0 {
		p.PExpire(ctx, key, v.ttl)
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// mergeDoseLists turns the dose lists that versions before the dose
// fields kept (ben:<id>:doses, JSON a dose) into their beneficiary's
// fields, as the dose step writes them: this layout reads no lists.
func (m *migration) mergeDoseLists(ctx context.Context, batch []oldKey, vals []*value) error {
	lists := map[int]*redis.StringSliceCmd{}
	if _, err := m.src.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range batch {
			if v := vals[i]; v != nil && k.kind == "beneficiary" && v.kind == "hash" && v.hash["doses"] == "" {
				lists[i] = p.LRange(ctx, k.name+":doses", 0, -1)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for i, c := range lists {
		entries := c.Val()
		if len(entries) == 0 {
			continue
		}
		h := vals[i].hash
		for n, raw := range entries {
			d, err := parseStoredDose(raw)
			if err != nil {
				return fmt.Errorf("%s:doses[%d]: %w", batch[i].name, n, err)
			}
			maps.Copy(h, doseFields(n+1, storedDose(d)))
		}
		h["doses"] = strconv.Itoa(len(entries))
		m.report.Written["dose list, now fields"]++
	}
	return nil
}

// shardInKey is the shard of a key with a citizen's tag.
func shardInKey(key string) string {
	_, after, _ := strings.Cut(key, "{c")
	return after[:3]
}

// destinations is the new name of each key of batch; "" for one that
// names no record (left behind, counted).
func (m *migration) destinations(ctx context.Context, batch []oldKey) ([]string, error) {
	var ids []string
	values := map[int]*redis.StringCmd{}
	answers := map[int]*redis.MapStringStringCmd{}
	if _, err := m.src.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range batch {
			switch k.how {
			case moveByRecord:
				ids = append(ids, k.id)
			case moveByValue:
				values[i] = p.Get(ctx, k.name)
			case moveIdem:
				answers[i] = p.HGetAll(ctx, k.name)
			}
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read records: %w", err)
	}
	named := map[int][]string{} // the ids an idempotency answer names
	for _, c := range values {
		ids = append(ids, c.Val())
	}
	for i, c := range answers {
		named[i] = idsIn(c.Val())
		ids = append(ids, named[i]...)
	}
	shards, err := m.shardsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	centres, err := m.centres(ctx, answers)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(batch))
	for i, k := range batch {
		var to string
		switch k.how {
		case moveTo:
			to = k.to("")
		case moveKeep:
			to = strings.TrimPrefix(k.name, m.s.prefix)
		case moveByRecord:
			if sh := shards[k.id]; sh != "" {
				to = k.to(sh)
			}
		case moveByMobile:
			to = k.to(shardOfMobile(k.mobile))
		case moveByValue:
			if sh := shards[values[i].Val()]; sh != "" {
				to = k.to(sh)
			}
		case moveIdem:
			for _, id := range named[i] {
				if sh := shards[id]; sh != "" {
					to = k.to(tag(sh))
					break
				}
			}
			if to == "" && centres[i] {
				to = k.to(centersTag)
			}
		}
		if to == "" {
			m.report.Dropped[k.kind+" naming no record"]++
			continue
		}
		out[i] = m.s.prefix + to
	}
	return out, nil
}

// idsIn lists the strings in an idempotency answer's fields (and in the
// JSON of its bodies) that could be ids of records.
func idsIn(h map[string]string) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if mayHaveMoved(v) {
				out = append(out, v)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	fields := make([]string, 0, len(h))
	for f := range h {
		fields = append(fields, f)
	}
	slices.Sort(fields) // the same answer names the same record first
	for _, f := range fields {
		var v any
		if json.Unmarshal([]byte(h[f]), &v) == nil {
			walk(v)
		} else {
			walk(h[f])
		}
	}
	return out
}

// centres tells which idempotency answers are a centre's creation: a
// body whose "id" is a centre's.
func (m *migration) centres(ctx context.Context, answers map[int]*redis.MapStringStringCmd) (map[int]bool, error) {
	ids := map[int]string{}
	for i, c := range answers {
		var body struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(c.Val()["body"]), &body) == nil && body.ID != "" && validID(body.ID) {
			ids[i] = body.ID
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	exists := map[int]*redis.IntCmd{}
	if _, err := m.src.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			exists[i] = p.Exists(ctx, m.s.prefix+"center:"+id)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read centres: %w", err)
	}
	out := map[int]bool{}
	for i, c := range exists {
		out[i] = c.Val() == 1
	}
	return out, nil
}

// shardsOf finds the citizen's shard of each record ids name — a
// beneficiary (14 digits), an appointment or a message (27 hex) — in the
// earlier layout: the beneficiary's mobile's, the appointment's
// beneficiary's, the message's citizen's. "" for an id that names none.
func (m *migration) shardsOf(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	var ask []string
	for _, id := range ids {
		if sh, ok := m.shards.Get(id); ok {
			out[id] = sh
		} else if _, asked := out[id]; !asked {
			out[id] = ""
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	bens := map[string]*redis.SliceCmd{}
	appts := map[string]*redis.StringCmd{}
	msgs := map[string]*redis.SliceCmd{}
	if _, err := m.src.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ask {
			if allDigits(id, 14) {
				bens[id] = p.HMGet(ctx, m.s.prefix+"ben:"+id, "id", "mobile")
			} else if validID(id) {
				appts[id] = p.HGet(ctx, m.s.prefix+"appt:"+id, "ben")
				msgs[id] = p.HMGet(ctx, m.s.prefix+"msg:"+id, "dir", "from", "to")
			}
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("find shards: %w", err)
	}
	found := func(id, sh string) {
		out[id] = sh
		m.shards.Put(id, sh)
	}
	for id, c := range bens {
		if v := c.Val(); len(v) == 2 && v[0] != nil {
			found(id, shardOfMobile(str(v[1])))
		}
	}
	for id, c := range msgs {
		v := c.Val()
		if len(v) != 3 || v[2] == nil && v[1] == nil {
			continue
		}
		if str(v[0]) == "in" {
			found(id, shardOfMobile(str(v[1])))
		} else {
			found(id, shardOfMobile(str(v[2])))
		}
	}
	owners := map[string][]string{} // beneficiary → their appointments
	var of []string
	for id, c := range appts {
		if ben, err := c.Result(); err == nil && ben != "" {
			if _, ok := owners[ben]; !ok {
				of = append(of, ben)
			}
			owners[ben] = append(owners[ben], id)
		}
	}
	if len(of) > 0 {
		benShards, err := m.shardsOf(ctx, of)
		if err != nil {
			return nil, err
		}
		for ben, appts := range owners {
			if sh := benShards[ben]; sh != "" {
				for _, id := range appts {
					found(id, sh)
				}
			}
		}
	}
	return out, nil
}

// split writes a shared set, list or run of the earlier layout in the
// shards of its members.
func (m *migration) split(ctx context.Context, k oldKey) error {
	switch k.how {
	case moveRun:
		return m.convertRun(ctx, k)
	}
	switch k.split {
	case "msgs:pending":
		return m.splitSorted(ctx, k, m.s.pendingKey, ownID)
	case "msgs:inflight":
		return m.splitSorted(ctx, k, m.s.inflightKey, ownID)
	case "notify:owed":
		return m.splitSorted(ctx, k, m.s.notificationsKey, firstNamed)
	case "notify:tries":
		return m.splitTries(ctx, k)
	case "dues", "due":
		return m.splitDue(ctx, k)
	}
	return fmt.Errorf("no way to split %s", k.split)
}

func ownID(member string) string { return member }

func firstNamed(n string) string {
	_, ids := ParseNotification(n)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// splitSorted copies the sorted set k into the sets key names for the
// shard of each member's record (named by ref), scores kept.
func (m *migration) splitSorted(ctx context.Context, k oldKey, key func(shard string) string, ref func(member string) string) error {
	const page = 1000
	for start := int64(0); ; start += page {
		zs, err := m.src.ZRangeWithScores(ctx, k.name, start, start+page-1).Result()
		if err != nil {
			return err
		}
		if len(zs) == 0 {
			return nil
		}
		refs := make([]string, len(zs))
		for i, z := range zs {
			refs[i] = ref(str(z.Member))
		}
		shards, err := m.shardsOf(ctx, refs)
		if err != nil {
			return err
		}
		if _, err := m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, z := range zs {
				if sh := shards[refs[i]]; sh != "" {
					p.ZAdd(ctx, key(sh), z)
					m.report.Written[k.split+" entry"]++
				} else {
					m.report.Dropped[k.split+" entry naming no record"]++
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
}

// splitTries copies the failed payments of each debt into its shard.
func (m *migration) splitTries(ctx context.Context, k oldKey) error {
	h, err := m.src.HGetAll(ctx, k.name).Result()
	if err != nil {
		return err
	}
	refs := make([]string, 0, len(h))
	for n := range h {
		refs = append(refs, firstNamed(n))
	}
	shards, err := m.shardsOf(ctx, refs)
	if err != nil {
		return err
	}
	_, err = m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n, tries := range h {
			if sh := shards[firstNamed(n)]; sh != "" {
				p.HSet(ctx, m.s.debtTriesKey(sh), n, tries)
				m.report.Written["debt tries"]++
			}
		}
		return nil
	})
	return err
}

// splitDue rebuilds the due lists of a date from its list (or the sorted
// set of a version before it), in order, a page at a time: each shard's
// list is emptied first and written whole, so a second run writes the same.
func (m *migration) splitDue(ctx context.Context, k oldKey) error {
	ttl, err := m.src.PTTL(ctx, k.name).Result()
	if err != nil {
		return err
	}
	key := func(i int) string { return m.s.dueKey(shardAt(i), k.date) }
	if _, err := m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range shardCount {
			p.Del(ctx, key(i))
		}
		return nil
	}); err != nil {
		return err
	}
	const page = 10_000
	written := map[string]bool{}
	for start := int64(0); ; start += page {
		var ids []string
		if k.split == "due" {
			ids, err = m.src.ZRange(ctx, k.name, start, start+page-1).Result()
		} else {
			ids, err = m.src.LRange(ctx, k.name, start, start+page-1).Result()
		}
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		shards, err := m.shardsOf(ctx, ids)
		if err != nil {
			return err
		}
		lists := map[string][]any{}
		for _, id := range ids {
			if sh := shards[id]; sh != "" {
				lists[sh] = append(lists[sh], id)
			} else {
				m.report.Dropped["due entry naming no record"]++
			}
		}
		if _, err := m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for sh, ids := range lists {
				p.RPush(ctx, m.s.dueKey(sh, k.date), ids...)
				written[sh] = true
				m.report.Written["due entry"] += len(ids)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if ttl <= 0 {
		return nil
	}
	_, err = m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh := range written {
			p.PExpire(ctx, m.s.dueKey(sh, k.date), ttl)
		}
		return nil
	})
	return err
}

// convertRun writes the earlier layout's reminder run for a date as this
// one keeps it: its state and start in the run's record, its counts in
// the first shard's. A run that was under way is resumed from the first
// shard; its steps meet the beneficiaries it reminded as repeats (their
// records carry the run's start) and neither send nor count again.
func (m *migration) convertRun(ctx context.Context, k oldKey) error {
	h, err := m.src.HGetAll(ctx, k.name).Result()
	if err != nil {
		return err
	}
	if len(h) == 0 || h["epoch"] != "" {
		return nil // gone, or already this layout's (a second run in place)
	}
	ttl, err := m.src.PTTL(ctx, k.name).Result()
	if err != nil {
		return err
	}
	if ttl < 0 {
		ttl = 0
	}
	run := []any{"state", h["state"], "started_at", h["started_at"], "epoch", 1, "shard", 0}
	for _, f := range []string{"finished_at", "runner", "lease_until"} {
		if h[f] != "" {
			run = append(run, f, h[f])
		}
	}
	counts := []any{"run", h["started_at"], "epoch", 1, "cursor", 0}
	for _, f := range []string{"due", RemindQueued, RemindOptedOut, RemindAlreadySent, RemindBooked} {
		if h[f] != "" {
			counts = append(counts, f, h[f])
		}
	}
	first := m.s.reminderShardKey(shardAt(0), k.date)
	runKey := m.s.reminderRunKey(k.date)
	// The shard's record first: the run's, rewritten last and at once,
	// says the conversion is done.
	if _, err := m.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, first)
		p.HSet(ctx, first, counts...)
		if ttl > 0 {
			p.PExpire(ctx, first, ttl)
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := m.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, runKey)
		p.HSet(ctx, runKey, run...)
		if ttl > 0 {
			p.PExpire(ctx, runKey, ttl)
		}
		return nil
	}); err != nil {
		return err
	}
	m.report.Written[k.kind]++
	return nil
}

// removeEarlier removes, in place, every key of the earlier layout once
// the data is in this one.
func (m *migration) removeEarlier(ctx context.Context) error {
	return scanOn(ctx, m.s.rdb, m.s.prefix+"*", "", migrateBatch, func(names []string) error {
		var gone []string
		for _, name := range names {
			switch classify(strings.TrimPrefix(name, m.s.prefix)).how {
			case moveNew, moveKeep, moveRun, moveUnknown:
			default:
				gone = append(gone, name)
			}
		}
		cmds := make([]*redis.IntCmd, len(gone))
		_, err := m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, name := range gone {
				cmds[i] = p.Unlink(ctx, name)
			}
			return nil
		})
		for _, c := range cmds {
			m.report.Removed += int(c.Val())
		}
		return err
	})
}
