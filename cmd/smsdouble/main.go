// Command smsdouble runs a stand-in for Twilio's Messages API as a process
// of its own, for load generators and fault drills: point a provider's
// base_url at it, switch faults with POST /control, and read what it
// accepted from /record and /messages (see package smsdouble).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sandesh/providers/twilio/smsdouble"
)

// Fixed credentials, so drill configs need not change between runs.
const (
	defaultAccountSID = "ACdb1edb1edb1edb1edb1edb1edb1edb1e"
	defaultAuthToken  = "5ec2e75ec2e75ec2e75ec2e75ec2e75e"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx is done and returns the exit code: 2 for bad
// flags, 1 when the server cannot run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smsdouble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4010", "address to listen on")
	var cfg smsdouble.Config
	fs.StringVar(&cfg.AccountSID, "account-sid", defaultAccountSID, "Twilio account SID the double serves")
	fs.StringVar(&cfg.AuthToken, "auth-token", defaultAuthToken, "its auth token (Basic auth password, callback signing key)")
	fs.DurationVar(&cfg.Faults.Latency, "latency", 0, "wait before answering each create request")
	fs.DurationVar(&cfg.Faults.Jitter, "jitter", 0, "plus a uniform random wait up to this")
	fs.Float64Var(&cfg.Faults.Error500, "error-500", 0, "share of create requests answered 500 (Twilio 20500)")
	fs.Float64Var(&cfg.Faults.Error429, "error-429", 0, "share answered 429 (Twilio 20429, Retry-After: 1)")
	fs.Float64Var(&cfg.Faults.Timeout, "timeout", 0, "share left unanswered for -hang")
	fs.DurationVar(&cfg.Faults.Hang, "hang", smsdouble.DefaultHang, "how long a timed-out request goes unanswered (or until the client gives up)")
	fs.Float64Var(&cfg.Faults.Undelivered, "undelivered", 0, "share of accepted messages whose last callback is undelivered (30003)")
	callbacks := fs.String("callbacks", smsdouble.DefaultCallbacks.String(), "status callbacks to post per message: comma list of queued,sent,delivered, or none")
	fs.IntVar(&cfg.CallbackWorkers, "callback-workers", smsdouble.DefaultCallbackWorkers, "concurrent callback posts")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smsdouble: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var err error
	if cfg.Callbacks, err = smsdouble.ParseCallbacks(*callbacks); err != nil {
		fmt.Fprintf(stderr, "smsdouble: -callbacks: %v\n", err)
		return 2
	}
	if cfg.CallbackWorkers <= 0 {
		fmt.Fprintln(stderr, "smsdouble: -callback-workers must be positive")
		return 2
	}
	if cfg.Faults.Hang <= 0 {
		fmt.Fprintln(stderr, "smsdouble: -hang must be positive")
		return 2
	}
	double, err := smsdouble.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "smsdouble: %v\n", err)
		return 2
	}
	defer double.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "smsdouble: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: double, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "smsdouble listening on http://%s account_sid=%s\n", ln.Addr(), double.AccountSID())

	select {
	case err := <-served:
		fmt.Fprintf(stderr, "smsdouble: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	double.Close() // releases hung requests, which Shutdown would wait for
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	return 0
}
