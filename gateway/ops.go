package gateway

import (
	"context"
	_ "embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/pprof"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sandesh/gateway/pages/webpage"
	"sandesh/jobs"
	"sandesh/store"
)

//go:embed openapi.yaml
var openapiDoc []byte

func (s *server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyTimeout bounds /readyz's Redis ping: under the second a probe
// waits by default, so a Redis that is gone gets a 503 rather than a probe
// timeout, yet far above what a ping takes behind a full pipeline of a busy
// process, so load alone does not take every web process out at once.
const readyTimeout = 900 * time.Millisecond

func (s *server) readyz(c *fiber.Ctx) error {
	// A probe gives up after a second by default; with Redis gone, go-redis
	// would spend about 1.7 s on its dial retries before saying so.
	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	if err := s.gw.Ready(ctx); err != nil {
		return newAPIErr(http.StatusServiceUnavailable, "not_ready", "Redis is unreachable.")
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *server) openapi(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(openapiDoc)
}

func (s *server) mountMetrics(app *fiber.App) {
	reg := s.opts.Registry
	if s.opts.Queues != nil {
		reg.MustRegister(&queueCollector{inspector: asynq.NewInspector(s.opts.Queues), queues: s.opts.LaneQueues})
	}
	if s.opts.Breakers != nil {
		reg.MustRegister(&breakerCollector{router: s.opts.Breakers})
	}
	reg.MustRegister(&redisCollector{gw: s.gw})
	// On the API's address only the admin key may read the series (what
	// was sent, through which provider, breakers, queues); a scraper that
	// cannot send a key reads them on metrics_listen (cmd/sandesh).
	app.Get("/metrics", s.allow(), adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
}

// mountQueues serves asynqmon read-only behind the admin key. A browser
// cannot send a Bearer header, so Basic auth with the key as password works too.
func (s *server) mountQueues(app *fiber.App) {
	mon := asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: s.opts.Queues, ReadOnly: true})
	app.Use("/admin/queues", queueMonitorHeaders, s.adminOnly, adaptor.HTTPHandler(mon))
}

// queueMonitorCSP lets asynqmon's page run — its two inline scripts carry
// its settings, and its styles are injected at run time — and nothing
// else: no other origin, no framing.
const queueMonitorCSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// queueMonitorHeaders gives the queue monitor the security headers of the
// other pages.
func queueMonitorHeaders(c *fiber.Ctx) error {
	webpage.SecurityHeaders(c, queueMonitorCSP)
	return c.Next()
}

// mountProfiler serves Go's pprof endpoints behind the admin key, so a
// profile of a loaded web or worker process can be taken where it runs:
//
//	go tool pprof -http : 'http://:KEY@HOST/debug/pprof/profile?seconds=20'
func (s *server) mountProfiler(app *fiber.App) {
	app.Use("/debug/pprof", s.adminOnly, pprof.New())
}

func (s *server) adminOnly(c *fiber.Ctx) error {
	if !s.isAdmin(c) {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="sandesh admin"`)
		return newAPIErr(http.StatusUnauthorized, "unauthorized", "The admin key is required.")
	}
	return c.Next()
}

// isAdmin accepts the bootstrap admin key and issued admin keys.
func (s *server) isAdmin(c *fiber.Ctx) bool {
	who, err := s.authenticate(c)
	return err == nil && who.Role == store.RoleAdmin
}

// bearer returns the key from "Bearer <key>" or from Basic auth's password.
func bearer(c *fiber.Ctx) string {
	// The scheme is case-insensitive (RFC 7235 §2.1).
	scheme, cred, _ := strings.Cut(strings.TrimSpace(c.Get(fiber.HeaderAuthorization)), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return strings.TrimSpace(cred)
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return ""
		}
		if _, pass, ok := strings.Cut(string(raw), ":"); ok {
			return pass
		}
	}
	return ""
}

// queueCollector reads queue sizes at scrape time with asynq's Inspector
// (asynq's own exporter would pull in a second Redis client library).
type queueCollector struct {
	inspector *asynq.Inspector
	queues    jobs.Queues
}

var (
	queueDesc    = prometheus.NewDesc("sandesh_queue_tasks", "Tasks in a queue by state.", []string{"queue", "state"}, nil)
	queueAgeDesc = prometheus.NewDesc("sandesh_queue_oldest_pending_seconds",
		"Age of a queue's oldest pending task: how long the next message in line has waited (0 when none waits).", []string{"queue"}, nil)
)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc; ch <- queueAgeDesc }

// laneQueues reads every lane's queues, in store.Priorities' order, added
// up under the lane's name (a lane is several queues on a cluster: qs), as
// zeros until asynq first holds a task of one: the OTP queue would
// otherwise appear with the first OTP, and an OTP is sent only when a
// KYVS request matches. A lane whose read fails is left out.
func laneQueues(in *asynq.Inspector, qs jobs.Queues) ([]*asynq.QueueInfo, error) {
	existing, err := in.Queues()
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	out := make([]*asynq.QueueInfo, 0, len(store.Priorities))
lanes:
	for _, p := range store.Priorities {
		lane := &asynq.QueueInfo{Queue: string(p)}
		for _, q := range qs.Of(p) {
			if !slices.Contains(existing, q) {
				continue
			}
			info, err := in.GetQueueInfo(q)
			if err != nil {
				continue lanes
			}
			lane.Pending += info.Pending
			lane.Active += info.Active
			lane.Scheduled += info.Scheduled
			lane.Retry += info.Retry
			lane.Archived += info.Archived
			lane.Latency = max(lane.Latency, info.Latency)
		}
		out = append(out, lane)
	}
	return out, nil
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	lanes, err := laneQueues(q.inspector, q.queues)
	if err != nil {
		return // Redis unreachable: sandesh_redis_up says so
	}
	for _, info := range lanes {
		p := info.Queue
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived,
		} {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), string(p), state)
		}
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, info.Latency.Seconds(), string(p))
	}
}

// redisCollector says at scrape time whether this process reaches Redis,
// as /readyz does: an alert needs no probe of its own; and how many dead
// letters wait.
type redisCollector struct{ gw *Gateway }

var redisUpDesc = prometheus.NewDesc("sandesh_redis_up", "1 when this process reached Redis at scrape time (PING within 0.9 s), else 0.", nil, nil)

var deadLettersDesc = prometheus.NewDesc("sandesh_dead_letters",
	"SMS given up on and waiting for an admin (console, Dead letters): messages failed for good and owed SMS that could not be queued. OTPs are never listed.", nil, nil)

func (r *redisCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- redisUpDesc
	ch <- deadLettersDesc
}

func (r *redisCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	up := 1.0
	if r.gw.Ready(ctx) != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(redisUpDesc, prometheus.GaugeValue, up)
	if n, err := r.gw.store.DeadLetterCount(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(deadLettersDesc, prometheus.GaugeValue, float64(n))
	}
}
