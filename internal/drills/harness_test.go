package drills

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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

// sandeshBin is the gateway binary every drill runs, built once by TestMain.
var sandeshBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sandesh-drills-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	sandeshBin = filepath.Join(dir, "sandesh")
	out, err := exec.Command("go", "build", "-o", sandeshBin, "sandesh/cmd/sandesh").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build sandesh: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// freePort finds a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisServer is a private redis-server process: drills restart and kill
// it, which the shared server of the other tests must never see.
type redisServer struct {
	t     *testing.T
	port  int
	dir   string
	fsync string // "" for no AOF, else appendfsync: always | everysec
	cmd   *exec.Cmd
	done  chan struct{}
}

func startRedis(t *testing.T, fsync string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("drill needs redis-server on PATH (.ci/run installs it): ", err)
	}
	r := &redisServer{t: t, port: freePort(t), dir: t.TempDir(), fsync: fsync}
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--dir", r.dir}
	if r.fsync == "" {
		args = append(args, "--appendonly", "no")
	} else {
		args = append(args, "--appendonly", "yes", "--appendfsync", r.fsync)
	}
	r.cmd = exec.Command("redis-server", args...)
	out := logFile(r.t, "redis")
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer rdb.Close()
	waitFor(r.t, 10*time.Second, "redis-server to answer", func() bool {
		return rdb.Ping(context.Background()).Err() == nil
	})
}

// kill ends the server with SIGKILL: what the AOF has synced is all that survives.
func (r *redisServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
}

// stop ends the server as an operator would (SIGTERM: the AOF is
// flushed); start brings it back on the same port and data.
func (r *redisServer) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("redis-server did not stop on SIGTERM")
	}
}

// process is one running sandesh process.
type process struct {
	t    *testing.T
	role string // "web", "worker" or "" (both)
	cfg  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startSandesh(t *testing.T, role, cfgPath string) *process {
	t.Helper()
	p := &process{t: t, role: role, cfg: cfgPath}
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *process) start() {
	p.t.Helper()
	args := []string{"--config", p.cfg}
	if p.role != "" {
		args = append(args, p.role)
	}
	p.cmd = exec.Command(sandeshBin, args...)
	name := "sandesh-" + p.role
	if p.role == "" {
		name = "sandesh"
	}
	out := logFile(p.t, name)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.done)
}

// kill ends the process as a crash would: no shutdown code runs.
func (p *process) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// logFile is where a child process writes; its tail is printed when the
// test fails.
func logFile(t *testing.T, name string) *os.File {
	t.Helper()
	path := filepath.Join(logDir(t), name+".log")
	if f, ok := openLogs.Load(path); ok {
		return f.(*os.File) // a restarted process appends to its log
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	openLogs.Store(path, f)
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(path)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("--- tail of %s ---\n%s", name, b)
		}
	})
	return f
}

var logDirs, openLogs sync.Map

func logDir(t *testing.T) string {
	if d, ok := logDirs.Load(t.Name()); ok {
		return d.(string)
	}
	d := t.TempDir()
	logDirs.Store(t.Name(), d)
	return d
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gatewayConfig is the YAML both processes read.
type gatewayConfig struct {
	WebPort, WorkerPort int
	RedisURL            string
	Providers           []providerConfig
	OpenFor             time.Duration
	Workers             int // transactional concurrency
}

type providerConfig struct {
	Name, AccountSID, AuthToken, BaseURL string
}

const (
	adminKey = "drill-admin-key-0123456789abcdef"
	secret   = "drill-secret-0123456789abcdef0123456789"
)

func writeConfig(t *testing.T, c gatewayConfig, listen int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:%d\npublic_url: http://127.0.0.1:%d\nredis_url: %s\n", listen, c.WebPort, c.RedisURL)
	fmt.Fprintf(&b, "secret: %s\nadmin_key: %s\nussd_token: drill\nkyvs_verifier_per_hour: 1000000\nlog_level: warn\n", secret, adminKey)
	fmt.Fprintf(&b, "breaker:\n  failures: 3\n  open_for: %s\n", cmpDur(c.OpenFor, 2*time.Second))
	fmt.Fprintf(&b, "workers:\n  otp: 10\n  transactional: %d\n  bulk: 5\nproviders:\n", max(c.Workers, 10))
	for _, p := range c.Providers {
		fmt.Fprintf(&b, "  - name: %s\n    kind: twilio\n    account_sid: %s\n    auth_token: %s\n    from: \"+15005550006\"\n    base_url: %s\n",
			p.Name, p.AccountSID, p.AuthToken, p.BaseURL)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sandesh-%d.yaml", listen))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func cmpDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// gateway is a web process and a worker process over one Redis.
type gateway struct {
	t      *testing.T
	base   string
	web    *process
	worker *process
	http   *http.Client
}

func startGateway(t *testing.T, c gatewayConfig) *gateway {
	t.Helper()
	c.WebPort, c.WorkerPort = freePort(t), freePort(t)
	g := &gateway{
		t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.WebPort),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	g.web = startSandesh(t, "web", writeConfig(t, c, c.WebPort))
	g.worker = startSandesh(t, "worker", writeConfig(t, c, c.WorkerPort))
	waitFor(t, 20*time.Second, "the web process to be ready", func() bool { return g.get("/readyz") == http.StatusOK })
	workerBase := fmt.Sprintf("http://127.0.0.1:%d", c.WorkerPort)
	waitFor(t, 20*time.Second, "the worker to be ready", func() bool {
		resp, err := g.http.Get(workerBase + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return g
}

func (g *gateway) get(path string) int {
	resp, err := g.http.Get(g.base + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// call posts JSON with a key and decodes the answer into out (if 2xx). A
// transport error is status 0.
// call posts body to path with key and decodes a 2xx answer into out;
// header holds extra header name/value pairs.
func (g *gateway) call(ctx context.Context, key, path string, body, out any, header ...string) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s answer: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}

// getJSON reads path with the admin key into out.
func (g *gateway) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := g.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (g *gateway) mustCall(key, path string, body, out any) {
	g.t.Helper()
	code, err := g.call(context.Background(), key, path, body, out)
	if err != nil || code/100 != 2 {
		g.t.Fatalf("POST %s: %d %v", path, code, err)
	}
}

// population is what a drill sends doses for: a centre, its key and
// beneficiaries, four to a mobile (the most allowed). The schedule allows
// one dose per person a day, so each dose goes to a person of its own.
type population struct {
	centerKey     string
	beneficiaries []string
}

func (g *gateway) populate(n int) population {
	g.t.Helper()
	g.mustCall(adminKey, "/v1/centers", map[string]string{"id": "D1", "name": "Drill Centre", "district": "Pune", "state": "Maharashtra", "pincode": "411007"}, nil)
	var key struct{ Key string }
	g.mustCall(adminKey, "/v1/admin/keys", map[string]string{"role": "center", "name": "Drill Centre", "center_id": "D1"}, &key)
	pop := population{centerKey: key.Key}
	for i := range n {
		var b struct{ ID string }
		g.mustCall(adminKey, "/v1/beneficiaries", map[string]any{
			"name": fmt.Sprintf("Drill Person %04d", i), "mobile": fmt.Sprintf("98%08d", 10000000+i/4),
			"birth_year": 1980, "gender": "F", "language": "en",
		}, &b)
		pop.beneficiaries = append(pop.beneficiaries, b.ID)
	}
	return pop
}

// doseLoad is a running stream of walk-in doses and what each 2xx promised.
type doseLoad struct {
	wg         sync.WaitGroup
	mu         sync.Mutex
	accepted   map[string]time.Time // certificate id → when the API accepted the dose
	messageIDs map[string]string    // certificate id → message id of its SMS ("" when owed)
	codes      map[int]int          // status code → count (0: no answer)
}

func (l *doseLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}
