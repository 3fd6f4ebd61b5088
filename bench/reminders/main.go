// Command reminders measures a due-dose reminder run at national scale:
// it registers n beneficiaries whose next dose opens on one day (through
// the store's own registration and dose steps, so the dose step builds the
// index), then runs that day's reminders in process while verifiers
// request KYVS OTPs through the HTTP API at a steady rate, and reports the
// time to queue, the Redis memory of the day's index, and the OTP
// requests' latency before and during the run.
//
//	go run ./bench/reminders -redis redis://127.0.0.1:6390/3 -n 1000000
//
// It flushes the database it is given.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"sandesh/gateway"
	"sandesh/jobs"
	"sandesh/langs"
	"sandesh/store"
	"sandesh/templates"
)

func main() {
	redisURL := flag.String("redis", "redis://127.0.0.1:6390/3", "Redis to use; its database is flushed")
	n := flag.Int("n", 1_000_000, "beneficiaries due on the day")
	workers := flag.Int("concurrency", 64, "registrations and doses in flight while seeding")
	otpRate := flag.Float64("otp-rate", 50, "KYVS OTP requests a second, before and during the run")
	baseline := flag.Duration("baseline", 10*time.Second, "OTP requests measured before the run")
	flag.Parse()
	if err := run(*redisURL, *n, *workers, *otpRate, *baseline); err != nil {
		log.Fatal(err)
	}
}

const (
	secret   = "bench-secret-0123456789abcdef0123456789"
	adminKey = "bench-admin-key-0123456789abcdef"
	day      = "2027-02-14" // the day the reminded doses open
)

func run(redisURL string, n, workers int, otpRate float64, baseline time.Duration) error {
	ctx := context.Background()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	st, err := store.New(rdb, store.Options{Secret: []byte(secret)})
	if err != nil {
		return err
	}
	conn := asynq.RedisClientOpt{Addr: opts.Addr, DB: opts.DB, Password: opts.Password}
	client := asynq.NewClient(conn)
	defer client.Close()
	set, err := templates.Load()
	if err != nil {
		return err
	}
	gw := gateway.New(gateway.Deps{Store: st, Dispatch: jobs.NewDispatcher(st, client, nil), Templates: set,
		Languages: langs.Codes(), VerifierPerHour: 1e9, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})

	fmt.Printf("seeding %d beneficiaries due on %s (%d in flight) …\n", n, day, workers)
	start := time.Now()
	if err := seed(ctx, st, n, workers); err != nil {
		return err
	}
	fmt.Printf("seeded in %s (%.0f/s)\n", time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
	// The day's due lists, one a shard.
	var indexBytes int64
	for _, k := range rdb.Keys(ctx, "sandesh:dues:*:"+day).Val() {
		b, err := rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			return err
		}
		indexBytes += b
	}
	before := usedMemory(ctx, rdb)

	// The API, for the verifiers' OTP requests.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	app := gateway.NewServer(gw, gateway.ServerOptions{AdminKey: adminKey})
	go app.Listener(ln)
	defer app.Shutdown()
	base := "http://" + ln.Addr().String()
	verifier, err := newVerifierKey(base)
	if err != nil {
		return err
	}
	// Each mobile gets 5 OTPs an hour; the probes take turns.
	var probes []string
	for i := range probeMobiles {
		p, err := gw.Register(ctx, gateway.Registration{Name: "Asha Patil", Mobile: fmt.Sprintf("98%08d", i), BirthYear: 1980, Gender: "F", Language: "hi"})
		if err != nil {
			return err
		}
		probes = append(probes, p.Mobile)
	}

	fmt.Printf("OTP requests at %.0f/s for %s before the run …\n", otpRate, baseline)
	idle := measureOTPs(base, verifier, probes, otpRate, func(stop <-chan struct{}) { time.Sleep(baseline) })

	var counts gateway.ReminderCounts
	var took time.Duration
	during := measureOTPs(base, verifier, probes, otpRate, func(<-chan struct{}) {
		t := time.Now()
		counts, err = gw.RunReminders(ctx, day)
		took = time.Since(t)
	})
	if err != nil {
		return err
	}
	after := usedMemory(ctx, rdb)
	fmt.Printf("\nreminder run for %s: due %d, queued %d, opted out %d, already sent %d, booked %d\n",
		day, counts.Due, counts.Queued, counts.OptedOut, counts.AlreadySent, counts.Booked)
	fmt.Printf("time to queue: %s (%.0f reminders/s)\n", took.Round(10*time.Millisecond), float64(counts.Queued)/took.Seconds())
	fmt.Printf("index sandesh:dues:*:%s: %.1f MB for %d beneficiaries (%.0f B each)\n", day, float64(indexBytes)/1e6, n, float64(indexBytes)/float64(n))
	fmt.Printf("Redis used memory: %.0f MB before the run, %.0f MB after (%.0f B per reminder queued: record, history, pending, task)\n",
		float64(before)/1e6, float64(after)/1e6, float64(after-before)/float64(max(counts.Queued, 1)))
	fmt.Printf("KYVS OTP requests  %8s %8s %8s %8s\n", "n", "p50 ms", "p99 ms", "max ms")
	fmt.Printf("  before the run   %s\n  during the run   %s\n", idle, during)
	fmt.Printf("(%d cores, %s)\n", runtime.NumCPU(), runtime.Version())
	return nil
}

// seed registers n beneficiaries, four to a mobile, each with one COVAXIN
// dose 28 days before day.
func seed(ctx context.Context, st *store.Store, n, workers int) error {
	doseDate := mustDate(day).AddDate(0, 0, -28).Format(time.DateOnly)
	languages := langs.Codes()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				b, err := st.CreateBeneficiaryOnce(ctx, store.Beneficiary{
					Name: "Beneficiary " + strconv.FormatInt(i, 10), Mobile: fmt.Sprintf("+9191%08d", i/4),
					BirthYear: 1960 + int(i%40), Gender: "F", Language: languages[i%int64(len(languages))],
				}, 4, nil, nil)
				if err == nil {
					_, err = st.RecordDose(ctx, store.NewDose{BeneficiaryID: b.ID, Vaccine: "COVAXIN", Batch: "B1", CenterID: "C1", Date: doseDate}, nil)
				}
				if err != nil {
					errs <- fmt.Errorf("seed %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func mustDate(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func usedMemory(ctx context.Context, rdb *redis.Client) int64 {
	info, err := rdb.InfoMap(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	return v
}

func newVerifierKey(base string) (string, error) {
	body, _ := json.Marshal(map[string]string{"name": "Bench verifier", "role": "verifier"})
	req, _ := http.NewRequest("POST", base+"/v1/admin/keys", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Key == "" {
		return "", fmt.Errorf("create verifier key: %d %v", resp.StatusCode, err)
	}
	return out.Key, nil
}

// latencies summarises the OTP requests of one phase.
type latencies struct {
	n, failed     int
	p50, p99, max time.Duration
}

func (l latencies) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	s := fmt.Sprintf("%8d %8s %8s %8s", l.n, ms(l.p50), ms(l.p99), ms(l.max))
	if l.failed > 0 {
		s += fmt.Sprintf("  (%d failed)", l.failed)
	}
	return s
}

// probeMobiles are the mobiles the OTP requests go to in turn.
const probeMobiles = 2000

// measureOTPs requests OTPs for the mobiles in turn at rate while phase
// runs, and summarises their latency.
func measureOTPs(base, key string, mobiles []string, rate float64, phase func(stop <-chan struct{})) latencies {
	var sent atomic.Int64
	stop := make(chan struct{})
	var mu sync.Mutex
	var took []time.Duration
	failed := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		var inflight sync.WaitGroup
		defer inflight.Wait()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mobile := mobiles[int(sent.Add(1))%len(mobiles)]
			inflight.Go(func() {
				body, _ := json.Marshal(map[string]string{"name": "Asha Patil", "mobile": mobile})
				req, _ := http.NewRequest("POST", base+"/v1/kyvs/otp", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				t := time.Now()
				resp, err := http.DefaultClient.Do(req)
				d := time.Since(t)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || resp.StatusCode != http.StatusAccepted {
					failed++
				} else {
					took = append(took, d)
				}
				if err == nil {
					resp.Body.Close()
				}
			})
		}
	})
	phase(stop)
	close(stop)
	wg.Wait()
	slices.Sort(took)
	l := latencies{n: len(took), failed: failed}
	if len(took) > 0 {
		l.p50, l.p99, l.max = took[len(took)/2], took[len(took)*99/100], took[len(took)-1]
	}
	return l
}
