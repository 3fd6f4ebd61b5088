package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"sandesh/gateway"
	"sandesh/jobs"
	"sandesh/providers"
	"sandesh/providers/africastalking"
	"sandesh/providers/smpp"
	"sandesh/providers/twilio"
	"sandesh/stats"
	"sandesh/store"
	"sandesh/templates"
)

// A stop must end well inside the 10 s a platform gives a process between
// SIGTERM and SIGKILL. HTTP and the worker stop side by side, so the
// longest of the two graces below, plus unbinding and closing, is the stop.
const (
	// httpGrace is how long requests in flight may still take once the
	// server stops accepting; the connections still open then are closed.
	httpGrace = 3 * time.Second
	// unusedConnAge: a connection on which no request has begun this long
	// after it was accepted is closed at once on a stop.
	unusedConnAge = time.Second
	// sendGrace is the worker's ShutdownTimeout: how long sends in flight
	// may still take. asynq returns the unfinished tasks to their queue
	// without spending a retry.
	sendGrace = 6 * time.Second
	// unbindGrace bounds the wait for the SMPP binds to unbind; a bind
	// still up then goes with the process's connections.
	unbindGrace = time.Second
	// stopDeadline is the last resort (main's watchdog): a stop still
	// running then ends the process with an error.
	stopDeadline = 9500 * time.Millisecond
)

// role says which halves of the gateway a process runs.
type role struct{ web, worker bool }

// app is one running process: everything built from the config, once.
type app struct {
	cfg  *Config
	log  *slog.Logger
	mini *miniredis.Miniredis
	rdb  redis.UniversalClient
	conn asynq.RedisConnOpt
	// queues names the lanes' queues: several a lane on a cluster.
	queues jobs.Queues
	client *asynq.Client
	router *providers.Router
	http   *fiber.App
	worker *jobs.Worker
	gw     *gateway.Gateway
	store  *store.Store
	keys   *store.KeyCache  // web role: API keys verified in memory
	smpp   []*smpp.Provider // bound by the worker role only
	// lateReceipts bounds the receipts waiting for their message's id.
	lateReceipts chan struct{}
	ln           net.Listener
	httpConns    *httpConns // the connections accepted on ln
	// metrics serves /metrics without auth on metrics_listen; nil unless set.
	metrics *http.Server
	reg     *prometheus.Registry
	// opsOnly: the HTTP server is a worker's health and metrics only.
	opsOnly bool
	// stopSweep ends the sweeper of owed SMS (worker role).
	stopSweep context.CancelFunc
	swept     sync.WaitGroup
	// stats counts for the dashboard and flushes to Redis until stopStats.
	stats     *stats.Counter
	stopStats context.CancelFunc
	flushed   sync.WaitGroup

	// AdminKey is the effective admin key (generated in embedded mode).
	AdminKey string
	served   sync.WaitGroup
}

// newApp connects to Redis (or starts the embedded one) and builds every
// part the role needs. out is where the console provider prints.
func newApp(ctx context.Context, cfg *Config, r role, log *slog.Logger, out io.Writer) (_ *app, err error) {
	a := &app{cfg: cfg, log: log, AdminKey: cfg.AdminKey, lateReceipts: make(chan struct{}, 1000)}
	if err := a.connect(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	st, err := newStore(cfg, a.rdb)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := st.CheckLayout(lctx); err != nil {
		return nil, fmt.Errorf("%w; see README, Upgrading", err)
	}
	a.client = asynq.NewClient(a.conn)
	dispatch := jobs.NewDispatcher(st, a.client, log)
	dispatch.Queues = a.queues

	ps, err := a.buildProviders(cfg, out)
	if err != nil {
		return nil, err
	}
	tps := map[string]int{}
	for _, p := range cfg.Providers {
		tps[p.Name] = p.TPS
	}
	a.stats = stats.New(a.rdb, st.Prefix(), cfg.Location, nil)
	a.router, err = providers.NewRouter(ps, providers.RouterOptions{
		Failures: cfg.Breaker.Failures, OpenFor: cfg.Breaker.OpenFor,
		Redis: a.rdb, Prefix: st.Prefix(), TPS: tps, Logger: log,
		// For the dashboard's "since"; not inside the breaker's own lock.
		OnStateChange: func(provider, state string) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := a.stats.BreakerChanged(ctx, provider, state); err != nil {
					log.Warn("breaker change not recorded for the dashboard", "provider", provider, "err", err)
				}
			}()
		},
	})
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := jobs.NewMetrics(reg)
	metrics.Tally = a.stats
	a.reg = reg

	set, err := templates.Load()
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	if set, err = set.WithDLTIDs(cfg.DLTTemplates); err != nil {
		return nil, fmt.Errorf("config: dlt_templates: %w", err)
	}
	if r.web {
		a.keys = store.NewKeyCache(st, store.KeyCacheOptions{})
	}
	gw := gateway.New(gateway.Deps{
		Store: st, Dispatch: dispatch, Templates: set, Metrics: metrics, Logger: log,
		Languages: cfg.Languages, Location: cfg.Location, Region: cfg.DefaultRegion,
		VerifierPerHour: cfg.KYVSVerifierPerHour, PublicURL: publicURL(cfg), Keys: a.keys,
		Reminders: gateway.ReminderOptions{Precaution: cfg.Reminders.Precaution, Rate: reminderRate(cfg.Providers)},
	})
	a.gw, a.store = gw, st
	if a.AdminKey == "" && cfg.Embedded {
		a.AdminKey = randomHex(24)
	}
	if r.web {
		tokens, atTokens := map[string]string{}, map[string]string{}
		for _, p := range cfg.Providers {
			switch p.Kind {
			case KindTwilio:
				tokens[p.Name] = p.Twilio.AuthToken
			case KindAT:
				atTokens[p.Name] = p.AT.WebhookToken
			}
		}
		a.http = gateway.NewServer(gw, gateway.ServerOptions{
			PublicURL: cfg.PublicURL, TwilioTokens: tokens, AfricasTalkingTokens: atTokens,
			AdminKey: a.AdminKey, USSDToken: cfg.USSDToken,
			Simulator: cfg.Simulator || onlyConsole(cfg.Providers),
			// Beside real providers the simulator reads and sends real SMS.
			SimulatorNeedsAdmin: !onlyConsole(cfg.Providers),
			Queues:              a.conn, LaneQueues: a.queues, Breakers: a.router, Registry: reg, Logger: log, Stats: a.stats,
		})
	}
	if r.worker && !r.web {
		// A worker serves its own /metrics (its send counters live here).
		a.http = gateway.NewOpsServer(gw, gateway.ServerOptions{
			AdminKey: a.AdminKey, Queues: a.conn, LaneQueues: a.queues, Breakers: a.router, Registry: reg, Logger: log,
		})
		a.opsOnly = true
	}
	if r.worker {
		a.worker = jobs.NewWorker(a.conn, st, a.router, dispatch, jobs.WorkerOptions{
			Concurrency: map[store.Priority]int{
				store.PriorityOTP:           cfg.Workers.OTP,
				store.PriorityTransactional: cfg.Workers.Transactional,
				store.PriorityBulk:          cfg.Workers.Bulk,
			},
			ShutdownTimeout: sendGrace,
			SweepEvery:      30 * time.Second,
			RescueEvery:     time.Second,
			Metrics:         metrics,
			Logger:          log,
			ReminderHours:   &cfg.Reminders.Window,
			Location:        cfg.Location,
		})
	}
	return a, nil
}

// newStore is the store cfg describes on rdb.
func newStore(cfg *Config, rdb redis.UniversalClient) (*store.Store, error) {
	secret := []byte(cfg.Secret)
	if cfg.Embedded && len(secret) == 0 {
		secret = []byte(randomHex(32)) // nothing outlives this process anyway
	}
	var previous [][]byte
	for _, old := range cfg.PreviousSecrets {
		previous = append(previous, []byte(old))
	}
	return store.New(rdb, store.Options{Secret: secret, PreviousSecrets: previous, Retention: cfg.Retention,
		PrecautionReminders: cfg.Reminders.Precaution})
}

// connect dials the configured Redis, or starts the embedded one.
func (a *app) connect(ctx context.Context) error {
	var opts *redis.Options
	if a.cfg.Embedded {
		mr, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("start embedded redis: %w", err)
		}
		a.mini = mr
		a.log.Warn("NO redis_url SET: running on an embedded in-memory Redis. Everything is lost when the process stops; for development only.",
			"addr", mr.Addr())
		opts = &redis.Options{Addr: mr.Addr()}
	} else if u, err := url.Parse(a.cfg.RedisURL); err == nil && u.Query().Has("master_name") {
		return a.connectSentinel(ctx)
	} else if err == nil && strings.HasSuffix(u.Scheme, "+cluster") {
		return a.connectCluster(ctx)
	} else {
		if opts, err = redis.ParseURL(a.cfg.RedisURL); err != nil {
			return fmt.Errorf("config: redis_url: %w", err)
		}
	}
	a.rdb = redis.NewClient(opts)
	a.conn = asynq.RedisClientOpt{
		Network: opts.Network, Addr: opts.Addr, Username: opts.Username, Password: opts.Password,
		DB: opts.DB, TLSConfig: opts.TLSConfig,
	}
	return a.ping(ctx)
}

// connectSentinel follows the master a set of Sentinels names, for both
// go-redis and asynq: after a failover every process finds the new master.
func (a *app) connectSentinel(ctx context.Context) error {
	fo, err := redis.ParseFailoverURL(a.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("config: redis_url: %w", err)
	}
	a.rdb = redis.NewFailoverClient(fo)
	a.conn = asynq.RedisFailoverClientOpt{
		MasterName: fo.MasterName, SentinelAddrs: fo.SentinelAddrs, SentinelPassword: fo.SentinelPassword,
		Username: fo.Username, Password: fo.Password, DB: fo.DB, TLSConfig: fo.TLSConfig,
	}
	return a.ping(ctx)
}

// connectCluster joins a Redis Cluster through its seed nodes, for both
// go-redis and asynq, and splits the send lanes over several queues so
// that every master carries its share (jobs.Queues).
func (a *app) connectCluster(ctx context.Context) error {
	co, err := parseClusterURL(a.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("config: redis_url: %w", err)
	}
	a.rdb = redis.NewClusterClient(co)
	a.conn = asynq.RedisClusterClientOpt{
		Addrs: co.Addrs, Username: co.Username, Password: co.Password, TLSConfig: co.TLSConfig,
		DialTimeout: co.DialTimeout, ReadTimeout: co.ReadTimeout, WriteTimeout: co.WriteTimeout,
	}
	a.queues = jobs.Queues{Shards: jobs.ClusterQueueShards}
	return a.ping(ctx)
}

func (a *app) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.rdb.Ping(pctx).Err(); err != nil {
		a.Close()
		return fmt.Errorf("connect to redis: %w", err)
	}
	return nil
}

func (a *app) buildProviders(cfg *Config, out io.Writer) ([]providers.Provider, error) {
	var ps []providers.Provider
	for i, pc := range cfg.Providers {
		switch pc.Kind {
		case KindConsole:
			ps = append(ps, providers.NewConsole(pc.Name, out))
		case KindTwilio:
			p, err := twilio.New(pc.Twilio.Config(pc.Name, cfg.PublicURL))
			if err != nil {
				return nil, fmt.Errorf("config: providers[%d]: %w", i, err)
			}
			ps = append(ps, p)
		case KindAT:
			p, err := africastalking.New(pc.AT.Config(pc.Name))
			if err != nil {
				return nil, fmt.Errorf("config: providers[%d]: %w", i, err)
			}
			ps = append(ps, p)
		case KindSMPP:
			sc := pc.SMPP.Config(pc.Name, a.smppReceipt, a.smppMO)
			sc.Logger = a.log
			p, err := smpp.New(sc)
			if err != nil {
				return nil, fmt.Errorf("config: providers[%d]: %w", i, err)
			}
			a.smpp = append(a.smpp, p)
			ps = append(ps, p)
		default:
			return nil, fmt.Errorf("config: providers[%d].kind: %q is not supported", i, pc.Kind)
		}
	}
	return ps, nil
}

// smppReceipt records a delivery receipt an SMSC sent on a bind. It runs
// on the bind's reader, so a receipt whose id the worker has not recorded
// yet is looked for again off the reader: answers to submits must not
// wait behind it. A store failure is returned, so the SMSC sends again.
func (a *app) smppReceipt(r smpp.DeliveryReceipt) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	report := gateway.DeliveryReport{Provider: r.Provider, ProviderMessageID: r.ProviderMessageID, Status: r.Status, ErrorCode: r.ErrorCode}
	err := a.gw.RecordDelivery(ctx, report)
	if !errors.Is(err, gateway.ErrNotFound) {
		return err
	}
	select {
	case a.lateReceipts <- struct{}{}:
		a.swept.Go(func() {
			defer func() { <-a.lateReceipts }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.gw.RecordReceipt(ctx, report); err != nil {
				a.log.Warn("smpp receipt not recorded", "provider", r.Provider, "err", err)
			}
		})
	default:
		a.log.Warn("smpp receipt for an unknown message dropped: too many waiting", "provider", r.Provider)
	}
	return nil
}

// smppMO takes a citizen's SMS an SMSC delivered on a bind, as the Twilio
// webhook takes one. SMPP gives an MO no id; one made of its content and
// minute lets Inbound recognise the SMSC's redelivery after a lost answer.
// A message Inbound refuses as malformed is taken and logged: asking for
// it again would bring the same bytes.
func (a *app) smppMO(m smpp.MO) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%d", m.Provider, m.From, m.To, m.Text, time.Now().Unix()/60))
	err := a.gw.Inbound(ctx, gateway.InboundSMS{Provider: m.Provider, MessageSID: "MO" + hex.EncodeToString(sum[:16]),
		From: m.From, To: m.To, Body: m.Text})
	if inv := (*gateway.InvalidError)(nil); errors.As(err, &inv) {
		a.log.Warn("smpp MO refused", "provider", m.Provider, "field", inv.Field)
		return nil
	}
	return err
}

// Start begins serving HTTP and processing tasks, as the role says.
func (a *app) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopStats = cancel
	a.flushed.Go(func() { a.stats.Run(ctx, statsEvery) })
	if a.worker != nil {
		for _, p := range a.smpp {
			p.Start()
		}
		if err := a.worker.Start(); err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		a.stopSweep = cancel
		a.swept.Go(func() { a.gw.RunNotificationSweeper(ctx, 10*time.Second) })
		if a.cfg.Reminders.Enabled {
			a.swept.Go(func() { a.gw.RunDailyReminders(ctx, a.cfg.Reminders.Start, reminderCheck) })
		}
	}
	if a.http != nil {
		ln, err := net.Listen("tcp", a.cfg.Listen)
		if err != nil && a.opsOnly {
			// Sending matters more than being scraped: a worker beside a
			// web process on one host and one listen address still works.
			a.log.Warn("worker serves no /metrics: listen address taken", "listen", a.cfg.Listen, "err", err)
			return nil
		}
		if err != nil {
			if a.worker != nil {
				a.worker.Shutdown() // a process that failed to start must not go on consuming tasks
			}
			return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
		}
		a.ln = ln
		a.httpConns = trackConns(ln)
		a.served.Add(1)
		go func() {
			defer a.served.Done()
			if err := a.http.Listener(a.httpConns); err != nil {
				a.log.Error("http server stopped", "err", err)
			}
		}()
		a.log.Info("listening", "addr", ln.Addr().String())
	}
	if a.cfg.MetricsListen != "" {
		a.serveMetrics()
	}
	return nil
}

// serveMetrics serves /metrics, without auth, on metrics_listen. An
// address that is taken is only warned about: sending and answering
// matter more than being scraped (a web and a worker process on one host
// cannot both have it).
func (a *app) serveMetrics() {
	ln, err := net.Listen("tcp", a.cfg.MetricsListen)
	if err != nil {
		a.log.Warn("no /metrics on metrics_listen: address taken", "metrics_listen", a.cfg.MetricsListen, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	a.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	go func() {
		if err := a.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server stopped", "err", err)
		}
	}()
	a.log.Info("serving /metrics without auth", "metrics_listen", ln.Addr().String())
}

// Addr is the address HTTP is served on, once started.
func (a *app) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Shutdown stops the process in well under 10 s: at once the HTTP server
// stops accepting and the worker stops taking tasks, side by side; requests
// in flight get httpGrace and sends in flight sendGrace (unfinished tasks go
// back to their queue without spending a retry); then the SMPP binds are
// unbound and every connection is closed.
func (a *app) Shutdown() error {
	var (
		wg      sync.WaitGroup
		httpErr error
	)
	if a.ln != nil {
		wg.Go(func() { httpErr = a.stopHTTP(httpGrace) })
	}
	if a.worker != nil {
		wg.Go(a.worker.Shutdown)
	}
	if a.metrics != nil {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), httpGrace)
			defer cancel()
			if err := a.metrics.Shutdown(ctx); err != nil {
				a.metrics.Close() // a scrape still running after the grace is cut off
			}
		})
	}
	wg.Wait()
	var errs []error
	if httpErr != nil {
		errs = append(errs, fmt.Errorf("stop http: %w", httpErr))
	}
	if err := a.unbind(unbindGrace); err != nil {
		errs = append(errs, err)
	}
	a.Close()
	return errors.Join(errs...)
}

// stopHTTP closes the listener and waits for the requests in flight, for
// grace at most. Keep-alive connections idle between requests are closed at
// once (fasthttp's shutdown does that), and so are connections on which no
// request began within unusedConnAge of their accept (fasthttp would count
// them busy). Every connection still open after grace is closed: its
// request is cut off.
func (a *app) stopHTTP(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.http.ShutdownWithContext(ctx) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	a.httpConns.closeUnused(unusedConnAge)
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			a.httpConns.closeUnused(unusedConnAge)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
		if n := a.httpConns.closeAll(); n > 0 {
			a.log.Warn("requests still running after the shutdown grace were cut off", "grace", grace, "connections", n)
		}
	}
	// Should the server not have been serving yet, the listener is closed
	// only now, and Serve returns as soon as it starts.
	_ = a.ln.Close()
	a.served.Wait()
	return err
}

// unbind closes the SMPP binds, waiting grace at most: a bind still up
// then is dropped with the process's connections, and the SMSC sends its
// receipts again on the next bind.
func (a *app) unbind(grace time.Duration) error {
	if len(a.smpp) == 0 {
		return nil
	}
	errc := make(chan error, len(a.smpp))
	for _, p := range a.smpp {
		go func() {
			if err := p.Close(); err != nil {
				errc <- fmt.Errorf("unbind %s: %w", p.Name(), err)
				return
			}
			errc <- nil
		}()
	}
	var errs []error
	timeout := time.After(grace)
	for range a.smpp {
		select {
		case err := <-errc:
			errs = append(errs, err)
		case <-timeout:
			a.log.Warn("smpp binds not unbound within the shutdown grace: they close with the process", "grace", grace)
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

// statsEvery is how often a process adds its dashboard counts to Redis.
const statsEvery = 5 * time.Second

// Close releases connections without waiting for work.
func (a *app) Close() {
	if a.keys != nil {
		a.keys.Close()
	}
	if a.stopSweep != nil {
		a.stopSweep()
		a.swept.Wait()
	}
	if a.stopStats != nil {
		a.stopStats() // the last counts are flushed
		a.flushed.Wait()
	}
	if a.client != nil {
		a.client.Close()
	}
	if a.rdb != nil {
		a.rdb.Close()
	}
	if a.mini != nil {
		a.mini.Close()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// reminderCheck is how often a worker looks whether the day's reminder
// run is due or was left by a process that died.
const reminderCheck = time.Minute

// reminderRate is the pace of a reminder run: the providers' summed send
// caps, or none when any provider has none.
func reminderRate(ps []ProviderConfig) float64 {
	sum := 0
	for _, p := range ps {
		if p.TPS <= 0 {
			return 0
		}
		sum += p.TPS
	}
	return float64(sum)
}

// onlyConsole reports whether every provider prints instead of sending:
// then the simulator cannot reach a real phone.
func onlyConsole(ps []ProviderConfig) bool {
	for _, p := range ps {
		if p.Kind != KindConsole {
			return false
		}
	}
	return true
}

// publicURL is where citizens reach us: public_url, else (development) the
// listen address.
func publicURL(cfg *Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	return "http://" + cfg.Listen
}
