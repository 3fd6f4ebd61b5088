package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/internal/redistest"
)

// testClock is a settable clock for Options.Now, safe for parallel use.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// t0 is a fixed instant whose decimal and hex milliseconds hold no
// 4-digit code used by these tests; testToday is its programme date.
var t0 = time.Date(2025, 3, 10, 4, 30, 0, 0, time.UTC)

const testToday = "2025-03-10"

// newClockStore is newTestStore with a clock the test controls.
func newClockStore(t *testing.T, c *testClock) *Store {
	t.Helper()
	s, err := New(redistest.New(t, 1), Options{
		Secret: []byte("0123456789abcdef0123456789abcdef"), HistoryLimit: 3, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dbItem is one thing Redis holds: a key name, or a value, field, member or
// score under a key.
type dbItem struct {
	key, what, val string
}

// dumpDB returns every key of the test database and everything stored
// under it, whatever its type.
func dumpDB(t *testing.T, s *Store) []dbItem {
	t.Helper()
	ctx := context.Background()
	var keys []string
	iter := s.rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	var out []dbItem
	for _, k := range keys {
		out = append(out, dbItem{k, "key name", k})
		typ, err := s.rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			v, err := s.rdb.Get(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, dbItem{k, "value", v})
		case "hash":
			h, err := s.rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range h {
				out = append(out, dbItem{k, "field name", f}, dbItem{k, "field " + f, v})
			}
		case "list":
			l, err := s.rdb.LRange(ctx, k, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range l {
				out = append(out, dbItem{k, "element " + strconv.Itoa(i), v})
			}
		case "set":
			m, err := s.rdb.SMembers(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range m {
				out = append(out, dbItem{k, "member", v})
			}
		case "zset":
			z, err := s.rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range z {
				out = append(out, dbItem{k, "member", fmt.Sprint(m.Member)},
					dbItem{k, "score", strconv.FormatFloat(m.Score, 'f', -1, 64)})
			}
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
	}
	return out
}

// findInDB lists where needle occurs in the database.
func findInDB(t *testing.T, s *Store, needle string) []string {
	t.Helper()
	var hits []string
	for _, it := range dumpDB(t, s) {
		if strings.Contains(it.val, needle) {
			hits = append(hits, fmt.Sprintf("%s (%s) = %q", it.key, it.what, it.val))
		}
	}
	return hits
}

func mustCenter(t *testing.T, s *Store, id string) Center {
	t.Helper()
	c, err := s.CreateCenter(context.Background(), Center{
		ID: id, Name: "PHC " + id, District: "Pune", State: "Maharashtra", Pincode: "411001",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustBeneficiary(t *testing.T, s *Store, mobile string) Beneficiary {
	t.Helper()
	b, err := s.CreateBeneficiary(context.Background(), Beneficiary{
		Name: "Asha Devi", Mobile: mobile, BirthYear: 1960, Gender: "F", Language: "hi",
	}, 4)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAPIKeyLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  APIKey
	}{
		{"admin", APIKey{Role: RoleAdmin, Name: "ops"}},
		{"centre", APIKey{Role: RoleCenter, Name: "PHC Aundh desk", CenterID: "C001"}},
		{"verifier", APIKey{Role: RoleVerifier, Name: "gate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newClockStore(t, newTestClock(t0))
			ctx := context.Background()
			k, clear, err := s.CreateAPIKey(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(clear, "sdk_") || len(clear) != 52 {
				t.Fatalf("clear key %q: want sdk_ and 48 hex digits", clear)
			}
			if !strings.HasPrefix(k.ID, "key_") || !k.CreatedAt.Equal(t0) {
				t.Fatalf("created %+v", k)
			}
			got, err := s.APIKeyBySecret(ctx, clear)
			if err != nil {
				t.Fatal(err)
			}
			want := APIKey{ID: k.ID, Role: tc.key.Role, Name: tc.key.Name, CenterID: tc.key.CenterID, CreatedAt: t0}
			if got != want {
				t.Fatalf("looked up %+v, want %+v", got, want)
			}
			if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.APIKeyBySecret(ctx, clear); !errors.Is(err, ErrNotFound) {
				t.Fatalf("revoked key: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestAPIKeyNeverStoredInClear(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	var clears []string
	for _, k := range []APIKey{
		{Role: RoleAdmin, Name: "ops"},
		{Role: RoleCenter, Name: "desk", CenterID: "C001"},
	} {
		_, clear, err := s.CreateAPIKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		clears = append(clears, clear)
	}
	for _, clear := range clears {
		plain := sha256.Sum256([]byte(clear))
		for name, needle := range map[string]string{
			"clear key":             clear,
			"clear key hex part":    strings.TrimPrefix(clear, keyPrefix),
			"unkeyed sha256 of key": hex.EncodeToString(plain[:]),
		} {
			if hits := findInDB(t, s, needle); len(hits) > 0 {
				t.Errorf("%s found in Redis: %v", name, hits)
			}
		}
	}
}

func TestAPIKeyIDRevealsNoSecret(t *testing.T) {
	s := newTestStore(t)
	k, clear, err := s.CreateAPIKey(context.Background(), APIKey{Role: RoleAdmin, Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(clear, keyPrefix)
	// Any 8 hex digits (32 bits) of the secret in the public id is a leak.
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(k.ID, secret[i:i+8]) {
			t.Fatalf("id %s contains secret digits %s of %s", k.ID, secret[i:i+8], clear)
		}
	}
}

func TestAPIKeyLookupRejects(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, clear, err := s.CreateAPIKey(ctx, APIKey{Role: RoleSupport, Name: "helpdesk"})
	if err != nil {
		t.Fatal(err)
	}
	flip := []byte(clear)
	if flip[len(flip)-1] == '0' {
		flip[len(flip)-1] = '1'
	} else {
		flip[len(flip)-1] = '0'
	}
	for _, tc := range []struct{ name, key string }{
		{"empty", ""},
		{"prefix only", keyPrefix},
		{"one digit changed", string(flip)},
		{"well formed, never issued", keyPrefix + strings.Repeat("ab", 24)},
		{"too short", clear[:len(clear)-1]},
		{"too long", clear + "0"},
		{"wrong prefix", "sdx_" + clear[4:]},
		{"no prefix", clear[4:]},
		{"upper case", strings.ToUpper(clear)},
		{"padded", " " + clear[:len(clear)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := s.APIKeyBySecret(ctx, tc.key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("APIKeyBySecret(%q) = %+v, %v; want ErrNotFound", tc.key, k, err)
			}
		})
	}
}

func TestCreateAPIKeyValidates(t *testing.T) {
	s := newTestStore(t)
	for _, tc := range []struct {
		name string
		key  APIKey
	}{
		{"no role", APIKey{Name: "x"}},
		{"unknown role", APIKey{Role: "root", Name: "x"}},
		{"no name", APIKey{Role: RoleAdmin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, clear, err := s.CreateAPIKey(context.Background(), tc.key); err == nil {
				t.Fatalf("created %q, want an error", clear)
			}
		})
	}
	if hits := findInDB(t, s, "apikey"); len(hits) > 0 {
		t.Fatalf("refused keys left records: %v", hits)
	}
}

func TestRevokeAPIKey(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, clearA, err := s.CreateAPIKey(ctx, APIKey{Role: RoleAdmin, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	_, clearB, err := s.CreateAPIKey(ctx, APIKey{Role: RoleAdmin, Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"unknown id", "key_000000000000", ErrNotFound},
		{"empty id", "", ErrNotFound},
		{"revoke", a.ID, nil},
		{"revoke again", a.ID, nil},
	} {
		if err := s.RevokeAPIKey(ctx, tc.id); !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.APIKeyBySecret(ctx, clearA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoked key still works: %v", err)
	}
	if _, err := s.APIKeyBySecret(ctx, clearB); err != nil {
		t.Fatalf("revoking one key broke another: %v", err)
	}
}

func TestCreateCenter(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	want := Center{ID: "C001", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}
	for _, tc := range []struct {
		name string
		c    Center
		err  error
	}{
		{"create", want, nil},
		{"same id again", want, ErrExists},
		{"same id, other fields", Center{ID: "C001", Name: "Impostor"}, ErrExists},
		{"another id", Center{ID: "C002", Name: "PHC Baner"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CreateCenter(ctx, tc.c)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (got.ID != tc.c.ID || !got.CreatedAt.Equal(t0)) {
				t.Fatalf("created %+v", got)
			}
		})
	}
	got, err := s.Center(ctx, "C001")
	if err != nil {
		t.Fatal(err)
	}
	want.CreatedAt = t0
	if got != want {
		t.Fatalf("loaded %+v, want %+v (a refused create must not overwrite)", got, want)
	}
	if _, err := s.Center(ctx, "C999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown centre: %v", err)
	}
}

func TestCreateBeneficiary(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	in := Beneficiary{Name: "Ravi Kumar", Mobile: "+919876543210", BirthYear: 1955, Gender: "M", Language: "mr",
		ActiveAppointment: "smuggled", ActiveDate: "2030-01-01", Doses: []Dose{{Vaccine: "x"}}}
	b, err := s.CreateBeneficiary(ctx, in, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !allDigits(b.ID, 14) || b.ID[0] == '0' {
		t.Fatalf("id %q: want 14 digits, the first not zero", b.ID)
	}
	got, err := s.Beneficiary(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != b.ID || got.Name != in.Name || got.Mobile != in.Mobile || got.BirthYear != in.BirthYear ||
		got.Gender != in.Gender || got.Language != in.Language || !got.CreatedAt.Equal(t0) {
		t.Fatalf("loaded %+v", got)
	}
	if got.ActiveAppointment != "" || got.ActiveDate != "" || len(got.Doses) != 0 {
		t.Fatalf("a new beneficiary carries state from the request: %+v", got)
	}
}

func TestBeneficiaryMalformedID(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	b := mustBeneficiary(t, s, "+919876543210")
	for _, tc := range []struct{ name, id string }{
		{"empty", ""},
		{"13 digits", b.ID[:13]},
		{"15 digits", b.ID + "0"},
		{"letter", b.ID[:13] + "a"},
		{"key pattern", b.ID[:13] + "*"},
		{"key suffix", b.ID + ":doses"},
		{"unknown", "10000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := s.Beneficiary(ctx, tc.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Beneficiary(%q) = %+v, %v; want ErrNotFound", tc.id, got, err)
			}
		})
	}
}

func TestBeneficiaryMobileLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    int
		attempts int
	}{
		{"limit 1", 1, 3},
		{"limit 4", 4, 6},
		{"exactly the limit", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			ctx := context.Background()
			for i := range tc.attempts {
				_, err := s.CreateBeneficiary(ctx, Beneficiary{Name: "n", Mobile: "+919876543210"}, tc.limit)
				want := error(nil)
				if i >= tc.limit {
					want = ErrMobileLimit
				}
				if !errors.Is(err, want) {
					t.Fatalf("registration %d: err = %v, want %v", i+1, err, want)
				}
			}
			// Another mobile is not affected.
			if _, err := s.CreateBeneficiary(ctx, Beneficiary{Name: "n", Mobile: "+919000000000"}, tc.limit); err != nil {
				t.Fatalf("other mobile: %v", err)
			}
			got, err := s.BeneficiariesByMobile(ctx, "+919876543210")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != min(tc.limit, tc.attempts) {
				t.Fatalf("%d beneficiaries on the mobile, want %d", len(got), min(tc.limit, tc.attempts))
			}
		})
	}
}

func TestBeneficiaryMobileLimitParallel(t *testing.T) {
	const limit, workers = 4, 20
	s := newTestStore(t)
	ctx := context.Background()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			_, errs[i] = s.CreateBeneficiary(ctx, Beneficiary{Name: fmt.Sprint("n", i), Mobile: "+919876543210"}, limit)
		})
	}
	wg.Wait()
	ok, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrMobileLimit):
			full++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != limit || full != workers-limit {
		t.Fatalf("%d registered and %d refused, want %d and %d", ok, full, limit, workers-limit)
	}
	got, err := s.BeneficiariesByMobile(ctx, "+919876543210")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != limit {
		t.Fatalf("%d beneficiaries on the mobile, want %d", len(got), limit)
	}
	keys, err := s.rdb.Keys(ctx, s.everyKey("ben:")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != limit {
		t.Fatalf("%d beneficiary records, want %d: refused registrations left records", len(keys), limit)
	}
}

func TestBeneficiariesByMobileOrder(t *testing.T) {
	clock := newTestClock(t0)
	s := newClockStore(t, clock)
	ctx := context.Background()
	var want []string
	for i := range 4 {
		b, err := s.CreateBeneficiary(ctx, Beneficiary{Name: fmt.Sprint("member ", i), Mobile: "+919876543210"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b.ID)
		clock.Add(time.Second)
	}
	mustBeneficiary(t, s, "+919999999999")
	for _, tc := range []struct {
		mobile string
		want   []string
	}{
		{"+919876543210", want},
		{"+918888888888", nil},
	} {
		got, err := s.BeneficiariesByMobile(ctx, tc.mobile)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, b := range got {
			ids = append(ids, b.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Fatalf("%s: beneficiaries %v, want oldest first %v", tc.mobile, ids, tc.want)
		}
	}
}

func TestBeneficiariesByMobileOrderSameMillisecond(t *testing.T) {
	s := newClockStore(t, newTestClock(t0)) // the clock does not move
	ctx := context.Background()
	var want []string
	for i := range 4 {
		b, err := s.CreateBeneficiary(ctx, Beneficiary{Name: fmt.Sprint("member ", i), Mobile: "+919876543210"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b.ID)
	}
	got, err := s.BeneficiariesByMobile(ctx, "+919876543210")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range got {
		ids = append(ids, b.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("beneficiaries %v, want in registration order %v", ids, want)
	}
}

// testKept renders a step's answers as the test can recognise them.
func testKept[T any](name func(T) string) Kept[T] {
	return func(v T) (Replay, Replay, error) {
		return Replay{Status: 201, Body: []byte(`{"id":"` + name(v) + `"}`)}, Replay{Status: 409, Body: []byte(`{"error":"refused"}`)}, nil
	}
}

func idemKey(key, fp string) *IdempotencyKey {
	return &IdempotencyKey{Scope: "registry POST /v1/x", Key: key, Fingerprint: fp, TTL: 24 * time.Hour}
}

// answered is the answer a step kept for a repeat, or fails.
func answered(t *testing.T, err error) Replay {
	t.Helper()
	var a *AnsweredError
	if !errors.As(err, &a) {
		t.Fatalf("err = %v, want the first answer", err)
	}
	return a.Replay
}

// TestCreateCenterOnce: a keyed centre keeps its answer in its step; a
// repeat replays it, another body is refused, a taken id's refusal is
// kept; without a key nothing is kept.
func TestCreateCenterOnce(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	kept := testKept(func(c Center) string { return c.ID })
	c := Center{ID: "C001", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"}
	if got, err := s.CreateCenterOnce(ctx, c, idemKey("k1", "fp1"), kept); err != nil || got.ID != "C001" {
		t.Fatalf("first: %+v %v", got, err)
	}
	k := s.idempotencyKey(centersTag, "registry POST /v1/x", "k1")
	if ttl := s.rdb.PTTL(ctx, k).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("answer kept for %v, want 24h", ttl)
	}
	before := dumpDB(t, s)
	for range 2 {
		_, err := s.CreateCenterOnce(ctx, c, idemKey("k1", "fp1"), kept)
		if r := answered(t, err); r.Status != 201 || string(r.Body) != `{"id":"C001"}` {
			t.Fatalf("repeat answered %d %s", r.Status, r.Body)
		}
	}
	if _, err := s.CreateCenterOnce(ctx, Center{ID: "C002"}, idemKey("k1", "fp2"), kept); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("same key, other request: %v", err)
	}
	unchanged(t, s, before, "repeats changed Redis")
	if _, err := s.CreateCenterOnce(ctx, c, idemKey("k2", "fp1"), kept); !errors.Is(err, ErrExists) {
		t.Fatalf("taken id: %v, want ErrExists", err)
	}
	if _, err := s.CreateCenterOnce(ctx, c, idemKey("k2", "fp1"), kept); answered(t, err).Status != 409 {
		t.Fatalf("repeat of the refusal: %v", err)
	}
	// Without a key, or with no answers to keep, nothing is kept.
	before = dumpDB(t, s)
	if _, err := s.CreateCenterOnce(ctx, c, nil, kept); !errors.Is(err, ErrExists) {
		t.Fatalf("no key: %v", err)
	}
	if _, err := s.CreateCenterOnce(ctx, c, idemKey("k3", "fp1"), nil); !errors.Is(err, ErrExists) {
		t.Fatalf("no answers: %v", err)
	}
	unchanged(t, s, before, "a refusal without a key changed Redis")
}

// TestCreateBeneficiaryOnce: the key is checked before the mobile's limit
// and the id, and its answer written only with the insert: a taken id
// (the step tries another) keeps nothing.
func TestCreateBeneficiaryOnce(t *testing.T) {
	s := newClockStore(t, newTestClock(t0))
	ctx := context.Background()
	kept := testKept(func(b Beneficiary) string { return b.ID })
	in := Beneficiary{Name: "Asha Patil", Mobile: "+919876543210", BirthYear: 1980, Gender: "F", Language: "mr"}
	b, err := s.CreateBeneficiaryOnce(ctx, in, 2, idemKey("k1", "fp1"), kept)
	if err != nil {
		t.Fatal(err)
	}
	before := dumpDB(t, s)
	_, err = s.CreateBeneficiaryOnce(ctx, in, 2, idemKey("k1", "fp1"), kept)
	if r := answered(t, err); r.Status != 201 || string(r.Body) != `{"id":"`+b.ID+`"}` {
		t.Fatalf("repeat answered %d %s, want the first registration %s", r.Status, r.Body, b.ID)
	}
	if _, err := s.CreateBeneficiaryOnce(ctx, in, 2, idemKey("k1", "fp2"), kept); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("same key, other request: %v", err)
	}
	unchanged(t, s, before, "repeats changed Redis")

	// The step itself, given an id that is taken: nothing is written, the
	// key's answer least of all.
	run := func(id, key string) any {
		t.Helper()
		idem := idemKey(key, "fp-"+key)
		keys, args, err := keptFor(s, tag(shardOfID(id)), Beneficiary{ID: id}, idem, kept)
		if err != nil {
			t.Fatal(err)
		}
		args = append(append([]any{4, id}, args...), "id", id, "mobile", "+919876543211")
		res, err := createBeneficiaryScript.Run(ctx, s.rdb,
			append([]string{s.beneficiaryKey(id), s.mobileBeneficiariesKey("+919876543211"), s.movedKey(id)}, keys...), args...).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	before = dumpDB(t, s)
	if res := run(b.ID, "k2"); res != int64(2) {
		t.Fatalf("taken id answered %v, want 2 (try another)", res)
	}
	unchanged(t, s, before, "a taken id changed Redis")
	// An id the earlier release issued to a record migrate moved to
	// another shard is taken too, though no record is at its key here.
	moved := "20000000000001"
	if err := s.rdb.Set(ctx, s.movedKey(moved), "555", 0).Err(); err != nil {
		t.Fatal(err)
	}
	before = dumpDB(t, s)
	if res := run(moved, "k2"); res != int64(2) {
		t.Fatalf("a moved record's id answered %v, want 2 (try another)", res)
	}
	unchanged(t, s, before, "a moved record's id changed Redis")
	if res := run("20000000000000", "k2"); res != int64(1) {
		t.Fatalf("free id answered %v, want 1", res)
	}
	if _, err := s.rdb.HGet(ctx, s.idempotencyKey(tag("200"), "registry POST /v1/x", "k2"), "body").Result(); err != nil {
		t.Fatalf("the answer was not kept with the insert: %v", err)
	}

	// A full mobile's refusal is kept for its key; without a key nothing is.
	if _, err := s.CreateBeneficiaryOnce(ctx, in, 2, idemKey("k3", "fp1"), kept); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBeneficiaryOnce(ctx, in, 2, idemKey("k4", "fp1"), kept); !errors.Is(err, ErrMobileLimit) {
		t.Fatalf("third on a mobile of 2: %v, want ErrMobileLimit", err)
	}
	if _, err := s.CreateBeneficiaryOnce(ctx, in, 2, idemKey("k4", "fp1"), kept); answered(t, err).Status != 409 {
		t.Fatalf("repeat of the refusal: %v", err)
	}
	before = dumpDB(t, s)
	if _, err := s.CreateBeneficiaryOnce(ctx, in, 2, nil, kept); !errors.Is(err, ErrMobileLimit) {
		t.Fatalf("no key: %v", err)
	}
	unchanged(t, s, before, "a refusal without a key changed Redis")
}

// unchanged fails when Redis holds anything but what before did.
func unchanged(t *testing.T, s *Store, before []dbItem, what string) {
	t.Helper()
	count := map[dbItem]int{}
	for _, it := range before {
		count[it]++
	}
	for _, it := range dumpDB(t, s) {
		count[it]--
	}
	for it, n := range count {
		if n != 0 {
			t.Fatalf("%s: %s %s = %q %s", what, it.key, it.what, it.val, map[bool]string{true: "gone", false: "added"}[n > 0])
		}
	}
}

func TestDigitsIn(t *testing.T) {
	for _, n := range []int{1, 4, 10, 11, 18} {
		seen := map[byte]int{}
		for range 2000 {
			s, err := digitsIn("123", n)
			if err != nil {
				t.Fatal(err)
			}
			if !allDigits(s, n+3) || s[:3] != "123" {
				t.Fatalf("digitsIn(123, %d) = %q: want 123 and %d digits", n, s, n)
			}
			seen[s[3]]++
		}
		// Every digit 0-9 comes up first, none far more often than the others.
		for d := byte('0'); d <= '9'; d++ {
			if c := seen[d]; c < 2000/10/2 || c > 2000/10*2 {
				t.Errorf("digitsIn(123, %d): first digit %c %d times in 2000", n, d, c)
			}
		}
	}
	for _, n := range []int{0, 19} {
		if _, err := digitsIn("123", n); err == nil {
			t.Errorf("digitsIn(123, %d) gave no error", n)
		}
	}
}
