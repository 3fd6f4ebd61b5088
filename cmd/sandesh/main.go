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

// gcPercent and memoryLimit shape the garbage collector unless the
// operator sets GOGC or GOMEMLIMIT. Every request and every send allocates
// a few kilobytes that die at once while the live heap stays small (tens
// of MB), so Go's default (collect when the heap doubles) spent about a
// tenth of the web and worker CPU in GC at full load; collecting at five
// times the live heap spends a fifth of that. The limit keeps a process
// whose live heap grows (a large backlog, a leak) from growing fivefold:
// near it the collector works harder instead.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

func tuneGC(env func(string) (string, bool)) {
	if _, set := env("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	if _, set := env("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
}

func main() {
	tuneGC(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv, exit: os.Exit}.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
