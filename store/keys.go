package store

// Every Redis key Sandesh writes is built here, under one prefix, so an
// operator can find (or flush) all of it and nothing else.

func (s *Store) messageKey(id string) string { return s.prefix + "msg:" + id }

func (s *Store) historyKey(mobile string) string { return s.prefix + "mobile:" + mobile + ":msgs" }

// pendingKey holds every message not yet handed to a provider, scored by
// creation time, so a sweeper can re-enqueue one whose task was lost.
func (s *Store) pendingKey() string { return s.prefix + "msgs:pending" }

func (s *Store) providerMessageKey(provider, providerMsgID string) string {
	return s.prefix + "pmid:" + provider + ":" + providerMsgID
}
