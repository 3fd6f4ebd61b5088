// Command sandesh is the whole gateway in one binary: web server and send
// worker together (the default), or either alone (the Procfile's process
// types), plus operator tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv, exit: os.Exit}.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
