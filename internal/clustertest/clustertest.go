// Package clustertest starts a real Redis Cluster for a test: six
// redis-server processes in cluster mode on free ports, three masters and
// three replicas made with `redis-cli --cluster create --cluster-replicas 1`,
// stopped when the test ends. The gateway's scripts must each stay in one
// hash slot and survive a master's failover (issue 16); only a real
// cluster answers CROSSSLOT and fails over, so the tests run against one.
//
// Without redis-server and redis-cli on PATH a test that starts a cluster
// skips, so that `go test ./...` passes on a machine with only Go; with
// SANDESH_REQUIRE_CLUSTER=1 (set by .ci/run) it fails instead.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv names the variable that turns a missing redis-server into a
// failure.
const RequireEnv = "SANDESH_REQUIRE_CLUSTER"

// NodeTimeout is the cluster-node-timeout the nodes run with: a master
// unreachable this long is failed over to its replica.
const NodeTimeout = 2 * time.Second

// Cluster is a running cluster of three masters and three replicas.
type Cluster struct {
	dir string

	mu    sync.Mutex
	nodes map[string]*exec.Cmd // by address, while running
}

// Start starts a cluster for t and stops it in t.Cleanup.
func Start(t testing.TB) *Cluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := fmt.Sprintf("clustertest: %s is not on PATH (Debian: apt-get install redis-server)", bin)
			if os.Getenv(RequireEnv) == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	c := &Cluster{dir: t.TempDir(), nodes: map[string]*exec.Cmd{}}
	t.Cleanup(c.stop)
	ports, err := freePorts(6)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	var addrs []string
	for _, p := range ports {
		addr, err := c.startNode(p)
		if err != nil {
			t.Fatalf("clustertest: %v", err)
		}
		addrs = append(addrs, addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("clustertest: redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.AwaitHealthy(ctx); err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	return c
}

// startNode starts one cluster-mode redis-server on port and waits until
// it answers.
func (c *Cluster) startNode(port int) (string, error) {
	p := strconv.Itoa(port)
	dir := filepath.Join(c.dir, p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("redis-server", "--port", p, "--bind", "127.0.0.1", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.Itoa(int(NodeTimeout.Milliseconds())),
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start redis-server on %s: %w", p, err)
	}
	addr := "127.0.0.1:" + p
	c.mu.Lock()
	c.nodes[addr] = cmd
	c.mu.Unlock()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	for range 200 {
		if rdb.Ping(context.Background()).Err() == nil {
			return addr, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return "", fmt.Errorf("redis-server on %s did not answer; see %s", p, filepath.Join(dir, "redis.log"))
}

// Addrs lists the addresses of the nodes still running.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for a := range c.nodes {
		out = append(out, a)
	}
	return out
}

// Client is a cluster client on every running node; the test closes it.
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
}

// MasterOf is the address of the master serving key's slot, as a running
// node sees it.
func (c *Cluster) MasterOf(ctx context.Context, key string) (string, error) {
	var last error
	for _, a := range c.Addrs() {
		rdb := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		var slots []redis.ClusterSlot
		if err == nil {
			slots, err = rdb.ClusterSlots(ctx).Result()
		}
		rdb.Close()
		if err != nil {
			last = err
			continue
		}
		for _, s := range slots {
			if s.Start <= int(slot) && int(slot) <= s.End && len(s.Nodes) > 0 {
				return s.Nodes[0].Addr, nil
			}
		}
		return "", fmt.Errorf("no master serves slot %d", slot)
	}
	return "", fmt.Errorf("master of %s: %w", key, last)
}

// Kill kills the node at addr with SIGKILL, as a crashed machine would go.
func (c *Cluster) Kill(addr string) error {
	c.mu.Lock()
	cmd, ok := c.nodes[addr]
	delete(c.nodes, addr)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("no node at %s", addr)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = cmd.Wait()
	return nil
}

// Pause stops the node at addr with SIGSTOP (a replica that lags without
// its connections closing); Resume lets it go on.
func (c *Cluster) Pause(addr string) error { return c.signal(addr, syscall.SIGSTOP) }

// Resume continues a node Pause stopped.
func (c *Cluster) Resume(addr string) error { return c.signal(addr, syscall.SIGCONT) }

func (c *Cluster) signal(addr string, sig syscall.Signal) error {
	c.mu.Lock()
	cmd, ok := c.nodes[addr]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("no node at %s", addr)
	}
	return cmd.Process.Signal(sig)
}

// ReplicaOf is the address of a replica of the master at addr.
func (c *Cluster) ReplicaOf(ctx context.Context, master string) (string, error) {
	cl := redis.NewClient(&redis.Options{Addr: master})
	defer cl.Close()
	role, err := cl.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", fmt.Errorf("role of %s: %w", master, err)
	}
	if len(role) < 3 || role[0] != "master" {
		return "", fmt.Errorf("%s is not a master: %v", master, role)
	}
	list, _ := role[2].([]any)
	for _, r := range list {
		if f, ok := r.([]any); ok && len(f) >= 2 {
			return fmt.Sprintf("%v:%v", f[0], f[1]), nil
		}
	}
	return "", fmt.Errorf("%s has no replica", master)
}

// AwaitHealthy waits until every running node says the cluster is ok with
// all 16384 slots served, and every master that has a replica sees it
// online (a fresh cluster's replicas sync after it says ok).
func (c *Cluster) AwaitHealthy(ctx context.Context) error {
	for {
		err := c.healthy(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context) error {
	for _, a := range c.Addrs() {
		rdb := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		info, err := rdb.ClusterInfo(ctx).Result()
		rdb.Close()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return errors.New(a + " does not report every slot served")
		}
		rdb = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		repl, err := rdb.Info(ctx, "replication").Result()
		rdb.Close()
		if err != nil {
			return err
		}
		if strings.Contains(repl, "role:master") && !strings.Contains(repl, "connected_slaves:0") && !strings.Contains(repl, "state=online") {
			return errors.New(a + "'s replica is not online yet")
		}
		// A node says ok until it has marked a dead master failed
		// (cluster-node-timeout): every slot must be served by a live one.
		rdb = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		slots, err := rdb.ClusterSlots(ctx).Result()
		rdb.Close()
		if err != nil {
			return err
		}
		for _, sl := range slots {
			if len(sl.Nodes) == 0 || !c.running(sl.Nodes[0].Addr) {
				return fmt.Errorf("%s sees slots %d-%d on a dead master", a, sl.Start, sl.End)
			}
		}
	}
	return nil
}

func (c *Cluster) running(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.nodes[addr]
	return ok
}

func (c *Cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, cmd := range c.nodes {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		delete(c.nodes, a)
	}
}

// freePorts finds n ports whose cluster bus ports (port + 10000) are free
// too.
func freePorts(n int) ([]int, error) {
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for tries := 0; len(out) < n && tries < 200; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		p := l.Addr().(*net.TCPAddr).Port
		if p+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		held = append(held, bus)
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("found %d free port pairs of %d", len(out), n)
	}
	return out, nil
}
