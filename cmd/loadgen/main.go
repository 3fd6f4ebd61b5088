// Command loadgen drives a running Sandesh gateway over HTTP and reports
// the achieved rates, latencies per kind of request and, given the
// provider double's URL, end-to-end SMS delivery. See package
// sandesh/internal/loadgen for what it sends and how it counts.
//
//	loadgen -url http://127.0.0.1:3000 -admin-key $KEY -auth-token $TOKEN \
//	    -mix dose=5,kyvs=1,inbound=2,ussd=1,book=1 -rate 200 -duration 60s \
//	    -beneficiaries 5000 -double http://127.0.0.1:4010 -json report.json
//
// Keys and tokens may come from the environment instead of the command
// line (where other users of the machine can read them): LOADGEN_ADMIN_KEY,
// LOADGEN_REGISTRY_KEY, LOADGEN_CENTER_KEY, LOADGEN_VERIFIER_KEY,
// LOADGEN_AUTH_TOKEN, LOADGEN_USSD_TOKEN.
//
// Exit status: 0 when the run completed (read the report for lost SMS and
// errors), 1 when it could not run, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"sandesh/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run is the whole command, with its surroundings passed in for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	cfg, jsonPath, quiet, err := parseFlags(args, stderr, env)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	if !quiet {
		cfg.Progress = stderr
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	if err := rep.WriteTable(stdout); err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	if jsonPath != "" {
		if err := rep.WriteJSON(jsonPath); err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
	}
	return 0
}

// parseFlags reads the command line into a run's config.
func parseFlags(args []string, stderr io.Writer, env func(string) (string, bool)) (cfg loadgen.Config, jsonPath string, quiet bool, err error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromEnv := func(name string) string {
		v, _ := env(name)
		return v
	}
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:3000", "the gateway's base URL")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "the gateway's public_url, base of webhook signatures (default: -url)")
	fs.StringVar(&cfg.AdminKey, "admin-key", fromEnv("LOADGEN_ADMIN_KEY"), "admin key: creates the centre and the keys the run lacks ($LOADGEN_ADMIN_KEY)")
	fs.StringVar(&cfg.RegistryKey, "registry-key", fromEnv("LOADGEN_REGISTRY_KEY"), "registry key for registration and booking (default: the admin key; $LOADGEN_REGISTRY_KEY)")
	fs.StringVar(&cfg.CenterKey, "center-key", fromEnv("LOADGEN_CENTER_KEY"), "an existing centre key for doses ($LOADGEN_CENTER_KEY)")
	fs.StringVar(&cfg.VerifierKey, "verifier-key", fromEnv("LOADGEN_VERIFIER_KEY"), "an existing verifier key for KYVS ($LOADGEN_VERIFIER_KEY)")
	fs.StringVar(&cfg.CenterID, "center", "", "an existing centre for bookings (default: create LG<run id>)")
	fs.StringVar(&cfg.Provider, "provider", "primary", "the twilio provider's name in the webhook path")
	fs.StringVar(&cfg.AuthToken, "auth-token", fromEnv("LOADGEN_AUTH_TOKEN"), "that provider's Twilio auth token, to sign inbound SMS ($LOADGEN_AUTH_TOKEN)")
	fs.StringVar(&cfg.AccountSID, "account-sid", "", "AccountSid of inbound SMS (default: made up)")
	fs.StringVar(&cfg.USSDToken, "ussd-token", fromEnv("LOADGEN_USSD_TOKEN"), "the gateway's ussd_token ($LOADGEN_USSD_TOKEN)")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to send requests")
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per second, all kinds together (open loop); 0: as fast as -concurrency allows (closed loop)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "requests in flight at most")
	mix := fs.String("mix", "dose=1", "kinds and weights: dose, book, kyvs, inbound, ussd, e.g. dose=5,kyvs=1,inbound=2,ussd=1,book=1")
	fs.IntVar(&cfg.Beneficiaries, "beneficiaries", 1000, "beneficiaries to register before the run, one per mobile")
	fs.IntVar(&cfg.DosePeople, "dose-people", 0, "beneficiaries to register besides, four to a mobile, each for one dose request (past them a dose request registers one first)")
	langs := fs.String("languages", "en", "languages to register beneficiaries with, in turn (en,hi,mr)")
	fs.StringVar(&cfg.DoubleURL, "double", "", "the provider double's base URL, for end-to-end delivery (optional)")
	fs.BoolVar(&cfg.ResetDouble, "reset-double", false, "clear the double's record (POST /reset) before the run")
	fs.DurationVar(&cfg.Drain, "drain", 60*time.Second, "the longest wait after the run for SMS still on their way")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the run id and mobile prefix (0: random)")
	fs.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	readyFile := fs.String("ready-file", "", "create this file when the setup is over, just before the timed run (for a script that samples counters then)")
	if err := fs.Parse(args); err != nil {
		return cfg, "", false, err
	}
	if fs.NArg() > 0 {
		return cfg, "", false, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if cfg.Mix, err = loadgen.ParseMix(*mix); err != nil {
		return cfg, "", false, err
	}
	if path := *readyFile; path != "" {
		cfg.SetupDone = func() {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				fmt.Fprintf(stderr, "loadgen: ready file: %v\n", err)
			}
		}
	}
	for l := range strings.SplitSeq(*langs, ",") {
		if l = strings.TrimSpace(l); l != "" {
			cfg.Languages = append(cfg.Languages, l)
		}
	}
	return cfg, jsonPath, quiet, cfg.Validate()
}
