package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Role is what an API key may do.
type Role string

// The roles of API.md.
const (
	RoleAdmin    Role = "admin"
	RoleRegistry Role = "registry"
	RoleCenter   Role = "center"
	RoleVerifier Role = "verifier"
	RoleSupport  Role = "support"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleRegistry, RoleCenter, RoleVerifier, RoleSupport:
		return true
	}
	return false
}

// APIKey is a caller's identity. The clear key is never stored: Redis holds
// only its keyed hash.
type APIKey struct {
	ID        string    `json:"id"`
	Role      Role      `json:"role"`
	Name      string    `json:"name"`
	CenterID  string    `json:"center_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"` // zero while the key works
}

// keyPrefix makes a leaked key recognisable to secret scanners.
const keyPrefix = "sdk_"

// CreateAPIKey stores a new key and returns it with its clear value, which
// cannot be recovered later.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, string, error) {
	// The id is shown in audit trails, so it shares no bits with the key.
	var raw [24 + 6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return s.createAPIKey(ctx, k, raw)
}

// createAPIKey is CreateAPIKey with its random bytes given, so that a test
// can know a key before it exists.
func (s *Store) createAPIKey(ctx context.Context, k APIKey, raw [24 + 6]byte) (APIKey, string, error) {
	if !k.Role.Valid() || k.Name == "" {
		return APIKey{}, "", fmt.Errorf("create api key: a valid role and a name are required")
	}
	clear := keyPrefix + hex.EncodeToString(raw[:24])
	k.ID = "key_" + hex.EncodeToString(raw[24:])
	k.CreatedAt = s.now().UTC().Truncate(time.Millisecond) // as stored, so every answer shows the same time
	hash := s.apiKeyHash.sum(clear)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.apiKeyKey(hash), "id", k.ID, "role", string(k.Role), "name", k.Name,
			"center_id", k.CenterID, "created_at", k.CreatedAt.UnixMilli(), "kid", s.id)
		p.HSet(ctx, s.apiKeyIndexKey(), k.ID, hash)
		// A process may have cached this key's hash as unknown.
		p.Incr(ctx, s.apiKeysVersionKey())
		return nil
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, clear, nil
}

// APIKeyBySecret finds the key a caller presented; ErrNotFound when it is
// not one of ours. It asks Redis every time; KeyCache answers from memory.
func (s *Store) APIKeyBySecret(ctx context.Context, clear string) (APIKey, error) {
	if !wellFormedKey(clear) {
		return APIKey{}, ErrNotFound
	}
	return s.apiKeyByClear(ctx, clear, s.apiKeyHash.sum(clear))
}

// apiKeyByClear looks a key up by hash, its keyed hash under the current
// secret; one issued under a previous secret is found by that secret's
// hash and re-keyed on the spot, so it is looked up at once from then on.
func (s *Store) apiKeyByClear(ctx context.Context, clear, hash string) (APIKey, error) {
	k, err := s.apiKeyByHash(ctx, hash)
	if !errors.Is(err, ErrNotFound) {
		return k, err
	}
	for _, old := range s.previous {
		oldHash := old.apiKeyHash.sum(clear)
		k, err := s.apiKeyByHash(ctx, oldHash)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return APIKey{}, err
		}
		if err := s.rekeyAPIKey(ctx, k.ID, oldHash, hash); err != nil {
			return APIKey{}, err
		}
		return k, nil
	}
	return APIKey{}, ErrNotFound
}

// rekeyAPIKeyScript moves a key's record from its hash under a previous
// secret to its hash under the current one, unless it moved or was
// revoked meanwhile, and bumps the keys' version (caches forget the old).
// KEYS: record under the old hash, under the new, the index, the version.
// ARGV: id, old hash, new hash, current secret's id.
var rekeyAPIKeyScript = redis.NewScript(`
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'revoked') == 1 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'kid', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('INCR', KEYS[4])
return 1
`)

func (s *Store) rekeyAPIKey(ctx context.Context, id, oldHash, newHash string) error {
	err := rekeyAPIKeyScript.Run(ctx, s.rdb, []string{s.apiKeyKey(oldHash), s.apiKeyKey(newHash),
		s.apiKeyIndexKey(), s.apiKeysVersionKey()}, id, oldHash, newHash, s.id).Err()
	if err != nil {
		return fmt.Errorf("re-key api key %s: %w", id, err)
	}
	return nil
}

// wellFormedKey reports whether clear could be a key we issued, so that
// junk is refused without a look-up.
func wellFormedKey(clear string) bool {
	return len(clear) == len(keyPrefix)+48 && clear[:len(keyPrefix)] == keyPrefix
}

// apiKeyByHash looks a key up by its keyed hash.
func (s *Store) apiKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	h, err := s.rdb.HGetAll(ctx, s.apiKeyKey(hash)).Result()
	if err != nil {
		return APIKey{}, fmt.Errorf("look up api key: %w", err)
	}
	if len(h) == 0 || h["revoked"] != "" {
		return APIKey{}, ErrNotFound
	}
	return apiKeyFromHash(h), nil
}

// revokeAPIKeyScript marks the record the index names for a key id revoked
// (the first revocation's time stands) and bumps the keys' version, in one
// step: a re-key moving the record cannot slip between the read and the
// write. KEYS: index, version. ARGV: id, record key prefix, now ms.
var revokeAPIKeyScript = redis.NewScript(`
local hash = redis.call('HGET', KEYS[1], ARGV[1])
if not hash then return 0 end
redis.call('HSETNX', ARGV[2] .. hash, 'revoked', ARGV[3])
redis.call('INCR', KEYS[2])
return 1
`)

// RevokeAPIKey stops a key from working, in every process within a second
// (KeyCache polls the version this bumps in the same step).
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	n, err := revokeAPIKeyScript.Run(ctx, s.rdb, []string{s.apiKeyIndexKey(), s.apiKeysVersionKey()},
		id, s.apiKeyKey(""), s.now().UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// APIKeys lists the keys that work (not revoked), oldest first.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	all, err := s.AllAPIKeys(ctx)
	return slices.DeleteFunc(all, func(k APIKey) bool { return !k.RevokedAt.IsZero() }), err
}

// AllAPIKeys lists every key issued, revoked ones with RevokedAt, oldest
// first.
func (s *Store) AllAPIKeys(ctx context.Context) ([]APIKey, error) {
	index, err := s.rdb.HGetAll(ctx, s.apiKeyIndexKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, 0, len(index))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, hash := range index {
			cmds = append(cmds, p.HGetAll(ctx, s.apiKeyKey(hash)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out := make([]APIKey, 0, len(cmds))
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 {
			out = append(out, apiKeyFromHash(h))
		}
	}
	slices.SortFunc(out, func(a, b APIKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func apiKeyFromHash(h map[string]string) APIKey {
	ms, _ := strconv.ParseInt(h["created_at"], 10, 64)
	k := APIKey{
		ID: h["id"], Role: Role(h["role"]), Name: h["name"], CenterID: h["center_id"],
		CreatedAt: time.UnixMilli(ms).UTC(),
	}
	if r, err := strconv.ParseInt(h["revoked"], 10, 64); err == nil {
		k.RevokedAt = time.UnixMilli(r).UTC()
	}
	return k
}
