package jobs

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/providers"
	"sandesh/store"
)

// benchConcurrency is the worker concurrency of every path compared.
const benchConcurrency = 50

// benchProducers is how many goroutines enqueue, as the concurrent requests
// of web processes would. Too few and the producers' round-trip latency,
// not the cost of a message, sets every path's rate: with 8, the full
// path's two round trips per enqueue capped it while the worker sat idle.
const benchProducers = 32

// enqueueAll runs add(i) for i in [0, n) from benchProducers goroutines.
func enqueueAll(b *testing.B, n int, add func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, benchProducers)
	for p := range benchProducers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += benchProducers {
				if err := add(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

func waitFor(b *testing.B, what string, done func() bool) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// bareServer runs an asynq server on its own queue with handler h.
func bareServer(b *testing.B, r *rig, queue string, h asynq.HandlerFunc) {
	b.Helper()
	srv := asynq.NewServer(r.conn, asynq.Config{
		Concurrency: benchConcurrency, Queues: map[string]int{queue: 1},
		TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.ErrorLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:"+queue, h)
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
}

// BenchmarkSendPath sends b.N messages end to end — record, enqueue, worker
// claim, router, breaker, Twilio double over HTTP, record sent — and, in the
// same run, b.N bare asynq tasks with a no-op handler and b.N asynq tasks
// whose handler only sends to the double (no store), all at the same
// concurrency. It reports the rates and the full path's ratio to bare asynq:
// absolute numbers drift between machines and runs, the ratio much less.
// The asynq+HTTP path shows how much of the gap the double's HTTP round
// trip alone makes — on one small machine the double's own CPU counts too.
// The paths alternate in rounds so that a burst of load from elsewhere hits
// all alike. Run it with a fixed count, e.g. -benchtime 20000x.
func BenchmarkSendPath(b *testing.B) {
	r := newBenchRig(b)
	ctx := context.Background()
	const rounds = 4
	per := max(b.N/rounds, 1)

	var bareDone atomic.Int64
	bareServer(b, r, "bare", func(context.Context, *asynq.Task) error { bareDone.Add(1); return nil })
	bareServer(b, r, "http", func(ctx context.Context, t *asynq.Task) error {
		_, err := r.router.Send(ctx, providers.Outbound{
			MessageID: string(t.Payload()), To: "+919800000000", Body: benchBody, Encoding: "GSM-7", Segments: 1,
		})
		return err
	})
	w := NewWorker(r.conn, r.store, r.router, r.dispatch, WorkerOptions{
		Concurrency: map[store.Priority]int{store.PriorityTransactional: benchConcurrency},
		Dequeuers:   map[store.Priority]int{store.PriorityTransactional: benchDequeuers()},
	})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Shutdown()

	var bareTime, httpTime, fullTime time.Duration
	timed := func(total *time.Duration, enqueue func(i int) error, done func() bool) {
		start := time.Now()
		enqueueAll(b, per, enqueue)
		waitFor(b, "the round's messages", done)
		*total += time.Since(start)
	}
	b.ResetTimer()
	for round := range rounds {
		// Bare asynq: the ceiling of the queue itself.
		want := bareDone.Load() + int64(per)
		timed(&bareTime, func(i int) error {
			_, err := r.client.EnqueueContext(ctx, asynq.NewTask("bench:bare", fmt.Appendf(nil, "%d-%d", round, i)), asynq.Queue("bare"))
			return err
		}, func() bool { return bareDone.Load() >= want })

		// asynq and the HTTP call to the double, nothing stored.
		wantSent := r.doubles[0].Count() + per
		timed(&httpTime, func(i int) error {
			_, err := r.client.EnqueueContext(ctx, asynq.NewTask("bench:http", fmt.Appendf(nil, "h%d-%d", round, i)), asynq.Queue("http"))
			return err
		}, func() bool { return r.doubles[0].Count() >= wantSent })

		// The full path.
		wantSent = r.doubles[0].Count() + per
		timed(&fullTime, func(i int) error {
			_, err := r.dispatch.Dispatch(ctx, store.NewMessage{
				To: fmt.Sprintf("+9198%02d%06d", round, i), Template: "dose_confirmation", Language: "en",
				Body: benchBody, Encoding: "GSM-7", Segments: 1, Priority: store.PriorityTransactional,
			})
			return err
		}, func() bool { return r.doubles[0].Count() >= wantSent })
	}
	b.StopTimer()
	total := float64(per * rounds)
	fullRate, bareRate := total/fullTime.Seconds(), total/bareTime.Seconds()
	b.ReportMetric(fullRate, "msgs/s")
	b.ReportMetric(bareRate, "bare-asynq/s")
	b.ReportMetric(total/httpTime.Seconds(), "asynq+http/s")
	b.ReportMetric(fullRate/bareRate, "ratio")
	b.ReportMetric(0, "ns/op") // the rates above are the result; per-op time mixes the paths
}

const benchBody = "Dose 1 of COVISHIELD recorded for Asha Patil. Certificate 12345678901234."

func newBenchRig(b *testing.B) *rig {
	b.Helper()
	return newRigTB(b, 1, providers.RouterOptions{})
}

func benchDequeuers() int {
	n, _ := strconv.Atoi(os.Getenv("BENCH_DEQUEUERS"))
	return n
}
