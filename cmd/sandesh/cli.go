package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"sandesh/gateway"
	"sandesh/templates"
)

const usage = `usage: sandesh [--config FILE] [command]

commands:
  (none)     web server and worker in one process
  web        the web server only (Procfile "web")
  worker     the send worker only (Procfile "worker")
  demo       load the demo centres and beneficiaries (once) and print one key per role
  keys create --role ROLE --name NAME [--center ID]
             issue an API key (shown once)
  secrets status
             count the records keyed by the current secret and by previous_secrets
  secrets rekey
             seal again under the current secret what previous_secrets sealed
  reminders reindex
             put every beneficiary with a dose in the due-dose index (once,
             for data from before it, or after turning reminders.precaution on)
  migrate [--from REDIS_URL]
             move the data an earlier version wrote into this version's key
             layout, offline (stop every process first): in place, or from
             the Redis --from names into redis_url (a cluster, say)
  segments   [TEXT] print how TEXT travels as SMS (stdin when no TEXT)

--config FILE, or SANDESH_CONFIG, names a YAML config; with none the gateway
runs on an embedded in-memory Redis with the console provider.
`

// cli is the process's surroundings, so tests can run commands in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) (string, bool)
	// exit, when set, ends the process from the stop watchdog: a stop that
	// is still running stopDeadline after the signal exits 1 (main sets it
	// to os.Exit; tests leave it nil).
	exit func(code int)
}

// run executes one command until ctx is done and returns the exit code.
func (c cli) run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("sandesh", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() { fmt.Fprint(c.stderr, usage) }
	configPath := fs.String("config", "", "YAML config file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cmd, rest := "", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	if cmd == "segments" {
		return c.segments(rest)
	}
	var keyReq gateway.KeyRequest
	if cmd == "keys" {
		var ok bool
		if keyReq, ok = c.parseKeys(rest); !ok {
			return 2
		}
		rest = nil
	}
	var secretsCmd string
	if cmd == "secrets" && len(rest) == 1 && (rest[0] == "status" || rest[0] == "rekey") {
		secretsCmd, rest = rest[0], nil
	}
	var migrateFrom string
	if cmd == "migrate" {
		mfs := flag.NewFlagSet("sandesh migrate", flag.ContinueOnError)
		mfs.SetOutput(c.stderr)
		from := mfs.String("from", "", "the Redis the earlier version wrote to (default: redis_url, in place)")
		if err := mfs.Parse(rest); err != nil || mfs.NArg() > 0 {
			fmt.Fprint(c.stderr, "usage: sandesh migrate [--from REDIS_URL]\n")
			return 2
		}
		migrateFrom, rest = *from, nil
	}
	if cmd == "reminders" && len(rest) == 1 && rest[0] == "reindex" {
		rest = nil
	} else if cmd == "reminders" {
		fmt.Fprint(c.stderr, "usage: sandesh reminders reindex\n")
		return 2
	}
	r, ok := map[string]role{"": {web: true, worker: true}, "web": {web: true}, "worker": {worker: true}, "demo": {}, "keys": {}, "secrets": {},
		"reminders": {}, "migrate": {}}[cmd]
	if cmd == "secrets" && secretsCmd == "" {
		fmt.Fprint(c.stderr, "usage: sandesh secrets status|rekey\n")
		return 2
	}
	if !ok || (cmd != "" && len(rest) > 0) {
		fmt.Fprintf(c.stderr, "sandesh: unknown command %q\n\n%s", strings.Join(fs.Args(), " "), usage)
		return 2
	}
	if *configPath == "" {
		*configPath, _ = c.env("SANDESH_CONFIG")
	}
	cfg, err := LoadConfig(*configPath, c.env)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: cfg.Level()}))
	if cfg.Embedded && (cmd == "web" || cmd == "worker" || cmd == "keys" || cmd == "secrets" || cmd == "reminders" || cmd == "migrate") {
		fmt.Fprintf(c.stderr, "sandesh: %s as a separate process needs redis_url: the embedded Redis lives inside one process\n", cmd)
		return 2
	}
	if !cfg.Embedded {
		// The embedded Redis keeps its data in this process's heap, where
		// a collector tuned for a small live heap would either let it grow
		// fivefold or, near the limit, never stop collecting.
		tuneGC(c.env)
	}
	if cmd == "migrate" {
		return c.migrate(ctx, cfg, log, migrateFrom)
	}
	a, err := newApp(ctx, cfg, r, log, c.stdout)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh: %v\n", err)
		return 1
	}
	switch cmd {
	case "demo":
		defer a.Close()
		return c.demo(ctx, a)
	case "keys":
		defer a.Close()
		return c.createKey(ctx, a, keyReq)
	case "secrets":
		defer a.Close()
		return c.secrets(ctx, a, secretsCmd)
	case "reminders":
		defer a.Close()
		n, err := a.store.ReindexDue(ctx)
		if err != nil {
			fmt.Fprintf(c.stderr, "sandesh reminders reindex: %v (indexed %d; run it again)\n", err, n)
			return 1
		}
		fmt.Fprintf(c.stdout, "indexed %d beneficiaries with a dose by the day their next dose opens\n", n)
		return 0
	}
	log.Info("starting", "config", cfg, "web", r.web, "worker", r.worker)
	for _, w := range openDoors(cfg, r) {
		log.Warn(w)
	}
	if w := longLinks(cfg); w != "" {
		log.Warn(w)
	}
	if err := a.Start(); err != nil {
		a.Close()
		fmt.Fprintf(c.stderr, "sandesh: %v\n", err)
		return 1
	}
	if cfg.Embedded {
		_, keys, err := a.gw.LoadDemo(ctx)
		if err != nil {
			log.Error("demo data not loaded", "err", err)
		}
		c.welcome(a, keys)
	}
	<-ctx.Done()
	log.Info("shutting down: no new requests, finishing sends in flight")
	if c.exit != nil {
		// The last resort: whatever hangs, the process ends before the
		// platform kills it.
		watchdog := time.AfterFunc(stopDeadline, func() {
			log.Error("shutdown still running: exiting without finishing it", "after", stopDeadline)
			c.exit(1)
		})
		defer watchdog.Stop()
	}
	if err := a.Shutdown(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// welcome tells a newcomer on the embedded default what they are running.
func (c cli) welcome(a *app, keys []gateway.DemoKey) {
	fmt.Fprintf(c.stdout, `
Sandesh is running on an embedded in-memory Redis with the console provider:
every SMS is printed here instead of sent. Demo centres C1-C3 and ten
beneficiaries are loaded; today's appointment slips are printed below.

  simulator http://%s/simulator  (start here: text STATUS or dial the USSD menu as a demo mobile)
  verify    http://%s/verify  (KYVS page: sign in with the verifier key below)
  support   http://%s/support  (helpline console: sign in with the support key below, search 98765 00001)
  API       http://%s  (see /openapi.yaml)
  admin key %s  (shown once; Authorization: Bearer <key>)
  dashboard http://%s/admin  (user anything, password the admin key)
  queues    http://%s/admin/queues
`, a.Addr(), a.Addr(), a.Addr(), a.Addr(), a.AdminKey, a.Addr(), a.Addr())
	c.printKeys(keys)
	fmt.Fprintln(c.stdout)
}

func (c cli) printKeys(keys []gateway.DemoKey) {
	for _, k := range keys {
		role := string(k.Role)
		if k.CenterID != "" {
			role += " (" + k.CenterID + ")"
		}
		fmt.Fprintf(c.stdout, "  %-13s %s\n", role, k.Key)
	}
}

// demo loads the demo data into the configured Redis (once) and prints a
// fresh key per role.
func (c cli) demo(ctx context.Context, a *app) int {
	loaded, keys, err := a.gw.LoadDemo(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh demo: %v\n", err)
		return 1
	}
	if loaded {
		fmt.Fprintln(c.stdout, "Loaded demo centres C1-C3 and ten beneficiaries on six mobiles; their SMS are queued for the worker.")
	} else {
		fmt.Fprintln(c.stdout, "Demo data was already loaded; here are fresh keys.")
	}
	fmt.Fprintln(c.stdout, "Demo keys (shown once; Authorization: Bearer <key>):")
	c.printKeys(keys)
	return 0
}

// parseKeys reads "create --role R --name N [--center C]".
func (c cli) parseKeys(args []string) (gateway.KeyRequest, bool) {
	var req gateway.KeyRequest
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintf(c.stderr, "usage: sandesh keys create --role ROLE --name NAME [--center ID]\n")
		return req, false
	}
	fs := flag.NewFlagSet("sandesh keys create", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&req.Role, "role", "", "admin, registry, center, verifier or support")
	fs.StringVar(&req.Name, "name", "", "who holds the key")
	fs.StringVar(&req.CenterID, "center", "", "the centre a center key acts for")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return req, false
	}
	return req, true
}

// createKey issues one API key and prints it once.
func (c cli) createKey(ctx context.Context, a *app, req gateway.KeyRequest) int {
	k, clear, err := a.gw.CreateKey(ctx, req)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh keys create: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "id:   %s\nrole: %s\nkey:  %s\n(the key is shown only now; store it safely)\n", k.ID, k.Role, clear)
	return 0
}

// secrets says what still needs a previous secret, or re-keys what can be.
func (c cli) secrets(ctx context.Context, a *app, what string) int {
	if what == "rekey" {
		done, err := a.store.Rekey(ctx)
		if err != nil {
			fmt.Fprintf(c.stderr, "sandesh secrets rekey: %v\n", err)
			return 1
		}
		fmt.Fprintf(c.stdout, "sealed again under the current secret: %d message bodies, %d security codes", done.MessageBodies, done.SecurityCodes)
		if done.Failed > 0 {
			fmt.Fprintf(c.stdout, "; %d failed (run it again)\n", done.Failed)
			return 1
		}
		fmt.Fprintln(c.stdout)
		return 0
	}
	uses, err := a.store.SecretsStatus(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh secrets status: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "%-18s %8s %8s %8s\n", "records", "current", "previous", "unknown")
	previous := 0
	for _, u := range uses {
		fmt.Fprintf(c.stdout, "%-18s %8d %8d %8d\n", u.Kind, u.Current, u.Previous, u.Unknown)
		previous += u.Previous
	}
	switch {
	case len(a.cfg.PreviousSecrets) == 0:
		fmt.Fprintln(c.stdout, "no previous_secrets configured")
	case previous == 0:
		fmt.Fprintln(c.stdout, "nothing uses previous_secrets: they can be removed")
	default:
		fmt.Fprintf(c.stdout, "%d records still use previous_secrets: keep them until these are re-keyed (secrets rekey, an API key's next use) or expire\n", previous)
	}
	return 0
}

// segments prints how a text travels: the tool a template author uses.
func (c cli) segments(args []string) int {
	text := strings.Join(args, " ")
	if len(args) == 0 {
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			fmt.Fprintf(c.stderr, "sandesh segments: read stdin: %v\n", err)
			return 1
		}
		// echo and editors end the text with a newline the author did not mean to send.
		text = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	out, _ := json.Marshal(templates.CountText(text))
	fmt.Fprintln(c.stdout, string(out))
	return 0
}

// longLinks warns when public_url does not fit a DLT variable: the CARD
// keyword's link carries it as one, and a longer one is cut short in the
// SMS (DLT scrubbing refuses a variable over 30 characters).
func longLinks(cfg *Config) string {
	if n := utf8.RuneCountInString(publicURL(cfg)); n > templates.MaxVarLen {
		return fmt.Sprintf("public_url is %d characters: the status-card link texted for CARD carries it as a DLT variable of at most %d, so citizens would get it cut short; serve the gateway on a shorter host name", n, templates.MaxVarLen)
	}
	return ""
}

// openDoors says what a web process serves to anyone, for warnings at
// start: the simulator, and the webhooks whose callers prove nothing
// unless a token is set (Twilio signs its own; USSD gateways and Africa's
// Talking do not).
func openDoors(cfg *Config, r role) []string {
	if !r.web {
		return nil
	}
	var out []string
	switch {
	case cfg.Simulator && !onlyConsole(cfg.Providers):
		out = append(out, "simulator: true beside real providers: /simulator shows any mobile's codes and OTPs and texts as any mobile; it asks for the admin key (as the Basic-auth password). Turn it off when not testing")
	case onlyConsole(cfg.Providers):
		out = append(out, "the console provider serves /simulator to anyone: it shows every SMS and texts as any mobile; for development only")
	}
	if cfg.Embedded {
		return out
	}
	if cfg.USSDToken == "" {
		out = append(out, "ussd_token is empty: anyone who can reach /webhooks/ussd can read the status of any mobile; set ussd_token and give the operator the URL with ?token=")
	}
	for _, p := range cfg.Providers {
		if p.Kind == KindAT && p.AT.WebhookToken == "" {
			out = append(out, fmt.Sprintf("provider %s: webhook_token is empty: anyone who can reach /webhooks/africastalking/%s/ can forge its delivery reports and opt a citizen out (UserInBlacklist); set webhook_token and add ?token= to the callback URLs", p.Name, p.Name))
		}
	}
	return out
}
