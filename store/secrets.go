package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// keyring is what one deployment secret keys: the sealers of message
// bodies and security codes and the keyed hashes of codes, OTPs, API keys,
// sessions and card links. The store makes everything new with the
// current secret's; the previous secrets' (Options.PreviousSecrets) only
// read what they made, until it is re-keyed (Rekey, and an API key at its
// first use) or expires — so a secret can be replaced without ending a
// key, a session, a code or an OTP in flight.
type keyring struct {
	// id names the secret in records whose keyed hash cannot tell it
	// (API keys, sessions, card links, OTPs), so that SecretsStatus can
	// count what still needs an old one. It reveals nothing of the secret.
	id         string
	bodies     *sealer
	codes      *sealer
	codeHash   keyedHash
	apiKeyHash keyedHash
}

func newKeyring(secret []byte) (keyring, error) {
	bodies, err := newSealer(secret, "message-body")
	if err != nil {
		return keyring{}, err
	}
	codes, err := newSealer(secret, "security-code")
	if err != nil {
		return keyring{}, err
	}
	return keyring{
		id:         newKeyedHash(secret, "secret-id").sum()[:12],
		bodies:     bodies,
		codes:      codes,
		codeHash:   newKeyedHash(secret, "security-code-check"),
		apiKeyHash: newKeyedHash(secret, "api-key"),
	}, nil
}

// keyrings builds the current secret's keyring and the previous ones'.
func keyrings(current []byte, previous [][]byte) (keyring, []keyring, error) {
	cur, err := newKeyring(current)
	if err != nil {
		return keyring{}, nil, err
	}
	var old []keyring
	for i, secret := range previous {
		if len(secret) < 16 {
			return keyring{}, nil, fmt.Errorf("previous secret %d must be at least 16 bytes", i+1)
		}
		k, err := newKeyring(secret)
		if err != nil {
			return keyring{}, nil, err
		}
		if k.id == cur.id {
			return keyring{}, nil, fmt.Errorf("previous secret %d is the current secret", i+1)
		}
		old = append(old, k)
	}
	return cur, old, nil
}

// openBody opens a sealed message body with whichever secret sealed it.
func (s *Store) openBody(sealed, id string) (string, error) {
	return s.openWith(func(k keyring) *sealer { return k.bodies }, sealed, id)
}

// openCode opens a sealed security code with whichever secret sealed it.
func (s *Store) openCode(sealed, id string) (string, error) {
	return s.openWith(func(k keyring) *sealer { return k.codes }, sealed, id)
}

// openWith opens a sealed value with the current secret's sealer of, or
// else a previous one's.
func (s *Store) openWith(of func(keyring) *sealer, sealed, ad string) (string, error) {
	if plain, err := of(s.keyring).open(sealed, ad); err == nil {
		return plain, nil
	}
	if plain, ok := s.openPrevious(of, sealed, ad); ok {
		return plain, nil
	}
	return "", errSealed
}

// openPrevious opens a sealed value with a previous secret's sealer of;
// false when none opens it.
func (s *Store) openPrevious(of func(keyring) *sealer, sealed, ad string) (string, bool) {
	for _, k := range s.previous {
		if plain, err := of(k).open(sealed, ad); err == nil {
			return plain, true
		}
	}
	return "", false
}

// codeHashes is the keyed hash of parts under every secret, space
// separated, as hashInLua reads it: a code or an OTP stored under an
// old secret still matches.
func (s *Store) codeHashes(parts ...string) string {
	sum := s.codeHash.sum(parts...)
	for _, k := range s.previous {
		sum += " " + k.codeHash.sum(parts...)
	}
	return sum
}

// hashInLua tells whether a stored keyed hash is one of a space-separated
// list (codeHashes).
const hashInLua = `
local function hash_in(h, list)
  return h ~= nil and h ~= false and h ~= '' and string.find(' ' .. list .. ' ', ' ' .. h .. ' ', 1, true) ~= nil
end
`

// apiKeyHashes are the keyed hashes of a clear value (a session id, a
// card token) under every secret, the current one's first.
func (s *Store) apiKeyHashes(parts ...string) []string {
	out := []string{s.apiKeyHash.sum(parts...)}
	for _, k := range s.previous {
		out = append(out, k.apiKeyHash.sum(parts...))
	}
	return out
}

// SecretUse counts the records of one kind by the secret that keys them.
type SecretUse struct {
	Kind     string `json:"kind"`
	Current  int    `json:"current"`
	Previous int    `json:"previous"`
	// Unknown: records that do not say (made before secrets had ids), or
	// sealed under no secret configured now.
	Unknown int `json:"unknown"`
}

// secretScanBatch is how many keys a SCAN step asks for.
const secretScanBatch = 500

// SecretsStatus counts, kind by kind, the records keyed by the current
// secret, by a previous one and by neither as far as can be told: what
// still needs a previous secret before it can be dropped. It scans every
// key of each kind: an operator's command, not a request's.
func (s *Store) SecretsStatus(ctx context.Context) ([]SecretUse, error) {
	var out []SecretUse
	keys, err := s.keyUses(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, keys)
	for _, k := range []struct{ kind, pattern, field string }{
		{"web_sessions", s.sessionKey("*"), "kid"},
		{"kyvs_transactions", s.everyKey("kyvs:"), "kid"},
	} {
		use := SecretUse{Kind: k.kind}
		err := s.scan(ctx, k.pattern, func(p redis.Pipeliner, key string) func() {
			cmd := p.HGet(ctx, key, k.field)
			return func() { s.countID(&use, cmd.Val()) }
		})
		if err != nil {
			return nil, err
		}
		out = append(out, use)
	}
	cards := SecretUse{Kind: "card_links"}
	err = s.scan(ctx, s.cardKey("*"), func(p redis.Pipeliner, key string) func() {
		cmd := p.Get(ctx, key)
		return func() {
			_, id, _ := strings.Cut(cmd.Val(), ":")
			s.countID(&cards, id)
		}
	})
	if err != nil {
		return nil, err
	}
	out = append(out, cards)
	codes := SecretUse{Kind: "security_codes"}
	err = s.scan(ctx, s.everyKey("appt:"), func(p redis.Pipeliner, key string) func() {
		cmd := p.HMGet(ctx, key, "id", "code_sealed")
		return func() {
			if v := cmd.Val(); len(v) == 2 {
				s.countSealed(&codes, func(k keyring) *sealer { return k.codes }, str(v[1]), str(v[0]))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out = append(out, codes)
	bodies := SecretUse{Kind: "message_bodies"}
	fields := sealedBodyFields()
	err = s.scan(ctx, s.everyKey("msg:"), func(p redis.Pipeliner, key string) func() {
		cmd := p.HMGet(ctx, key, fields...)
		id := idInKey(key)
		return func() {
			s.countSealed(&bodies, func(k keyring) *sealer { return k.bodies }, joinParts(cmd.Val()), id)
		}
	})
	if err != nil {
		return nil, err
	}
	return append(out, bodies), nil
}

// keyUses counts the API keys that work, by the secret that hashed them.
func (s *Store) keyUses(ctx context.Context) (SecretUse, error) {
	use := SecretUse{Kind: "api_keys"}
	index, err := s.rdb.HGetAll(ctx, s.apiKeyIndexKey()).Result()
	if err != nil {
		return use, fmt.Errorf("secrets status: api keys: %w", err)
	}
	p := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, 0, len(index))
	for _, hash := range index {
		cmds = append(cmds, p.HMGet(ctx, s.apiKeyKey(hash), "kid", "revoked"))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return use, fmt.Errorf("secrets status: api keys: %w", err)
	}
	for _, c := range cmds {
		if v := c.Val(); len(v) == 2 && v[1] == nil {
			s.countID(&use, str(v[0]))
		}
	}
	return use, nil
}

// scan walks the keys matching pattern, a batch at a time, reading each
// with what read queues on a pipeline and counting it with what it returns.
func (s *Store) scan(ctx context.Context, pattern string, read func(p redis.Pipeliner, key string) func()) error {
	return s.scanKeys(ctx, pattern, "", func(keys []string) error {
		p := s.rdb.Pipeline()
		counts := make([]func(), 0, len(keys))
		for _, k := range keys {
			counts = append(counts, read(p, k))
		}
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("scan %s: %w", pattern, err)
		}
		for _, count := range counts {
			count()
		}
		return nil
	})
}

// countID counts a record by the secret id it carries.
func (s *Store) countID(use *SecretUse, id string) {
	switch {
	case id == s.id:
		use.Current++
	case slices.ContainsFunc(s.previous, func(k keyring) bool { return k.id == id }):
		use.Previous++
	default:
		use.Unknown++
	}
}

// countSealed counts a sealed value (none: not counted) by the secret that
// opens it.
func (s *Store) countSealed(use *SecretUse, of func(keyring) *sealer, sealed, ad string) {
	if sealed == "" {
		return
	}
	if _, err := of(s.keyring).open(sealed, ad); err == nil {
		use.Current++
	} else if _, ok := s.openPrevious(of, sealed, ad); ok {
		use.Previous++
	} else {
		use.Unknown++
	}
}

// sealedBodyFields are the fields a sealed body may span (record_message
// cuts it in chunkBytes pieces): enough for the longest body a message
// may have.
func sealedBodyFields() []string {
	f := []string{"body_sealed"}
	for i := 1; i < 48; i++ {
		f = append(f, "body_sealed."+strconv.Itoa(i))
	}
	return f
}

// joinParts joins the pieces HMGET read, up to the first missing one.
func joinParts(parts []any) string {
	var b strings.Builder
	for _, p := range parts {
		v, ok := p.(string)
		if !ok {
			break
		}
		b.WriteString(v)
	}
	return b.String()
}

// Rekeyed counts what Rekey moved to the current secret.
type Rekeyed struct {
	MessageBodies int `json:"message_bodies"`
	SecurityCodes int `json:"security_codes"`
	// Failed: records whose write failed (Redis errors); run it again.
	Failed int `json:"failed"`
}

// resealBodyScript replaces a sealed body, cut in pieces as record_message
// cuts it, if it is still the one read. KEYS: message. ARGV: the sealed
// body read, the new one (the same length: same text, same nonce size).
var resealBodyScript = redis.NewScript(`
local old, n = '', 0
repeat
  local name = 'body_sealed'
  if n > 0 then name = name .. '.' .. n end
  local part = redis.call('HGET', KEYS[1], name)
  if not part then break end
  old, n = old .. part, n + 1
until false
if old ~= ARGV[1] or #ARGV[2] ~= #old then return 0 end
for i = 0, n - 1 do
  local name = 'body_sealed'
  if i > 0 then name = name .. '.' .. i end
  redis.call('HSET', KEYS[1], name, string.sub(ARGV[2], i * 64 + 1, i * 64 + 64))
end
return 1
`)

// resealCodeScript replaces an appointment's sealed code and its hash if
// the sealed code is still the one read. KEYS: appointment. ARGV: sealed
// code read, new sealed code, new hash.
var resealCodeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'code_sealed') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'code_sealed', ARGV[2], 'code_hash', ARGV[3])
return 1
`)

// Rekey seals again, under the current secret, the message bodies and
// security codes a previous secret sealed (each only if unchanged since
// read). What cannot be re-sealed — API keys until their next use,
// sessions, card links and OTPs until they expire — SecretsStatus counts.
func (s *Store) Rekey(ctx context.Context) (Rekeyed, error) {
	var done Rekeyed
	if len(s.previous) == 0 {
		return done, nil
	}
	fields := sealedBodyFields()
	err := s.scan(ctx, s.everyKey("msg:"), func(p redis.Pipeliner, key string) func() {
		cmd := p.HMGet(ctx, key, fields...)
		id := idInKey(key)
		return func() {
			sealed := joinParts(cmd.Val())
			n, err := s.reseal(ctx, sealed, id, func(k keyring) *sealer { return k.bodies }, resealBodyScript, key, nil)
			done.MessageBodies += n
			if err != nil {
				done.Failed++
			}
		}
	})
	if err != nil {
		return done, fmt.Errorf("re-key: %w", err)
	}
	err = s.scan(ctx, s.everyKey("appt:"), func(p redis.Pipeliner, key string) func() {
		cmd := p.HMGet(ctx, key, "id", "code_sealed")
		return func() {
			v := cmd.Val()
			if len(v) != 2 {
				return
			}
			id := str(v[0])
			hash := func(code string) []any { return []any{s.codeHash.sum(id, code)} }
			n, err := s.reseal(ctx, str(v[1]), id, func(k keyring) *sealer { return k.codes }, resealCodeScript, key, hash)
			done.SecurityCodes += n
			if err != nil {
				done.Failed++
			}
		}
	})
	if err != nil {
		return done, fmt.Errorf("re-key: %w", err)
	}
	return done, nil
}

// reseal seals again under the current secret a value a previous one
// sealed, with script, which writes it if unchanged; extra gives the
// script's arguments after the new value. It returns 1 when it did.
func (s *Store) reseal(ctx context.Context, sealed, ad string, of func(keyring) *sealer, script *redis.Script, key string, extra func(plain string) []any) (int, error) {
	if sealed == "" {
		return 0, nil
	}
	if _, err := of(s.keyring).open(sealed, ad); err == nil {
		return 0, nil
	}
	plain, ok := s.openPrevious(of, sealed, ad)
	if !ok {
		return 0, nil
	}
	again, err := of(s.keyring).seal(plain, ad)
	if err != nil {
		return 0, err
	}
	args := []any{sealed, again}
	if extra != nil {
		args = append(args, extra(plain)...)
	}
	return script.Run(ctx, s.rdb, []string{key}, args...).Int()
}
