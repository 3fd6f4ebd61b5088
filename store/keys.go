package store

import "strings"

// Every Redis key Sandesh writes is built here, under one prefix, so an
// operator can find (or flush) all of it and nothing else.

// A key a request's step touches carries its citizen's shard tag (see
// tags.go): taken from the id for a record named by id, from the mobile
// for what is kept per mobile. Records shared by everybody that a step
// writes together (centres, API keys and sessions, audit, dead letters,
// workers) carry a tag of their own; the rest are single keys.

// KeyOf is the key of the record of kind ("ben", "appt", "msg") named id,
// for tests and tools that read Redis directly.
func (s *Store) KeyOf(kind, id string) string { return s.inShard(kind+":", id) }

// MobileKeyOf is the key of kind ("mobile", "replies", "calls") for
// mobile, with suffix (":msgs", ":bens", or ""), as KeyOf.
func (s *Store) MobileKeyOf(kind, mobile, suffix string) string {
	return s.ofMobile(kind+":", mobile, suffix)
}

// inShard builds the key of kind for id in the shard the id names.
func (s *Store) inShard(kind, id string) string {
	return s.prefix + kind + tag(s.shardOf(id)) + ":" + id
}

// ofMobile builds the key of kind for mobile in the mobile's shard.
func (s *Store) ofMobile(kind, mobile, suffix string) string {
	return s.prefix + kind + tag(shardOfMobile(mobile)) + ":" + mobile + suffix
}

func (s *Store) messageKey(id string) string { return s.inShard("msg:", id) }

func (s *Store) historyKey(mobile string) string { return s.ofMobile("mobile:", mobile, ":msgs") }

func (s *Store) ussdHistoryKey(mobile string) string { return s.ofMobile("mobile:", mobile, ":ussd") }

// ussdKey is a USSD session of mobile's, under the keyed hash of its
// provider's id.
func (s *Store) ussdKey(mobile, id string) string {
	return s.prefix + "ussd:" + tag(shardOfMobile(mobile)) + ":" + id
}

// pendingKey holds every message of shard not yet handed to a provider,
// scored by creation time, so a sweeper can re-enqueue one whose task was
// lost.
func (s *Store) pendingKey(shard string) string { return s.prefix + "msgs:pending:" + tag(shard) }

// inflightKey holds every message of shard a worker has claimed and not
// yet finished, scored by claim time, so that the claims of a worker that
// died can be found and rescued.
func (s *Store) inflightKey(shard string) string { return s.prefix + "msgs:inflight:" + tag(shard) }

// workerKey is a live worker's heartbeat; it expires when the worker dies.
// It shares the tag {workers} with workersKey: a beat writes both at once.
func (s *Store) workerKey(id string) string { return s.prefix + "worker:{workers}:" + id }

// workersKey registers every worker that beat, scored by its last beat, so
// that one which died is still known after its heartbeat expired.
func (s *Store) workersKey() string { return s.prefix + "workers:{workers}" }

func (s *Store) providerMessageKey(provider, providerMsgID string) string {
	return s.prefix + "pmid:" + provider + ":" + providerMsgID
}

// API keys, their index and version, and web sessions (which end with
// their key) share the tag {keys}: creating, re-keying and revoking a key,
// and loading a session, are steps over several of them. They are few and
// each process caches them (KeyCache).
const keysTag = "{keys}"

func (s *Store) apiKeyKey(hash string) string { return s.prefix + "apikey:" + keysTag + ":" + hash }

func (s *Store) apiKeyIndexKey() string { return s.prefix + "apikeys:" + keysTag }

// apiKeysVersionKey counts the changes to API keys (each creation and
// revocation), so that every process can tell its cached keys are stale
// with one GET (see KeyCache).
func (s *Store) apiKeysVersionKey() string { return s.prefix + "apikeys:" + keysTag + ":version" }

// centerKey is a centre's record. Every centre is on one slot, with the
// idempotency records of the requests that created them (centersTag), so
// that a key reused for another centre is told apart; they are few, never
// change, and each process caches those it read (KnownCenter).
func (s *Store) centerKey(id string) string { return s.prefix + "center:" + centersTag + ":" + id }

const centersTag = "{centers}"

func (s *Store) beneficiaryKey(id string) string { return s.inShard("ben:", id) }

// mobileBeneficiariesKey holds the beneficiaries registered on a mobile,
// scored in registration order.
func (s *Store) mobileBeneficiariesKey(mobile string) string {
	return s.ofMobile("mobile:", mobile, ":bens")
}

func (s *Store) appointmentKey(id string) string { return s.inShard("appt:", id) }

// certificateKey reserves a certificate id so that no two doses share one.
func (s *Store) certificateKey(id string) string { return s.inShard("cert:", id) }

// idempotencyKey keeps the answers of a request under an Idempotency-Key,
// beside what the request changes: under tag, the tag of the citizen's
// shard, or centersTag for a centre's creation.
func (s *Store) idempotencyKey(tag, scope, key string) string {
	return s.prefix + "idem:" + tag + ":" + scope + ":" + key
}

// resendLimitKey logs recent resends of subject ("appt:<id>" or
// "ben:<id>") for a sliding-window limit, in the shard of the id.
func (s *Store) resendLimitKey(subject string) string {
	_, id, _ := strings.Cut(subject, ":")
	return s.prefix + "resend:" + tag(s.shardOf(id)) + ":" + subject
}

// The trail and its indexes share the tag {audit}: an entry joins them in
// one transaction.
func (s *Store) auditKey() string { return s.prefix + "audit:{audit}" }

func (s *Store) auditActorKey(keyID string) string { return s.prefix + "audit:{audit}:actor:" + keyID }

// auditMobileKey is keyed by a keyed hash of the mobile, so the key names
// in Redis do not list citizens' numbers.
func (s *Store) auditMobileKey(hash string) string { return s.prefix + "audit:{audit}:mobile:" + hash }

func (s *Store) markerKey(name string) string { return s.prefix + "marker:" + name }

// inboundKey remembers a provider's inbound message id, so a webhook the
// provider retries is handled once; it lives in the sender's shard.
func (s *Store) inboundKey(from, provider, providerMsgID string) string {
	return s.prefix + "inbound:" + tag(shardOfMobile(from)) + ":" + provider + ":" + providerMsgID
}

// mobileKey holds what a mobile chose: reply language, opt-out.
func (s *Store) mobileKey(mobile string) string { return s.ofMobile("mobile:", mobile, "") }

// unusedKey stands in a script's KEYS for an optional key the step does
// not touch, in the step's shard: a cluster refuses a script whose keys
// span slots even when it leaves some alone. Nothing is ever written there.
func (s *Store) unusedKey(shard string) string { return s.prefix + "unused:" + tag(shard) }

// mobileKeyParts is what stands before and after a mobile of shard in
// its mobileKey, for a script that names the key from a mobile it reads.
func (s *Store) mobileKeyParts(shard string) []any {
	return []any{s.prefix + "mobile:" + tag(shard) + ":", ""}
}

// replyLimitKey logs automatic replies to a mobile for a sliding window.
func (s *Store) replyLimitKey(mobile string) string { return s.ofMobile("replies:", mobile, "") }

// callLimitKey logs the answers to a mobile's missed calls, as replyLimitKey.
func (s *Store) callLimitKey(mobile string) string { return s.ofMobile("calls:", mobile, "") }

// otpBudgetKey logs the KYVS OTP SMS sent to a mobile for its hourly budget.
func (s *Store) otpBudgetKey(mobile string) string { return s.ofMobile("limit:", mobile, ":kyvs") }

// notificationsKey holds the SMS owed in shard for changes already made,
// scored by when they became owed.
func (s *Store) notificationsKey(shard string) string { return s.prefix + "notify:owed:" + tag(shard) }

// kyvsKey holds one Know-Your-Vaccination-Status transaction: who asked,
// about whom, the OTP's keyed hash, tries left.
func (s *Store) kyvsKey(txn string) string { return s.inShard("kyvs:", txn) }

// limitKey logs events for a named sliding-window limit.
func (s *Store) limitKey(name string) string { return s.prefix + "limit:" + name }

// sessionKey holds a web session under the keyed hash of its id.
func (s *Store) sessionKey(hash string) string { return s.prefix + "session:" + keysTag + ":" + hash }

// cardKey maps the keyed hash of a status-card token to its beneficiary.
func (s *Store) cardKey(hash string) string { return s.prefix + "card:" + hash }

// keyParts splits the key each build makes for an id of shard into what
// stands before and after the id, as script arguments in that order, for a
// script that names keys from ids it reads in the same step (read_people,
// the KYVS confirm): the keys' shape stays defined here. Every id such a
// step reads is of the shard of the keys it was given.
func keyParts(shard string, builds ...func(id string) string) []any {
	args := make([]any, 0, 2*len(builds))
	for _, build := range builds {
		before, after, _ := strings.Cut(build(shard+"\x00"), "\x00")
		args = append(args, before[:len(before)-len(shard)], after)
	}
	return args
}

// deadKey orders the dead letters (deadInfoKey's members) by when they
// died; deadInfoKey describes each. debtTriesKey counts a debt's failed
// payments.
// The two share the tag {dead}: one step lists a letter in both.
func (s *Store) deadKey() string                  { return s.prefix + "dead:{dead}" }
func (s *Store) deadInfoKey() string              { return s.prefix + "dead:{dead}:info" }
func (s *Store) debtTriesKey(shard string) string { return s.prefix + "notify:tries:" + tag(shard) }

// dueKey lists the beneficiaries of shard whose next dose opens on date
// (YYYY-MM-DD), in the order their doses were recorded: a list of ids takes
// about 10 bytes of Redis an entry against a sorted set's 103 (one per
// dose given). Entries are never taken out (that would cost a scan of
// the list): one whose beneficiary moved on is passed over by the run.
// A day's lists expire with the retention once its run is done.
func (s *Store) dueKey(shard, date string) string {
	return s.prefix + "dues:" + tag(shard) + ":" + date
}

// reminderRunKey is the state of the reminder run for date: who holds it,
// until when, which shard it is at.
func (s *Store) reminderRunKey(date string) string { return s.prefix + "reminders:" + date }

// reminderShardKey is the run for date in one shard: its fence, its
// position in the shard's due list and its counts, written by the step of
// each beneficiary of the shard.
func (s *Store) reminderShardKey(shard, date string) string {
	return s.prefix + "reminders:" + tag(shard) + ":" + date
}

// turnKey names the process whose turn it is to run a periodic job
// (TakeTurn).
func (s *Store) turnKey(job string) string { return s.prefix + "turn:" + job }
