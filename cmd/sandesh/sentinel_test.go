package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSentinelURL runs the gateway through a real Redis Sentinel watching
// the test Redis: a redis_url with master_name is followed to the master
// by go-redis and asynq alike.
func TestSentinelURL(t *testing.T) {
	db := newTestRedis(t)
	opts, _ := redis.ParseURL(db.url)
	bin, err := exec.LookPath("redis-server")
	if err != nil || opts.Password != "" || !strings.HasPrefix(opts.Addr, "127.0.0.1:") {
		t.Skip("needs redis-server on PATH and a local Redis without a password (CI has both)")
	}
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	host, masterPort, _ := strings.Cut(opts.Addr, ":")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(
		"port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor sandesh-test %s %s 1\n", port, dir, host, masterPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := exec.Command(bin, conf, "--sentinel")
	if err := sentinel.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sentinel.Process.Kill(); sentinel.Wait() })
	probe := redis.NewSentinelClient(&redis.Options{Addr: "127.0.0.1:" + port})
	defer probe.Close()
	deadline := time.Now().Add(5 * time.Second)
	for probe.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("sentinel did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	url := fmt.Sprintf("redis://127.0.0.1:%s/%d?master_name=sandesh-test", port, cliDB)
	env := map[string]string{"SANDESH_REDIS_URL": url, "SANDESH_SECRET": cliSecret, "SANDESH_ADMIN_KEY": cliAdminKey,
		"SANDESH_LISTEN": "127.0.0.1:" + freePort(t)}
	p := startProcess(t, env)
	addr := p.addr(t)
	awaitReady(t, addr)
	if code, body := get(t, addr, "/v1/centers/C9", "Bearer "+cliAdminKey); code != 404 {
		t.Fatalf("API through Sentinel: %d %s", code, body)
	}
	deadline = time.Now().Add(5 * time.Second)
	for q, _ := asynqQueues(t, db.url); q != "bulk,otp,transactional"; q, _ = asynqQueues(t, db.url) {
		if time.Now().After(deadline) {
			t.Fatalf("asynq through Sentinel serves %q", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
	if strings.Contains(p.output(), cliSecret) {
		t.Fatal("the secret is in the log")
	}
}
