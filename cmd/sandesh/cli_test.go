package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
	"sandesh/providers/twilio/twiliotest"
)

// cliDB is this package's Redis database number (README, "Development").
const cliDB = 5

// lockedBuffer is an io.Writer safe for concurrent use: the process writes
// its logs and console SMS from many goroutines while the test reads them.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cliEnv is an environment holding only m: nothing leaks in from the
// machine running the tests.
func cliEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// process is one `sandesh ARGS` running in-process until stopped.
type process struct {
	stdout, stderr lockedBuffer
	cancel         context.CancelFunc
	done           chan int // receives the exit code once
	code           int
	exited         bool
}

// startProcess runs `sandesh args...` with env and nothing on stdin. The
// process is stopped when the test ends, if the test has not stopped it.
func startProcess(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{cancel: cancel, done: make(chan int, 1)}
	c := cli{stdin: strings.NewReader(""), stdout: &p.stdout, stderr: &p.stderr, env: cliEnv(env)}
	go func() { p.done <- c.run(ctx, args) }()
	t.Cleanup(func() {
		if !p.exited {
			cancel()
			select {
			case <-p.done:
			case <-time.After(25 * time.Second):
				t.Errorf("process still running 25 s after its context was cancelled")
			}
		}
	})
	return p
}

// output is everything the process wrote, for failure messages.
func (p *process) output() string {
	return "stdout:\n" + p.stdout.String() + "\nstderr:\n" + p.stderr.String()
}

// await polls until re matches w and returns the submatches. It fails the
// test when the process exits first or timeout passes.
func (p *process) await(t *testing.T, w *lockedBuffer, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(w.String()); m != nil {
			return m
		}
		select {
		case code := <-p.done:
			p.exited, p.code = true, code
			t.Fatalf("process exited with %d before printing %q\n%s", code, re, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s\n%s", re, timeout, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var listeningLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

// addr waits for the "listening" log line and returns the address.
func (p *process) addr(t *testing.T) string {
	t.Helper()
	return p.await(t, &p.stderr, listeningLine, 5*time.Second)[1]
}

// stop cancels the context, as SIGINT does, and returns the exit code; the
// process must exit within timeout.
func (p *process) stop(t *testing.T, timeout time.Duration) int {
	t.Helper()
	if p.exited {
		t.Fatalf("process had already exited with %d\n%s", p.code, p.output())
	}
	p.cancel()
	select {
	case p.code = <-p.done:
		p.exited = true
		return p.code
	case <-time.After(timeout):
		t.Fatalf("process still running %s after its context was cancelled\n%s", timeout, p.output())
		return -1
	}
}

// runProcess runs a command that is expected to end by itself, within 5 s.
func runProcess(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errOut lockedBuffer
	code = cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, env: cliEnv(env)}.run(ctx, args)
	if ctx.Err() != nil {
		t.Errorf("sandesh %q did not end by itself within 5 s", args)
	}
	return code, out.String(), errOut.String()
}

// httpClient opens a new connection per request, so no idle keep-alive
// connection holds up the server's graceful shutdown.
var httpClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get requests http://addr+path with the Authorization header auth (none when "").
func get(t *testing.T, addr, path, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// awaitReady polls /readyz until it answers 200, for at most 5 s.
func awaitReady(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, addr, "/readyz", "")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after 5 s: %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// refused reports whether nothing accepts connections on addr any more.
func refused(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

var (
	welcomeAPI      = regexp.MustCompile(`(?m)^  API +http://(\S+) `)
	welcomeAdminKey = regexp.MustCompile(`(?m)^  admin key (\S+) `)
)

// TestRunEmbedded is the newcomer's path: `sandesh` with no config at all.
func TestRunEmbedded(t *testing.T) {
	p := startProcess(t, map[string]string{"SANDESH_LISTEN": "127.0.0.1:0"})
	addr := p.addr(t)
	key := p.await(t, &p.stdout, welcomeAdminKey, 5*time.Second)[1]
	if api := p.await(t, &p.stdout, welcomeAPI, time.Second)[1]; api != addr {
		t.Errorf("welcome text shows API at %s, the process listens on %s", api, addr)
	}
	if !strings.Contains(p.stdout.String(), "http://"+addr+"/admin/queues") {
		t.Errorf("welcome text does not show the queue monitor at http://%s/admin/queues:\n%s", addr, p.stdout.String())
	}
	if !strings.Contains(p.stderr.String(), "embedded in-memory Redis") {
		t.Errorf("no warning about the embedded Redis on stderr:\n%s", p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), key) {
		t.Errorf("the admin key is shown once, on stdout, but it is in the log too:\n%s", p.stderr.String())
	}

	awaitReady(t, addr)
	for _, tc := range []struct {
		name, path, auth string
		want             int
		wantBody         string
	}{
		{"healthz", "/healthz", "", 200, `"ok"`},
		{"readyz", "/readyz", "", 200, `"ready"`},
		{"queues with the admin key", "/admin/queues", "Bearer " + key, 200, ""},
		{"queues with the admin key as Basic password", "/admin/queues", basicAuth("anyone", key), 200, ""},
		{"queues without a key", "/admin/queues", "", 401, `"unauthorized"`},
		{"queues with a wrong key", "/admin/queues", "Bearer " + key + "x", 401, `"unauthorized"`},
		{"metrics show the console provider's breaker", "/metrics", "Bearer " + key, 200, `sandesh_breaker_state{provider="console"} 0`},
		{"metrics without a key", "/metrics", "", 401, `"unauthorized"`},
		{"openapi", "/openapi.yaml", "", 200, "openapi:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, addr, tc.path, tc.auth)
			if code != tc.want {
				t.Errorf("GET %s: %d, want %d: %.300s", tc.path, code, tc.want, body)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("GET %s: body does not contain %q: %.300s", tc.path, tc.wantBody, body)
			}
		})
	}

	start := time.Now()
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Errorf("exit code %d after a graceful shutdown, want 0\n%s", code, p.output())
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	if !refused(addr) {
		t.Errorf("%s still accepts connections after the process stopped", addr)
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("no \"stopped\" log line:\n%s", p.stderr.String())
	}
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// testRedis is this package's database on the test Redis.
type testRedis struct {
	url      string // redis://… for redis_url
	password string // "" when none
	rdb      *redis.Client
}

// newTestRedis finds the test Redis (the probe for a local server can take
// a second and a half when none runs, so a test calls this once) and empties
// the database before and after the test.
func newTestRedis(t *testing.T) *testRedis {
	t.Helper()
	opts := redistest.Options(t, cliDB)
	if opts.Network != "" && opts.Network != "tcp" {
		t.Skipf("REDIS_URL over %s: this test builds a redis:// URL", opts.Network)
	}
	r := &testRedis{password: opts.Password, rdb: redis.NewClient(opts)}
	r.flush(t)
	t.Cleanup(func() {
		r.rdb.FlushDB(context.Background())
		r.rdb.Close()
	})
	u := url.URL{Scheme: "redis", Host: opts.Addr, Path: fmt.Sprintf("/%d", cliDB)}
	if opts.TLSConfig != nil {
		u.Scheme = "rediss"
	}
	switch {
	case opts.Password != "":
		u.User = url.UserPassword(opts.Username, opts.Password)
	case opts.Username != "":
		u.User = url.User(opts.Username)
	}
	r.url = u.String()
	return r
}

// flush empties the database, so each case starts from nothing.
func (r *testRedis) flush(t *testing.T) {
	t.Helper()
	if err := r.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush redis db %d: %v", cliDB, err)
	}
}

// asynqQueues lists, sorted, the queues served by the asynq servers
// registered in the test database (as /admin/queues shows them), and how
// many servers there are.
func asynqQueues(t *testing.T, redisURL string) (queues string, servers int) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	defer in.Close()
	list, err := in.Servers()
	if err != nil {
		t.Fatalf("list asynq servers: %v", err)
	}
	var names []string
	for _, s := range list {
		for q := range s.Queues {
			if !slices.Contains(names, q) {
				names = append(names, q)
			}
		}
	}
	slices.Sort(names)
	return strings.Join(names, ","), len(list)
}

// Secrets of TestRunWithRedis, distinctive so a leak is unmistakable.
const (
	cliSecret   = "cli-test-secret-0123456789-abcdefghijklmnop"
	cliAdminKey = "cli-test-admin-key-5f1e2d3c4b5a"
)

// TestRunWithRedis runs each process type against the real Redis with two
// Twilio providers pointing at doubles.
func TestRunWithRedis(t *testing.T) {
	db := newTestRedis(t)
	for _, tc := range []struct {
		name       string
		args       []string // before the config flag is added; "CONFIG" is replaced by the file
		viaEnv     bool     // name the file by SANDESH_CONFIG instead of --config
		web        bool
		wantQueues string // served by asynq servers while running, sorted
	}{
		{name: "web and worker, --config", args: []string{"--config", "CONFIG"}, web: true, wantQueues: "bulk,otp,transactional"},
		{name: "web and worker, SANDESH_CONFIG", viaEnv: true, web: true, wantQueues: "bulk,otp,transactional"},
		{name: "web", args: []string{"--config", "CONFIG", "web"}, web: true, wantQueues: ""},
		{name: "worker", args: []string{"--config=CONFIG", "worker"}, web: false, wantQueues: "bulk,otp,transactional"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db.flush(t)
			redisURL, redisPassword := db.url, db.password
			primary, backup := twiliotest.NewServer(t), twiliotest.NewServer(t)
			port, metricsPort := freePort(t), freePort(t)
			path := filepath.Join(t.TempDir(), "sandesh.yaml")
			config := fmt.Sprintf(`
listen: 127.0.0.1:%[1]s
public_url: http://127.0.0.1:%[1]s
redis_url: ${TEST_REDIS_URL}
secret: ${SANDESH_SECRET}
admin_key: %[2]s
log_level: info
providers:
  - name: primary
    kind: twilio
    account_sid: %[3]s
    auth_token: ${PRIMARY_TOKEN}
    from: "+15005550006"
    base_url: %[4]s
  - name: backup
    kind: twilio
    account_sid: %[5]s
    auth_token: %[6]s
    messaging_service_sid: MG0123456789abcdef
    base_url: %[7]s/
breaker:
  failures: 3
  open_for: 10s
`, port, cliAdminKey, primary.AccountSID, primary.URL, backup.AccountSID, backup.AuthToken, backup.URL)
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{
				"TEST_REDIS_URL": redisURL,
				"SANDESH_SECRET": cliSecret,
				"PRIMARY_TOKEN":  primary.AuthToken,
				"PORT":           "1", // listen is set in the file: PORT must not win
				// /metrics without auth only there
				"SANDESH_METRICS_LISTEN": "127.0.0.1:" + metricsPort,
			}
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "CONFIG", path))
			}
			if tc.viaEnv {
				env["SANDESH_CONFIG"] = path
			}

			p := startProcess(t, env, args...)
			if tc.web {
				addr := p.addr(t)
				if addr != "127.0.0.1:"+port {
					t.Errorf("listening on %s, the config says 127.0.0.1:%s", addr, port)
				}
				awaitReady(t, addr)
				if code, _ := get(t, addr, "/metrics", ""); code != http.StatusUnauthorized {
					t.Errorf("/metrics on listen without a key: %d, want 401", code)
				}
				for _, at := range []struct{ addr, auth string }{{addr, "Bearer " + cliAdminKey}, {"127.0.0.1:" + metricsPort, ""}} {
					code, metrics := get(t, at.addr, "/metrics", at.auth)
					if code != http.StatusOK {
						t.Fatalf("/metrics on %s: %d", at.addr, code)
					}
					for _, want := range []string{
						`sandesh_breaker_state{provider="primary"} 0`,
						`sandesh_breaker_state{provider="backup"} 0`,
					} {
						if !strings.Contains(metrics, want) {
							t.Errorf("/metrics on %s has no %q", at.addr, want)
						}
					}
				}
				if code, _ := get(t, "127.0.0.1:"+metricsPort, "/v1/centers/C1", "Bearer "+cliAdminKey); code != http.StatusNotFound {
					t.Errorf("metrics_listen serves more than /metrics: /v1/centers/C1 = %d", code)
				}
				if code, body := get(t, addr, "/admin/queues", "Bearer "+cliAdminKey); code != http.StatusOK {
					t.Errorf("/admin/queues with the configured admin key: %d %.300s", code, body)
				}
			} else {
				// A worker serves health and metrics only.
				addr := p.addr(t)
				awaitReady(t, addr)
				if code, metrics := get(t, addr, "/metrics", "Bearer "+cliAdminKey); code != http.StatusOK || !strings.Contains(metrics, `sandesh_breaker_state{provider="primary"} 0`) {
					t.Errorf("worker /metrics: %d", code)
				}
				if code, metrics := get(t, "127.0.0.1:"+metricsPort, "/metrics", ""); code != http.StatusOK || !strings.Contains(metrics, `sandesh_breaker_state{provider="primary"} 0`) {
					t.Errorf("worker /metrics on metrics_listen: %d", code)
				}
				if code, _ := get(t, addr, "/v1/centers/C1", "Bearer "+cliAdminKey); code != http.StatusNotFound {
					t.Errorf("worker serves the API: /v1/centers/C1 = %d", code)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for q, _ := asynqQueues(t, redisURL); q != tc.wantQueues; q, _ = asynqQueues(t, redisURL) {
				if time.Now().After(deadline) {
					t.Fatalf("asynq servers serve %q after 5 s, want %q\n%s", q, tc.wantQueues, p.output())
				}
				time.Sleep(20 * time.Millisecond)
			}

			if code := p.stop(t, 5*time.Second); code != 0 {
				t.Errorf("exit code %d after a graceful shutdown, want 0\n%s", code, p.output())
			}
			if _, n := asynqQueues(t, redisURL); n != 0 {
				t.Errorf("%d asynq servers still registered after the shutdown", n)
			}
			if !refused("127.0.0.1:" + port) {
				t.Errorf("port %s still accepts connections after the process stopped", port)
			}

			stderr := p.stderr.String()
			for _, want := range []string{
				"msg=starting",
				"config.secret=[redacted]",
				"config.admin_key=[redacted]",
				"config.providers.0.auth_token=[redacted]",
				"config.providers.1.auth_token=[redacted]",
				"config.providers.1.name=backup",
				"msg=stopped",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr has no %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr, "embedded") && !strings.Contains(stderr, "embedded=false") {
				t.Errorf("a process with redis_url mentions the embedded Redis:\n%s", stderr)
			}
			if strings.Contains(p.stdout.String(), "admin key") {
				t.Errorf("the welcome text (embedded only) was printed:\n%s", p.stdout.String())
			}
			secrets := map[string]string{
				"secret":             cliSecret,
				"admin_key":          cliAdminKey,
				"primary auth_token": primary.AuthToken,
				"backup auth_token":  backup.AuthToken,
			}
			if redisPassword != "" {
				secrets["redis password"] = redisPassword
			}
			for name, s := range secrets {
				if strings.Contains(p.stdout.String(), s) || strings.Contains(stderr, s) {
					t.Errorf("the %s appears in the output\n%s", name, p.output())
				}
			}
			if n := primary.Calls() + backup.Calls(); n != 0 {
				t.Errorf("the Twilio doubles were called %d times; nothing was sent", n)
			}
		})
	}

	t.Run("web, listen address in use", func(t *testing.T) {
		db.flush(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		env := map[string]string{"SANDESH_LISTEN": ln.Addr().String(), "SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret}
		code, _, stderr := runProcess(t, env, "", "web")
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		if want := "sandesh: listen on " + ln.Addr().String(); !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	})
}

// TestRunRefuses covers the commands that must end at once with a message.
func TestRunRefuses(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, tc := range []struct {
		name     string
		args     []string
		config   string // written to a file named by --config when not ""
		env      map[string]string
		wantCode int
		want     []string // in stderr
		secret   string   // must not be in stderr
	}{
		{name: "web without redis_url", args: []string{"web"},
			wantCode: 2, want: []string{"web as a separate process needs redis_url"}},
		{name: "worker without redis_url", args: []string{"worker"},
			wantCode: 2, want: []string{"worker as a separate process needs redis_url"}},
		{name: "web with SANDESH_REDIS_URL empty", args: []string{"web"}, env: map[string]string{"SANDESH_REDIS_URL": ""},
			wantCode: 2, want: []string{"needs redis_url"}},
		{name: "unknown command", args: []string{"send"},
			wantCode: 2, want: []string{`unknown command "send"`, "usage: sandesh", "segments"}},
		{name: "argument after web", args: []string{"web", "now"},
			wantCode: 2, want: []string{`unknown command "web now"`, "usage: sandesh"}},
		{name: "unknown flag", args: []string{"--verbose"},
			wantCode: 2, want: []string{"-verbose", "usage: sandesh"}},
		{name: "--config without a file", args: []string{"--config"},
			wantCode: 2, want: []string{"flag needs an argument", "usage: sandesh"}},
		{name: "breaker.failures 0", config: "breaker:\n  failures: 0\n",
			wantCode: 2, want: []string{"breaker.failures: must be at least 1"}},
		{name: "unknown key", config: "breaker:\n  failure: 3\n",
			wantCode: 2, want: []string{"breaker.failure: unknown key"}},
		{name: "problems all named", config: "timezone: Mars/Olympus\nlanguages: [en, fr]\n",
			wantCode: 2, want: []string{"timezone:", "languages[1]:"}},
		{name: "bad config for web names the key, not the needs-redis message", args: []string{"web"}, config: "breaker:\n  failures: 0\n",
			wantCode: 2, want: []string{"breaker.failures"}},
		{name: "bad env override", env: map[string]string{"SANDESH_BREAKER_FAILURES": "0"},
			wantCode: 2, want: []string{"breaker.failures: must be at least 1"}},
		{name: "short secret not echoed", config: "redis_url: redis://127.0.0.1:6379/5\nsecret: hunter2-short\n",
			wantCode: 2, want: []string{"secret: must be at least 32 bytes"}, secret: "hunter2-short"},
		{name: "redis_url password not echoed", config: "redis_url: redis://:pa55word@127.0.0.1:6379/x\nsecret: " + cliSecret + "\n",
			wantCode: 2, want: []string{"redis_url: database must be a number"}, secret: "pa55word"},
		{name: "missing config file", args: []string{"--config", missing},
			wantCode: 2, want: []string{"config:", "missing.yaml"}},
		{name: "missing SANDESH_CONFIG file", env: map[string]string{"SANDESH_CONFIG": missing},
			wantCode: 2, want: []string{"config:", "missing.yaml"}},
		{name: "redis unreachable", config: "redis_url: redis://127.0.0.1:1/5\nsecret: " + cliSecret + "\n",
			wantCode: 1, want: []string{"connect to redis"}, secret: cliSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SANDESH_LISTEN": "127.0.0.1:0"}
			for k, v := range tc.env {
				env[k] = v
			}
			args := tc.args
			if tc.config != "" {
				path := filepath.Join(t.TempDir(), "sandesh.yaml")
				if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"--config", path}, args...)
			}
			code, stdout, stderr := runProcess(t, env, "", args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tc.wantCode, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if tc.secret != "" && strings.Contains(stderr+stdout, tc.secret) {
				t.Errorf("the secret %q appears in the output:\n%s%s", tc.secret, stdout, stderr)
			}
			if strings.Contains(stderr, "msg=listening") {
				t.Errorf("the process started listening:\n%s", stderr)
			}
		})
	}
}

// TestSegments is the template author's tool: TEXT (or stdin) → one JSON line.
func TestSegments(t *testing.T) {
	gsm160, gsm161 := strings.Repeat("a", 160), strings.Repeat("a", 161)
	deva := "नमस्ते" // न म स ् त े: 6 UCS-2 units
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"plain", []string{"hello"}, "", `{"encoding":"GSM-7","segments":1,"units":5}`},
		{"words joined by one space", []string{"hello", "world"}, "", `{"encoding":"GSM-7","segments":1,"units":11}`},
		{"empty argument", []string{""}, "ignored", `{"encoding":"GSM-7","segments":1,"units":0}`},
		{"160 fit one SMS", []string{gsm160}, "", `{"encoding":"GSM-7","segments":1,"units":160}`},
		{"161 take two", []string{gsm161}, "", `{"encoding":"GSM-7","segments":2,"units":161}`},
		{"euro counts 2 units", []string{"€"}, "", `{"encoding":"GSM-7","segments":1,"units":2}`},
		{"euro in a price", []string{"Rs 50 or 1€"}, "", `{"encoding":"GSM-7","segments":1,"units":12}`},
		{"80 euros fit one SMS", []string{strings.Repeat("€", 80)}, "", `{"encoding":"GSM-7","segments":1,"units":160}`},
		{"81 euros take two", []string{strings.Repeat("€", 81)}, "", `{"encoding":"GSM-7","segments":2,"units":162}`},
		{"159 a and a euro overflow", []string{strings.Repeat("a", 159) + "€"}, "", `{"encoding":"GSM-7","segments":2,"units":161}`},
		{"Devanagari", []string{deva}, "", `{"encoding":"UCS-2","segments":1,"units":6}`},
		{"Devanagari makes the whole text UCS-2", []string{"Code 4821 " + deva}, "", `{"encoding":"UCS-2","segments":1,"units":16}`},
		{"70 UCS-2 units fit one SMS", []string{strings.Repeat("क", 70)}, "", `{"encoding":"UCS-2","segments":1,"units":70}`},
		{"71 UCS-2 units take two", []string{strings.Repeat("क", 71)}, "", `{"encoding":"UCS-2","segments":2,"units":71}`},
		{"emoji is a surrogate pair", []string{"ok 👍"}, "", `{"encoding":"UCS-2","segments":1,"units":5}`},
		{"stdin, trailing newline not counted", nil, "hello\n", `{"encoding":"GSM-7","segments":1,"units":5}`},
		{"stdin, CRLF not counted", nil, "hello\r\n", `{"encoding":"GSM-7","segments":1,"units":5}`},
		{"stdin, no newline", nil, "hello", `{"encoding":"GSM-7","segments":1,"units":5}`},
		{"stdin, inner newline counted", nil, "line1\nline2\n", `{"encoding":"GSM-7","segments":1,"units":11}`},
		{"stdin, only the last newline dropped", nil, "hello\n\n", `{"encoding":"GSM-7","segments":1,"units":6}`},
		{"stdin, 161 chars and newline", nil, gsm161 + "\n", `{"encoding":"GSM-7","segments":2,"units":161}`},
		{"stdin, Devanagari", nil, deva + "\n", `{"encoding":"UCS-2","segments":1,"units":6}`},
		{"stdin, empty", nil, "", `{"encoding":"GSM-7","segments":1,"units":0}`},
		{"after --config, which it does not read", []string{"--config", "/nonexistent.yaml", "segments", "hi"}, "", `{"encoding":"GSM-7","segments":1,"units":2}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if len(args) == 0 || args[0] != "--config" {
				args = append([]string{"segments"}, args...)
			}
			code, stdout, stderr := runProcess(t, nil, tc.stdin, args...)
			if code != 0 {
				t.Errorf("exit code %d, want 0; stderr: %s", code, stderr)
			}
			if stdout != tc.want+"\n" {
				t.Errorf("stdout %q, want %q", stdout, tc.want+"\n")
			}
			if stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
		})
	}
}

var demoKeyLine = regexp.MustCompile(`(?m)^  (admin|registry|center \(C1\)|verifier|support) +(sdk_[0-9a-f]{48})$`)

// demoKeys reads the keys `sandesh demo` printed, by role.
func demoKeys(t *testing.T, stdout string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for _, m := range demoKeyLine.FindAllStringSubmatch(stdout, -1) {
		keys[m[1]] = m[2]
	}
	if len(keys) != 5 {
		t.Fatalf("want one key per role, got %v in:\n%s", keys, stdout)
	}
	return keys
}

// TestDemo loads the demo data once and prints working keys every time.
func TestDemo(t *testing.T) {
	db := newTestRedis(t)
	config := filepath.Join(t.TempDir(), "sandesh.yaml")
	if err := os.WriteFile(config, []byte("redis_url: ${TEST_REDIS_URL}\nsecret: ${SANDESH_SECRET}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TEST_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret}
	for i, want := range []string{"Loaded demo centres C1-C3", "Demo data was already loaded"} {
		code, stdout, stderr := runProcess(t, env, "", "--config", config, "demo")
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("run %d: exit %d, stdout %q, want it to say %q; stderr: %s", i+1, code, stdout, want, stderr)
		}
		demoKeys(t, stdout)
		if strings.Contains(stderr, "sdk_") || strings.Contains(stderr, cliSecret) {
			t.Errorf("a secret appears in the log:\n%s", stderr)
		}
	}
	ctx := context.Background()
	bens, err := db.rdb.Keys(ctx, "sandesh:ben:{c???}:??????????????").Result()
	if err != nil || len(bens) != 10 {
		t.Fatalf("demo beneficiaries: %d (%v), want 10", len(bens), err)
	}
	centers, err := db.rdb.Keys(ctx, "sandesh:center:*").Result()
	if err != nil || len(centers) != 3 {
		t.Fatalf("demo centres: %d (%v), want 3", len(centers), err)
	}

	// Embedded: the data lives and dies with the process, keys still print.
	code, stdout, stderr := runProcess(t, nil, "", "demo")
	if code != 0 {
		t.Fatalf("embedded demo: exit %d; stderr: %s", code, stderr)
	}
	demoKeys(t, stdout)
}

// TestKeysCreate issues a key an operator can use at once.
func TestKeysCreate(t *testing.T) {
	db := newTestRedis(t)
	env := map[string]string{"SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret, "SANDESH_ADMIN_KEY": cliAdminKey}
	if code, _, stderr := runProcess(t, env, "", "demo"); code != 0 {
		t.Fatalf("demo: %s", stderr)
	}
	keyLine := regexp.MustCompile(`(?m)^key: +(sdk_[0-9a-f]{48})$`)
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"registry", []string{"--role", "registry", "--name", "CoWIN booking"}, 0, ""},
		{"center", []string{"--role", "center", "--name", "PHC Aundh desk", "--center", "C1"}, 0, ""},
		{"center without centre", []string{"--role", "center", "--name", "desk"}, 1, "center_id"},
		{"centre not registered", []string{"--role", "center", "--name", "desk", "--center", "C9"}, 1, "centre C9: not found"},
		{"malformed centre", []string{"--role", "center", "--name", "desk", "--center", "C 9"}, 1, "center_id"},
		{"centre for another role", []string{"--role", "support", "--name", "desk", "--center", "C1"}, 1, "center_id"},
		{"unknown role", []string{"--role", "root", "--name", "x"}, 1, "role"},
		{"stray argument", []string{"--role", "support", "--name", "x", "extra"}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runProcess(t, env, "", append([]string{"keys", "create"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to contain %q", code, tc.wantCode, stderr, tc.wantErr)
			}
			if tc.wantCode != 0 {
				return
			}
			m := keyLine.FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("no key printed: %q", stdout)
			}
			if strings.Contains(stderr, m[1]) {
				t.Errorf("the key appears in the log")
			}
		})
	}
	if code, _, stderr := runProcess(t, nil, "", "keys", "create", "--role", "support", "--name", "x"); code != 2 || !strings.Contains(stderr, "needs redis_url") {
		t.Errorf("keys create on the embedded Redis: exit %d, stderr %q", code, stderr)
	}
}

func TestListenInUseStopsWorker(t *testing.T) {
	db := newTestRedis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"SANDESH_LISTEN": ln.Addr().String(), "SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret}
	if code, _, _ := runProcess(t, env, ""); code != 1 { // web and worker in one process
		t.Fatalf("exit code %d, want 1", code)
	}
	if q, n := asynqQueues(t, db.url); n != 0 {
		t.Errorf("after run returned, %d asynq servers (queues %s) are still registered and consuming", n, q)
	}
}

// A worker whose listen address is taken (a web process beside it on one
// host) still sends; it only goes without /metrics.
func TestWorkerRunsWhenListenInUse(t *testing.T) {
	db := newTestRedis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"SANDESH_LISTEN": ln.Addr().String(), "SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret}
	p := startProcess(t, env, "worker")
	p.await(t, &p.stderr, regexp.MustCompile(`worker serves no /metrics`), 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for q, _ := asynqQueues(t, db.url); q != "bulk,otp,transactional"; q, _ = asynqQueues(t, db.url) {
		if time.Now().After(deadline) {
			t.Fatalf("worker serves %q", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
}

// TestSecretsCommands: after the secret is replaced (the old one listed in
// previous_secrets), secrets status counts what the old one keys, secrets
// rekey moves the sealed codes and bodies, and status then says so.
func TestSecretsCommands(t *testing.T) {
	db := newTestRedis(t)
	before := map[string]string{"SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret, "SANDESH_ADMIN_KEY": cliAdminKey}
	if code, _, stderr := runProcess(t, before, "", "demo"); code != 0 {
		t.Fatalf("demo: %s", stderr)
	}
	after := map[string]string{"SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": "the-next-secret-of-at-least-32-bytes",
		"SANDESH_PREVIOUS_SECRETS": cliSecret, "SANDESH_ADMIN_KEY": cliAdminKey}
	counts := func(env map[string]string) (map[string][3]int, string) {
		t.Helper()
		code, stdout, stderr := runProcess(t, env, "", "secrets", "status")
		if code != 0 {
			t.Fatalf("secrets status: exit %d: %s", code, stderr)
		}
		if strings.Contains(stdout+stderr, cliSecret) {
			t.Fatal("a secret was printed")
		}
		out := map[string][3]int{}
		for _, m := range regexp.MustCompile(`(?m)^(\w+) +(\d+) +(\d+) +(\d+)$`).FindAllStringSubmatch(stdout, -1) {
			var n [3]int
			for i := range n {
				n[i], _ = strconv.Atoi(m[2+i])
			}
			out[m[1]] = n
		}
		return out, stdout
	}
	got, out := counts(after)
	// The demo: five keys, four bookings with their codes and slips.
	if got["api_keys"] != [3]int{0, 5, 0} || got["security_codes"] != [3]int{0, 4, 0} || got["message_bodies"][1] < 3 ||
		!strings.Contains(out, "still use previous_secrets") {
		t.Fatalf("status before rekey: %v\n%s", got, out)
	}
	code, stdout, stderr := runProcess(t, after, "", "secrets", "rekey")
	if code != 0 || !strings.Contains(stdout, "4 security codes") {
		t.Fatalf("rekey: exit %d: %s %s", code, stdout, stderr)
	}
	got, _ = counts(after)
	if got["security_codes"] != [3]int{4, 0, 0} || got["message_bodies"][1] != 0 || got["api_keys"] != [3]int{0, 5, 0} {
		t.Fatalf("status after rekey: %v", got)
	}
	if _, out := counts(before); !strings.Contains(out, "no previous_secrets configured") {
		t.Errorf("status without previous secrets:\n%s", out)
	}
	for _, args := range [][]string{{"secrets"}, {"secrets", "rotate"}, {"secrets", "status", "now"}} {
		if code, _, _ := runProcess(t, after, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestRemindersReindex: the demo's dosed beneficiaries are indexed, the
// same number again on a second run; a bad subcommand is a usage error.
func TestRemindersReindex(t *testing.T) {
	db := newTestRedis(t)
	env := map[string]string{"SANDESH_REDIS_URL": db.url, "SANDESH_SECRET": cliSecret, "SANDESH_ADMIN_KEY": cliAdminKey}
	if code, _, stderr := runProcess(t, env, "", "demo"); code != 0 {
		t.Fatalf("demo: %s", stderr)
	}
	var first string
	for i := range 2 {
		code, stdout, stderr := runProcess(t, env, "", "reminders", "reindex")
		m := regexp.MustCompile(`^indexed (\d+) beneficiaries`).FindStringSubmatch(stdout)
		if code != 0 || m == nil || m[1] == "0" {
			t.Fatalf("reindex: exit %d: %q %s", code, stdout, stderr)
		}
		if i == 1 && m[1] != first {
			t.Errorf("second run indexed %s, the first %s", m[1], first)
		}
		first = m[1]
	}
	for _, args := range [][]string{{"reminders"}, {"reminders", "run"}} {
		if code, _, stderr := runProcess(t, env, "", args...); code != 2 || !strings.Contains(stderr, "usage: sandesh reminders reindex") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}
