package store

import "strings"

// Every Redis key Sandesh writes is built here, under one prefix, so an
// operator can find (or flush) all of it and nothing else.

func (s *Store) messageKey(id string) string { return s.prefix + "msg:" + id }

func (s *Store) historyKey(mobile string) string { return s.prefix + "mobile:" + mobile + ":msgs" }

func (s *Store) ussdHistoryKey(mobile string) string { return s.prefix + "mobile:" + mobile + ":ussd" }

func (s *Store) ussdKey(id string) string { return s.prefix + "ussd:" + id }

// pendingKey holds every message not yet handed to a provider, scored by
// creation time, so a sweeper can re-enqueue one whose task was lost.
func (s *Store) pendingKey() string { return s.prefix + "msgs:pending" }

// inflightKey holds every message a worker has claimed and not yet
// finished, scored by claim time, so that the claims of a worker that died
// can be found and rescued.
func (s *Store) inflightKey() string { return s.prefix + "msgs:inflight" }

// workerKey is a live worker's heartbeat; it expires when the worker dies.
func (s *Store) workerKey(id string) string { return s.prefix + "worker:" + id }

// workersKey registers every worker that beat, scored by its last beat, so
// that one which died is still known after its heartbeat expired.
func (s *Store) workersKey() string { return s.prefix + "workers" }

func (s *Store) providerMessageKey(provider, providerMsgID string) string {
	return s.prefix + "pmid:" + provider + ":" + providerMsgID
}

func (s *Store) apiKeyKey(hash string) string { return s.prefix + "apikey:" + hash }

func (s *Store) apiKeyIndexKey() string { return s.prefix + "apikeys" }

// apiKeysVersionKey counts the changes to API keys (each creation and
// revocation), so that every process can tell its cached keys are stale
// with one GET (see KeyCache).
func (s *Store) apiKeysVersionKey() string { return s.prefix + "apikeys:version" }

func (s *Store) centerKey(id string) string { return s.prefix + "center:" + id }

func (s *Store) beneficiaryKey(id string) string { return s.prefix + "ben:" + id }

// dosesKey lists a beneficiary's doses in the order given; position+1 is
// the dose number.
func (s *Store) dosesKey(beneficiaryID string) string {
	return s.prefix + "ben:" + beneficiaryID + ":doses"
}

// mobileBeneficiariesKey holds the beneficiaries registered on a mobile,
// scored in registration order.
func (s *Store) mobileBeneficiariesKey(mobile string) string {
	return s.prefix + "mobile:" + mobile + ":bens"
}

func (s *Store) appointmentKey(id string) string { return s.prefix + "appt:" + id }

// certificateKey reserves a certificate id so that no two doses share one.
func (s *Store) certificateKey(id string) string { return s.prefix + "cert:" + id }

func (s *Store) idempotencyKey(scope, key string) string {
	return s.prefix + "idem:" + scope + ":" + key
}

// resendLimitKey logs recent resends for a sliding-window limit.
func (s *Store) resendLimitKey(subject string) string { return s.prefix + "resend:" + subject }

func (s *Store) auditKey() string { return s.prefix + "audit" }

func (s *Store) auditActorKey(keyID string) string { return s.prefix + "audit:actor:" + keyID }

// auditMobileKey is keyed by a keyed hash of the mobile, so the key names
// in Redis do not list citizens' numbers.
func (s *Store) auditMobileKey(hash string) string { return s.prefix + "audit:mobile:" + hash }

func (s *Store) markerKey(name string) string { return s.prefix + "marker:" + name }

// inboundKey remembers a provider's inbound message id, so a webhook the
// provider retries is handled once.
func (s *Store) inboundKey(provider, providerMsgID string) string {
	return s.prefix + "inbound:" + provider + ":" + providerMsgID
}

// mobileKey holds what a mobile chose: reply language, opt-out.
func (s *Store) mobileKey(mobile string) string { return s.prefix + "mobile:" + mobile }

// replyLimitKey logs automatic replies to a mobile for a sliding window.
func (s *Store) replyLimitKey(mobile string) string { return s.prefix + "replies:" + mobile }

// callLimitKey logs the answers to a mobile's missed calls, as replyLimitKey.
func (s *Store) callLimitKey(mobile string) string { return s.prefix + "calls:" + mobile }

// notificationsKey holds the SMS owed for changes already made, scored by
// when they became owed.
func (s *Store) notificationsKey() string { return s.prefix + "notify:owed" }

// kyvsKey holds one Know-Your-Vaccination-Status transaction: who asked,
// about whom, the OTP's keyed hash, tries left.
func (s *Store) kyvsKey(txn string) string { return s.prefix + "kyvs:" + txn }

// limitKey logs events for a named sliding-window limit.
func (s *Store) limitKey(name string) string { return s.prefix + "limit:" + name }

// sessionKey holds a web session under the keyed hash of its id.
func (s *Store) sessionKey(hash string) string { return s.prefix + "session:" + hash }

// cardKey maps the keyed hash of a status-card token to its beneficiary.
func (s *Store) cardKey(hash string) string { return s.prefix + "card:" + hash }

// keyParts splits the key each build makes for an id into what stands
// before and after the id, as script arguments in that order, for a script
// that names keys from ids it reads in the same step (read_people, the KYVS
// confirm): the keys' shape stays defined here.
func keyParts(builds ...func(id string) string) []any {
	args := make([]any, 0, 2*len(builds))
	for _, build := range builds {
		before, after, _ := strings.Cut(build("\x00"), "\x00")
		args = append(args, before, after)
	}
	return args
}

// deadKey orders the dead letters (deadInfoKey's members) by when they
// died; deadInfoKey describes each. debtTriesKey counts a debt's failed
// payments.
func (s *Store) deadKey() string      { return s.prefix + "dead" }
func (s *Store) deadInfoKey() string  { return s.prefix + "dead:info" }
func (s *Store) debtTriesKey() string { return s.prefix + "notify:tries" }

// dueKey lists the beneficiaries whose next dose opens on date
// (YYYY-MM-DD), in the order their doses were recorded: a list of ids takes
// about 10 bytes of Redis an entry against a sorted set's 103 (one per
// dose given). Entries are never taken out (that would cost a scan of
// the list): one whose beneficiary moved on is passed over by the run.
func (s *Store) dueKey(date string) string { return s.prefix + "dues:" + date }

// legacyDueKey is the sorted set dueKey replaced; ReindexDue moves what one
// holds into the list.
func (s *Store) legacyDueKey(date string) string { return s.prefix + "due:" + date }

// reminderRunKey is the state and counts of the reminder run for date.
func (s *Store) reminderRunKey(date string) string { return s.prefix + "reminders:" + date }

// turnKey names the process whose turn it is to run a periodic job
// (TakeTurn).
func (s *Store) turnKey(job string) string { return s.prefix + "turn:" + job }
