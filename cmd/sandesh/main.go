// Command sandesh is the whole gateway in one binary: web server and send
// worker together (the default), or either alone (the Procfile's process
// types), plus operator tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent and memoryLimit shape the garbage collector of a process on a
// real Redis unless the operator sets GOGC or GOMEMLIMIT (either leaves
// both to Go). Every request and every send allocates a few kilobytes that
// die at once while the live heap stays small (tens of MB), so Go's
// default (collect when the heap doubles) collected four times as often
// for nothing at full load. The limit keeps a process whose live heap
// grows (a large backlog, a leak) from growing fivefold: near it the
// collector works harder instead.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

func tuneGC(env func(string) (string, bool)) {
	_, gogc := env("GOGC")
	_, limit := env("GOMEMLIMIT")
	if gogc || limit {
		return
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv, exit: os.Exit}.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
