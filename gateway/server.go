package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"sandesh/gateway/pages/simulator"
	"sandesh/gateway/pages/support"
	"sandesh/gateway/pages/verify"
	"sandesh/gateway/ussd"
	"sandesh/jobs"
	"sandesh/providers"
	"sandesh/stats"
)

// BodyLimit is the largest request body accepted.
const BodyLimit = 64 << 10

// readLimit is how much the server reads before giving up on a request.
// It is larger than BodyLimit so that a body just over the limit is read
// whole and answered with a 413 on a live connection: closing with the
// body unread makes the kernel reset the connection, and the client loses
// the answer.
const readLimit = 1 << 20

// ServerOptions are what the HTTP binding needs beyond the flows.
type ServerOptions struct {
	// PublicURL is how providers reach us; webhook signatures cover it.
	PublicURL string
	// TwilioTokens maps each twilio provider's name to its auth token.
	TwilioTokens map[string]string
	// AfricasTalkingTokens maps each africastalking provider's name to the
	// token its delivery-report URL must carry ("" for none).
	AfricasTalkingTokens map[string]string
	// AdminKey is the bootstrap key with the admin role.
	AdminKey string
	// USSDToken, when set, is required as ?token= on /webhooks/ussd.
	USSDToken string
	// Simulator serves /simulator (development: console provider, or asked for).
	Simulator bool
	// SimulatorNeedsAdmin puts /simulator behind the admin key (as a Bearer
	// token or the Basic-auth password a browser asks for): beside real
	// providers it shows any mobile's codes and OTPs and texts as anyone.
	SimulatorNeedsAdmin bool
	// Queues reads queue sizes for /metrics and serves /admin/queues; nil disables both.
	Queues asynq.RedisConnOpt
	// LaneQueues names each lane's queues (several a lane on a cluster),
	// whose sizes /metrics and /admin add up by lane.
	LaneQueues jobs.Queues
	// Breakers reports provider health for /metrics; may be nil.
	Breakers *providers.Router
	// Registry serves /metrics; nil disables it.
	Registry *prometheus.Registry
	// Stats holds the counts /admin draws; nil serves no /admin.
	Stats  *stats.Counter
	Logger *slog.Logger
}

type server struct {
	gw   *Gateway
	ussd *ussd.Menu
	opts ServerOptions
	log  *slog.Logger
	// wrongKeys counts refused keys per source address a minute (wrongKey).
	wrongKeys *windows
}

// NewServer binds the flows to HTTP routes.
func NewServer(gw *Gateway, opts ServerOptions) *fiber.App {
	s, app := newServer(gw, opts)
	if opts.Queues != nil {
		s.mountQueues(app)
	}
	s.mountAPI(app)
	s.mountPages(app)
	if opts.Stats != nil {
		s.mountDashboard(app)
	}
	app.Post("/webhooks/twilio/:provider/status", s.twilioStatus)
	app.Post("/webhooks/twilio/:provider/sms", s.twilioSMS)
	app.Post("/webhooks/twilio/:provider/voice", s.twilioVoice)
	app.Post("/webhooks/africastalking/:provider/status", s.africasTalkingStatus)
	app.Post("/webhooks/ussd", s.ussdHook)
	app.Get("/c/:token", s.statusCard)
	app.Get("/c/:token/check", s.cardCheck())
	return app
}

// NewOpsServer is what a worker process serves: health, readiness and
// metrics, so its send counters are scraped too; no API, no webhooks.
func NewOpsServer(gw *Gateway, opts ServerOptions) *fiber.App {
	_, app := newServer(gw, opts)
	return app
}

// newServer builds the app with the middleware and the operations routes
// every process serves.
func newServer(gw *Gateway, opts ServerOptions) (*server, *fiber.App) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{gw: gw, ussd: gw.USSDMenu(), opts: opts, log: opts.Logger, wrongKeys: newWindows(time.Minute, 10_000)}
	app := fiber.New(fiber.Config{
		AppName:               "sandesh",
		BodyLimit:             readLimit,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		ErrorHandler:          s.errorHandler,
	})
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	app.Use(strictFraming)
	app.Use(dropOddRequestID, requestid.New())
	app.Use(s.accessLog)
	app.Use(limitBody)

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/openapi.yaml", s.openapi)
	if opts.Registry != nil {
		s.mountMetrics(app)
	}
	s.mountProfiler(app)
	return s, app
}

// dropOddRequestID keeps a client's X-Request-Id only when it looks like
// one (1–64 letters, digits and "-_.:"): it is echoed in the answer and
// written into every log line of the request, where anything else could
// forge lines or break a log reader. Without it one is made up.
func dropOddRequestID(c *fiber.Ctx) error {
	if id := c.Get(fiber.HeaderXRequestID); id != "" && !plainRequestID(id) {
		c.Request().Header.Del(fiber.HeaderXRequestID)
	}
	return c.Next()
}

func plainRequestID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

func (s *server) errorHandler(c *fiber.Ctx, err error) error {
	var ae *apiErr
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		ae = fiberError(fe)
	default:
		ae = apiError(err)
	}
	if ae.Status >= 500 {
		s.log.Error("request failed", "path", c.Path(), "request_id", c.Locals("requestid"), "err", err)
	}
	return writeError(c, ae)
}

func limitBody(c *fiber.Ctx) error {
	if len(c.Request().Body()) > BodyLimit {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

func (s *server) logPanic(c *fiber.Ctx, e any) {
	s.log.Error("panic in handler", "path", c.Path(), "request_id", c.Locals("requestid"), "panic", e)
}

// accessLog logs the path without its query: a query may carry a token.
func (s *server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		// The error handler runs after this middleware returns.
		var ae *apiErr
		var fe *fiber.Error
		if errors.As(err, &ae) {
			status = ae.Status
		} else if errors.As(err, &fe) {
			status = fe.Code
		}
	}
	s.log.Debug("http", "method", c.Method(), "path", c.Path(), "status", status,
		"ms", time.Since(start).Milliseconds(), "request_id", c.Locals("requestid"))
	return err
}

// mountPages serves the web pages: /verify and /support always,
// /simulator when asked.
func (s *server) mountPages(app *fiber.App) {
	// Their sign-in forms count refused keys by the sender's address.
	app.Use("/verify", withClientAddr)
	app.Use("/support", withClientAddr)
	secure := strings.HasPrefix(s.opts.PublicURL, "https://")
	page, err := verify.New(verifyBackend{s}, s.gw.languages, secure)
	if err != nil {
		// The page's templates are embedded: this is a build defect.
		panic(fmt.Sprintf("verify page: %v", err))
	}
	page.Mount(app)
	console, err := support.New(consoleBackend{s}, support.Options{Languages: s.gw.languages, SecureCookies: secure, Location: s.gw.location})
	if err != nil {
		panic(fmt.Sprintf("support console: %v", err))
	}
	console.Mount(app)
	if s.opts.Simulator {
		sim, err := simulator.New(simulatorBackend{s})
		if err != nil {
			panic(fmt.Sprintf("simulator page: %v", err))
		}
		if s.opts.SimulatorNeedsAdmin {
			app.Use("/simulator", s.adminUnder("/simulator"))
		}
		sim.Mount(app)
	}
}

// adminUnder is adminOnly for prefix and the paths below it; a fiber
// prefix also matches "/simulatorx", which is left alone.
func (s *server) adminUnder(prefix string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		at := strings.ToLower(c.Path())
		if at != prefix && at != prefix+"/" && !strings.HasPrefix(at, prefix+"/") {
			return c.Next()
		}
		return s.adminOnly(c)
	}
}
