// Command baseline measures, on the machine and Redis a performance run
// uses, the ceilings Sandesh's figures are compared with — bare asynq with
// a no-op handler, a bare fiber handler that parses a Twilio form, and
// Kannel with its durable file store (kannel.go) — and queues a bulk
// backlog for the OTP-under-backlog scenario. bench/run.sh calls it; each
// mode prints one JSON object.
//
//	baseline -mode asynq  -redis URL -n 100000
//	baseline -mode fiber  -duration 20s -concurrency 64
//	baseline -mode backlog -redis URL -n 200000 -secret S
//	baseline -mode kannel -n 90000 -concurrency 32 -dir bench/out/kannel
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"sandesh/jobs"
	"sandesh/store"
)

func main() {
	mode := flag.String("mode", "", "asynq, fiber, backlog or kannel")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis for asynq and backlog")
	n := flag.Int("n", 100000, "tasks (asynq) or messages (backlog, kannel)")
	duration := flag.Duration("duration", 20*time.Second, "how long to drive the fiber handler")
	concurrency := flag.Int("concurrency", 64, "requests in flight (fiber, kannel), producers and workers (asynq)")
	secret := flag.String("secret", "", "the gateway's secret (backlog: the store seals nothing for bulk, but needs one)")
	kannelDir := flag.String("dir", "bench/out/kannel", "kannel: where its config, store and logs go (emptied first)")
	kannelPort := flag.Int("port", 13100, "kannel: its admin port; smsbox link, fake SMSC and sendsms take the next three")
	flag.Parse()
	ctx := context.Background()
	var out any
	var err error
	switch *mode {
	case "asynq":
		out, err = bareAsynq(ctx, *redisURL, *n, *concurrency)
	case "fiber":
		out, err = bareFiber(*duration, *concurrency)
	case "backlog":
		out, err = backlog(ctx, *redisURL, *n, *secret)
	case "kannel":
		out, err = bareKannel(*kannelDir, *kannelPort, *n, *concurrency)
	default:
		err = fmt.Errorf("-mode must be asynq, fiber, backlog or kannel")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func redisOpt(raw string) (asynq.RedisClientOpt, error) {
	o, err := redis.ParseURL(raw)
	if err != nil {
		return asynq.RedisClientOpt{}, err
	}
	return asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB, Password: o.Password, Username: o.Username}, nil
}

// bareAsynq enqueues n no-op tasks from concurrency producers while one
// server with concurrency workers processes them: the end-to-end ceiling
// of the queue on this machine.
func bareAsynq(ctx context.Context, raw string, n, concurrency int) (any, error) {
	conn, err := redisOpt(raw)
	if err != nil {
		return nil, err
	}
	const queue = "baseline"
	var done atomic.Int64
	srv := asynq.NewServer(conn, asynq.Config{Concurrency: 50, Queues: map[string]int{queue: 1},
		TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("baseline:noop", func(context.Context, *asynq.Task) error { done.Add(1); return nil })
	if err := srv.Start(mux); err != nil {
		return nil, err
	}
	defer srv.Shutdown()
	client := asynq.NewClient(conn)
	defer client.Close()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for p := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += concurrency {
				if _, err := client.EnqueueContext(ctx, asynq.NewTask("baseline:noop", fmt.Appendf(nil, "%d", i)), asynq.Queue(queue)); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	want := int64(n) - failed.Load()
	for done.Load() < want {
		time.Sleep(2 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	return map[string]any{"mode": "asynq", "tasks": want, "seconds": secs, "rate_per_sec": float64(want) / secs}, nil
}

// bareFiber serves a handler that parses a Twilio inbound form and answers
// empty TwiML, and drives it like loadgen drives the gateway.
func bareFiber(d time.Duration, concurrency int) (any, error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/webhooks/twilio/:provider/sms", func(c *fiber.Ctx) error {
		args := c.Request().PostArgs()
		if len(args.Peek("MessageSid")) == 0 || len(args.Peek("From")) == 0 {
			return c.SendStatus(http.StatusBadRequest)
		}
		c.Set("Content-Type", "text/xml")
		return c.SendString(`<Response/>`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go app.Listener(ln)
	// fasthttp's shutdown waits for open connections, idle keep-alives too.
	defer app.ShutdownWithTimeout(2 * time.Second)
	target := "http://" + ln.Addr().String() + "/webhooks/twilio/primary/sms"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxIdleConns: concurrency}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				form := url.Values{"MessageSid": {fmt.Sprintf("SM%030d%02d", i, w)}, "AccountSid": {"AC00000000000000000000000000000000"},
					"From": {"+919812345678"}, "To": {"+15005550006"}, "Body": {"STATUS"}, "NumSegments": {"1"}}
				t0 := time.Now()
				resp, err := client.Post(target, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	return map[string]any{"mode": "fiber", "requests": len(all), "seconds": secs, "rate_per_sec": float64(len(all)) / secs,
		"p50_ms": pct(0.50), "p99_ms": pct(0.99)}, nil
}

// backlog records and queues n bulk messages through the gateway's own
// store and dispatcher, as a bulk campaign would.
func backlog(ctx context.Context, raw string, n int, secret string) (any, error) {
	conn, err := redisOpt(raw)
	if err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	st, err := store.New(rdb, store.Options{Secret: []byte(secret)})
	if err != nil {
		return nil, err
	}
	client := asynq.NewClient(conn)
	defer client.Close()
	d := jobs.NewDispatcher(st, client, nil)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	const producers = 64
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += producers {
				_, err := d.Dispatch(ctx, store.NewMessage{
					To: fmt.Sprintf("+9197%08d", i), Template: "kyvs_checked", Language: "en",
					Body: "A verifier checked your vaccination status. Reply STOP to stop such messages.", Encoding: "GSM-7", Segments: 1,
					Priority: store.PriorityBulk,
				})
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return map[string]any{"mode": "backlog", "queued": int64(n) - failed.Load(), "failed": failed.Load(), "seconds": secs}, nil
}
