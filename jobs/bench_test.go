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

// benchConcurrency is the worker concurrency of both sides of the comparison.
const benchConcurrency = 50

// enqueueAll runs add(i) for i in [0, n) from several goroutines, as many
// web processes would.
func enqueueAll(b *testing.B, n int, add func(i int) error) {
	b.Helper()
	const producers = 8
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += producers {
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

// BenchmarkSendPath sends b.N messages end to end — record, enqueue, worker
// claim, router, breaker, Twilio double over HTTP, record sent — and, in the
// same run, b.N bare asynq tasks with a no-op handler at the same
// concurrency. It reports both rates and their ratio: absolute numbers drift
// between machines and runs, the ratio much less. The two alternate in
// rounds so that a burst of load from elsewhere hits both alike. Run it
// with a fixed count, e.g. -benchtime 20000x.
func BenchmarkSendPath(b *testing.B) {
	r := newBenchRig(b)
	ctx := context.Background()
	const rounds = 4
	per := max(b.N/rounds, 1)

	var done atomic.Int64
	bare := asynq.NewServer(r.conn, asynq.Config{
		Concurrency: benchConcurrency, Queues: map[string]int{"bare": 1},
		TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.ErrorLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("bare:noop", func(context.Context, *asynq.Task) error { done.Add(1); return nil })
	if err := bare.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer bare.Shutdown()
	w := NewWorker(r.conn, r.store, r.router, r.dispatch, WorkerOptions{
		Concurrency: map[store.Priority]int{store.PriorityTransactional: benchConcurrency},
		Dequeuers:   map[store.Priority]int{store.PriorityTransactional: benchDequeuers()},
	})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Shutdown()

	var bareTime, fullTime time.Duration
	b.ResetTimer()
	for round := range rounds {
		// Bare asynq: the ceiling of the queue itself.
		start := time.Now()
		want := done.Load() + int64(per)
		enqueueAll(b, per, func(i int) error {
			_, err := r.client.EnqueueContext(ctx, asynq.NewTask("bare:noop", []byte(fmt.Sprintf(`{"message_id":"%d-%d"}`, round, i))), asynq.Queue("bare"))
			return err
		})
		waitFor(b, "bare tasks", func() bool { return done.Load() >= want })
		bareTime += time.Since(start)

		// The full path.
		start = time.Now()
		wantSent := r.doubles[0].Count() + per
		enqueueAll(b, per, func(i int) error {
			_, err := r.dispatch.Dispatch(ctx, store.NewMessage{
				To: fmt.Sprintf("+9198%02d%06d", round, i), Template: "dose_confirmation", Language: "en",
				Body:     "Dose 1 of COVISHIELD recorded for Asha Patil. Certificate 12345678901234.",
				Encoding: "GSM-7", Segments: 1, Priority: store.PriorityTransactional,
			})
			return err
		})
		waitFor(b, "messages at the double", func() bool { return r.doubles[0].Count() >= wantSent })
		fullTime += time.Since(start)
	}
	b.StopTimer()
	total := float64(per * rounds)
	fullRate, bareRate := total/fullTime.Seconds(), total/bareTime.Seconds()
	b.ReportMetric(fullRate, "msgs/s")
	b.ReportMetric(bareRate, "bare-asynq/s")
	b.ReportMetric(fullRate/bareRate, "ratio")
	b.ReportMetric(0, "ns/op") // the rates above are the result; per-op time mixes both paths
}

func newBenchRig(b *testing.B) *rig {
	b.Helper()
	return newRigTB(b, 1, providers.RouterOptions{})
}

func benchDequeuers() int {
	n, _ := strconv.Atoi(os.Getenv("BENCH_DEQUEUERS"))
	return n
}
