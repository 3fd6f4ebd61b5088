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

	"sandesh/templates"
)

const usage = `usage: sandesh [--config FILE] [command]

commands:
  (none)     web server and worker in one process
  web        the web server only (Procfile "web")
  worker     the send worker only (Procfile "worker")
  demo       print the demo keys
  segments   [TEXT] print how TEXT travels as SMS (stdin when no TEXT)

--config FILE, or SANDESH_CONFIG, names a YAML config; with none the gateway
runs on an embedded in-memory Redis with the console provider.
`

// cli is the process's surroundings, so tests can run commands in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) (string, bool)
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
	r, ok := map[string]role{"": {web: true, worker: true}, "web": {web: true}, "worker": {worker: true}, "demo": {}}[cmd]
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
	if cfg.Embedded && (cmd == "web" || cmd == "worker") {
		fmt.Fprintf(c.stderr, "sandesh: %s as a separate process needs redis_url: the embedded Redis lives inside one process\n", cmd)
		return 2
	}
	a, err := newApp(ctx, cfg, r, log, c.stdout)
	if err != nil {
		fmt.Fprintf(c.stderr, "sandesh: %v\n", err)
		return 1
	}
	if cmd == "demo" {
		defer a.Close()
		return c.demo(a)
	}
	log.Info("starting", "config", cfg, "web", r.web, "worker", r.worker)
	if err := a.Start(); err != nil {
		a.Close()
		fmt.Fprintf(c.stderr, "sandesh: %v\n", err)
		return 1
	}
	if cfg.Embedded {
		c.welcome(a)
	}
	<-ctx.Done()
	log.Info("shutting down: no new requests, finishing sends in flight")
	if err := a.Shutdown(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// welcome tells a newcomer on the embedded default what they are running.
func (c cli) welcome(a *app) {
	fmt.Fprintf(c.stdout, `
Sandesh is running on an embedded in-memory Redis with the console provider:
every SMS is printed here instead of sent.

  API       http://%s  (see /openapi.yaml)
  admin key %s  (shown once; Authorization: Bearer <key>)
  queues    http://%s/admin/queues

`, a.Addr(), a.AdminKey, a.Addr())
}

// demo prints the keys a newcomer needs.
func (c cli) demo(a *app) int {
	if a.AdminKey == "" {
		fmt.Fprintln(c.stderr, "sandesh: no admin_key configured")
		return 1
	}
	fmt.Fprintf(c.stdout, "admin key: %s\n", a.AdminKey)
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
