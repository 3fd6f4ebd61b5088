package main

import (
	"context"
	"strings"
	"testing"

	"sandesh/internal/redisdump"
)

// TestMigrateCommand: a deployment of the earlier release is refused by
// this one until `sandesh migrate` has moved its data; then it starts,
// and a second migrate finds nothing to do.
func TestMigrateCommand(t *testing.T) {
	db := newTestRedis(t)
	keys, err := redisdump.Read("../../store/testdata/layout1/dump.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := redisdump.Load(context.Background(), db.rdb, keys); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SANDESH_REDIS_URL": db.url, "SANDESH_ADMIN_KEY": cliAdminKey,
		"SANDESH_SECRET": "fixture-secret-0123456789abcdef-0123456789"} // the earlier release's, in the fixture

	if code, _, stderr := runProcess(t, env, "", "reminders", "reindex"); code != 1 || !strings.Contains(stderr, "earlier version") ||
		!strings.Contains(stderr, "Upgrading") {
		t.Fatalf("before migrate: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runProcess(t, env, "", "migrate")
	if code != 0 || !strings.Contains(stdout, "written        15  beneficiary") || !strings.Contains(stdout, "migrated in") {
		t.Fatalf("migrate: exit %d:\n%s%s", code, stdout, stderr)
	}
	t.Logf("%s", stdout)
	if strings.Contains(stdout+stderr, "fixture-secret") {
		t.Error("migrate printed the secret")
	}
	code, stdout, stderr = runProcess(t, env, "", "migrate")
	if code != 0 || strings.Contains(stdout, "written") {
		t.Fatalf("a second migrate: exit %d:\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runProcess(t, env, "", "reminders", "reindex"); code != 0 {
		t.Fatalf("after migrate: exit %d: %s%s", code, stdout, stderr)
	}

	for _, args := range [][]string{
		{"migrate", "now"},
		{"migrate", "--from"},
		{"migrate", "--from", "redis+cluster://127.0.0.1:1"},
		{"migrate", "--from", "redis://:secret-pw@127.0.0.1:1/0"},
	} {
		code, _, stderr := runProcess(t, env, "", args...)
		if code != 2 || strings.Contains(stderr, "secret-pw") {
			t.Errorf("%q: exit %d: %s", args, code, stderr)
		}
	}
}
