package store

import (
	"context"
	"fmt"
)

// Profile is what a beneficiary registered with. None of it changes after
// registration (no route edits a beneficiary), so each process may keep it.
type Profile struct {
	ID        string
	Name      string
	Mobile    string // E.164
	BirthYear int
	Gender    string
	Language  string
}

// Beneficiary is the profile as a Beneficiary without doses or bookings,
// for what only needs who they are.
func (p Profile) Beneficiary() Beneficiary {
	return Beneficiary{ID: p.ID, Name: p.Name, Mobile: p.Mobile, BirthYear: p.BirthYear, Gender: p.Gender, Language: p.Language}
}

// profileCacheSize bounds the profiles one process keeps: about 200 bytes
// each, so 20,000 are some 4 MB of live heap — some 20 MB of resident
// memory under the GC setting of cmd/sandesh (GOGC 400). A day's doses are
// distinct people, read once each: what the cache serves is a person's
// requests close together (booking then dose, STATUS replies), which a
// small cache holds as well as a large one.
const profileCacheSize = 20_000

// centerCacheSize bounds the centres one process keeps; a national
// programme has tens of thousands.
const centerCacheSize = 100_000

// Profile loads a beneficiary's registration, from this process's cache
// when it has it: a dose reads it on every request, and a cached read is
// no round trip. ErrNotFound when no such beneficiary exists (not cached:
// it may be registered a moment later).
func (s *Store) Profile(ctx context.Context, id string) (Profile, error) {
	if !allDigits(id, 14) {
		return Profile{}, ErrNotFound
	}
	if p, ok := s.profiles.Get(id); ok {
		return p, nil
	}
	s, err := s.locate(ctx, id)
	if err != nil {
		return Profile{}, fmt.Errorf("load beneficiary profile: %w", err)
	}
	// The profile's fields only: the hash holds the doses too.
	fields := []string{"id", "name", "mobile", "birth_year", "gender", "lang"}
	vals, err := s.rdb.HMGet(ctx, s.beneficiaryKey(id), fields...).Result()
	if err != nil {
		return Profile{}, fmt.Errorf("load beneficiary profile: %w", err)
	}
	h := make(map[string]string, len(fields))
	for i, v := range vals {
		if v, ok := v.(string); ok {
			h[fields[i]] = v
		}
	}
	if h["id"] == "" {
		return Profile{}, ErrNotFound
	}
	b := beneficiaryFromHash(h)
	p := Profile{ID: b.ID, Name: b.Name, Mobile: b.Mobile, BirthYear: b.BirthYear, Gender: b.Gender, Language: b.Language}
	s.profiles.Put(id, p)
	return p, nil
}

// CenterExists reports whether centre id exists (ErrNotFound if not).
func (s *Store) CenterExists(ctx context.Context, id string) error {
	_, err := s.KnownCenter(ctx, id)
	return err
}

// KnownCenter loads centre id, from this process's cache when it has it:
// centres are never changed or removed, so one found is remembered.
func (s *Store) KnownCenter(ctx context.Context, id string) (Center, error) {
	if c, ok := s.centers.Get(id); ok {
		return c, nil
	}
	c, err := s.Center(ctx, id)
	if err != nil {
		return Center{}, err
	}
	s.centers.Put(id, c)
	return c, nil
}
