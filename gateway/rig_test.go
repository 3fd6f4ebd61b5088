package gateway

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"sandesh/internal/redistest"
	"sandesh/jobs"
	"sandesh/langs"
	"sandesh/providers"
	"sandesh/providers/twilio"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/stats"
	"sandesh/store"
	"sandesh/templates"
)

const testDB = 4

const adminKey = "admin-key-for-tests-0123456789abcdef"

// rig is the gateway served on a real port, a real Redis, a worker and a
// Twilio double that posts signed callbacks back to the gateway.
type rig struct {
	url    string
	rdb    *redis.Client
	store  *store.Store
	gw     *Gateway
	worker *jobs.Worker
	double *twiliotest.Server
	clock  *atomic.Int64
	tally  *stats.Counter // the dashboard's counts; flushed by hand
	logs   *logBuffer

	// commands counts what the rig sent Redis.
	commands *commandCounter
}

// commandCounter counts Redis commands by name.
type commandCounter struct {
	mu     sync.Mutex
	byName map[string]int
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.add(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *commandCounter) add(cmd redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byName == nil {
		c.byName = map[string]int{}
	}
	c.byName[cmd.Name()]++
}

// count is how many name commands were sent so far.
func (c *commandCounter) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byName[name]
}

// logBuffer collects what the gateway, server and worker log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// logged returns the log lines so far.
func (r *rig) logged() []string {
	r.logs.mu.Lock()
	defer r.logs.mu.Unlock()
	return strings.Split(r.logs.buf.String(), "\n")
}

// advance moves the store's and the gateway's clock on by d.
func (r *rig) advance(d time.Duration) { r.clock.Add(int64(d)) }

const day = 24 * time.Hour

// givenDoses records vaccines as walk-ins at C1 given in the past months
// (the demo's pastDoseAgo), so that the schedule lets each one in.
func (r *rig) givenDoses(t testing.TB, benID string, vaccines ...string) {
	t.Helper()
	for i, v := range vaccines {
		if _, err := r.gw.recordDose(context.Background(), "C1", DoseInput{BeneficiaryID: benID, Vaccine: v, Batch: "B1"},
			r.gw.daysAgo(pastDoseAgo(i, len(vaccines))), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func newRig(t testing.TB) *rig { return newRigWith(t, nil) }

// newRigWith is newRig with server options changed by opt.
func newRigWith(t testing.TB, opt func(*ServerOptions)) *rig {
	t.Helper()
	rdb := redistest.New(t, testDB)
	commands := &commandCounter{}
	rdb.AddHook(commands)
	o := rdb.Options()
	conn := asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB}
	clock := &atomic.Int64{} // how far the tests moved time on
	now := func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }
	st, err := store.New(rdb, store.Options{Secret: []byte("test-secret-test-secret-test-secret"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(conn)
	t.Cleanup(func() { client.Close() })
	dispatch := jobs.NewDispatcher(st, client, nil)
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := jobs.NewMetrics(reg)
	metrics.Tally = stats.New(rdb, st.Prefix(), nil, now)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	double := twiliotest.NewServer(t)
	if check := http.DefaultClient.Transport; check != nil {
		double.Client.Transport = check // the webhooks' answers too are checked against openapi.yaml
	}
	p, err := twilio.New(twilio.Config{Name: "primary", AccountSID: double.AccountSID, AuthToken: double.AuthToken,
		From: "+15005550006", BaseURL: double.URL, PublicURL: public})
	if err != nil {
		t.Fatal(err)
	}
	router, err := providers.NewRouter([]providers.Provider{p}, providers.RouterOptions{Redis: rdb, Prefix: st.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	keys := store.NewKeyCache(st, store.KeyCacheOptions{})
	t.Cleanup(keys.Close)
	gw := New(Deps{Store: st, Dispatch: dispatch, Templates: set, Metrics: metrics, Logger: log,
		Languages: langs.Codes(), Location: kolkata, Region: "IN", Now: now, PublicURL: public, Keys: keys})
	opts := ServerOptions{
		PublicURL: public, TwilioTokens: map[string]string{"primary": double.AuthToken},
		AdminKey: adminKey, Queues: conn, Breakers: router, Registry: reg, Logger: log, Stats: metrics.Tally,
	}
	if opt != nil {
		opt(&opts)
	}
	app := NewServer(gw, opts)
	go app.Listener(ln)
	t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	return &rig{
		url: public, rdb: rdb, commands: commands, store: st, gw: gw, double: double, clock: clock, logs: logs, tally: metrics.Tally,
		worker: jobs.NewWorker(conn, st, router, dispatch, jobs.WorkerOptions{Metrics: metrics, Logger: log}),
	}
}

// startWorker runs the send workers until the test ends, so messages reach
// the double as they would in production.
func (r *rig) startWorker(t *testing.T) {
	t.Helper()
	if err := r.worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.worker.Shutdown)
}

// sendOne queues a security-code SMS and runs its task, returning our
// record and what the double received.
func (r *rig) sendOne(t *testing.T) (store.Message, twiliotest.Message) {
	t.Helper()
	ctx := context.Background()
	m, err := r.gw.Send(ctx, Outgoing{To: "+919876543210", Template: "security_code", Language: "en",
		Vars:     templates.Vars{"center": "PHC Aundh", "date": "22 Nov 2026", "code": "4821"},
		Priority: store.PriorityTransactional})
	if err != nil {
		t.Fatal(err)
	}
	task := asynq.NewTask(jobs.TypeSend, []byte(`{"message_id":"`+m.ID+`"}`))
	if err := r.worker.ProcessSend(ctx, task); err != nil {
		t.Fatal(err)
	}
	msgs := r.double.Messages()
	if len(msgs) == 0 {
		t.Fatal("the double received nothing")
	}
	return m, msgs[len(msgs)-1]
}

func (r *rig) message(t *testing.T, id string) store.Message {
	t.Helper()
	m, err := r.store.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// do sends a request and returns status and body.
func do(t *testing.T, method, url, contentType, body string, header map[string]string) (int, string) {
	t.Helper()
	resp, b := send(t, method, url, contentType, body, header)
	return resp.StatusCode, b
}

// send is do that also gives the response (its body already read).
func send(t *testing.T, method, url, contentType, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// tripHook is a Redis hook that sees every round trip (a command, or a
// pipeline of them) and makes it by calling trip.
type tripHook func(cmds []redis.Cmder, trip func() error) error

func (h tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h([]redis.Cmder{cmd}, func() error { return next(ctx, cmd) })
	}
}

func (h tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h(cmds, func() error { return next(ctx, cmds) })
	}
}

// tripCounter counts round trips to Redis and what they carried, leaving
// out the key cache's version poll, which runs on its own clock.
type tripCounter struct {
	mu      sync.Mutex
	on      bool
	trips   []string
	lastSHA string // of the last round trip, when it was one EVALSHA
}

// scriptSHA is the SHA1 of the script a lone EVALSHA or EVAL runs, and
// whether it was an EVAL.
func scriptSHA(cmds []redis.Cmder) (sha string, eval bool) {
	if len(cmds) != 1 || len(cmds[0].Args()) < 2 {
		return "", false
	}
	script, _ := cmds[0].Args()[1].(string)
	switch cmds[0].Name() {
	case "evalsha":
		return script, false
	case "eval":
		sum := sha1.Sum([]byte(script))
		return hex.EncodeToString(sum[:]), true
	}
	return "", false
}

func (c *tripCounter) count(cmds []redis.Cmder, trip func() error) error {
	c.add(cmds)
	return trip()
}

func (c *tripCounter) add(cmds []redis.Cmder) {
	if keyCachePoll(cmds) || connectionSetup(cmds) {
		return
	}
	// An EVAL of the script the EVALSHA before it named is go-redis
	// sending a script the server had not run (NOSCRIPT): once per script
	// and server (a fresh miniredis, a restarted Redis), not the steady
	// state the counts are about, so the pair counts as one.
	sha, eval := scriptSHA(cmds)
	c.mu.Lock()
	defer c.mu.Unlock()
	retry := eval && sha == c.lastSHA
	c.lastSHA = ""
	if !eval {
		c.lastSHA = sha
	}
	if retry {
		return
	}
	names := make([]string, 0, len(cmds))
	for _, cmd := range cmds {
		names = append(names, cmd.Name())
	}
	if c.on {
		c.trips = append(c.trips, strings.Join(names, "+"))
	}
}

// during counts the round trips f makes.
func (c *tripCounter) during(f func()) []string {
	c.mu.Lock()
	c.on, c.trips = true, nil
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.trips
}

// keyCachePoll reports a round trip of the key cache's own: its version
// poll, or the look-up of a key it makes when its last poll is older than
// MaxStale (750 ms) — on a loaded CI machine a poll can be that late, and
// the request's own steps are what the round-trip tests count.
func keyCachePoll(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		for _, arg := range cmd.Args() {
			if a, _ := arg.(string); strings.HasSuffix(a, "apikeys:version") {
				return true
			}
		}
	}
	if len(cmds) == 1 && cmds[0].Name() == "hgetall" {
		if key, _ := cmds[0].Args()[1].(string); strings.Contains(key, ":apikey:") {
			return true
		}
	}
	return false
}

// connectionSetup reports the commands go-redis sends on a connection it
// has just dialed (HELLO, SELECT, CLIENT SETINFO): the pool dials when a
// request finds no idle connection, which depends on what else runs at
// that moment, not on the request's own steps.
func connectionSetup(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		switch cmd.Name() {
		case "hello", "select", "client", "auth":
		default:
			return false
		}
	}
	return true
}

// tripCount counts round trips into n, as cheaply as a benchmark needs,
// leaving out the key cache's version poll.
func tripCount(n *atomic.Int64) tripHook {
	return func(cmds []redis.Cmder, trip func() error) error {
		if !keyCachePoll(cmds) && !connectionSetup(cmds) {
			n.Add(1)
		}
		return trip()
	}
}
