package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"sandesh/providers/twilio"
)

// benchClients is how many requests are in flight at once, as a provider
// delivering a burst of inbound SMS would keep.
const benchClients = 32

// BenchmarkInbound drives the inbound path — signed Twilio webhook,
// signature check, stored, keyword parsed, reply recorded and enqueued —
// and, in the same run, a bare fiber handler that only parses the form.
// It reports requests/s and p99 latency of both and their ratio. Senders
// rotate over many mobiles so the reply limit does not cut the work short.
// Run it with a fixed count, e.g. -benchtime 20000x.
func BenchmarkInbound(b *testing.B) {
	r := newRig(b)
	bare := fiber.New(fiber.Config{DisableStartupMessage: true})
	bare.Post("/sms", func(c *fiber.Ctx) error {
		params := map[string]string{}
		c.Request().PostArgs().VisitAll(func(k, v []byte) { params[string(k)] = string(v) })
		if params["MessageSid"] == "" {
			return c.SendStatus(http.StatusBadRequest)
		}
		c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
		return c.SendString(emptyTwiML)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go bare.Listener(ln)
	b.Cleanup(func() { bare.ShutdownWithTimeout(time.Second) })

	const rounds = 4
	per := max(b.N/rounds, 1)
	var full, base []time.Duration
	var fullTime, baseTime time.Duration
	b.ResetTimer()
	for round := range rounds {
		d, lat := postMany(b, r.url+"/webhooks/twilio/primary/sms", r.double.AuthToken, per, round*per)
		fullTime, full = fullTime+d, append(full, lat...)
		d, lat = postMany(b, "http://"+ln.Addr().String()+"/sms", r.double.AuthToken, per, round*per)
		baseTime, base = baseTime+d, append(base, lat...)
	}
	b.StopTimer()
	fullRate := float64(len(full)) / fullTime.Seconds()
	baseRate := float64(len(base)) / baseTime.Seconds()
	b.ReportMetric(fullRate, "inbound_req/s")
	b.ReportMetric(baseRate, "bare_req/s")
	b.ReportMetric(fullRate/baseRate, "ratio")
	b.ReportMetric(float64(p99(full).Microseconds())/1000, "inbound_p99_ms")
	b.ReportMetric(float64(p99(base).Microseconds())/1000, "bare_p99_ms")
}

// postMany posts n signed inbound SMS from benchClients goroutines and
// returns the wall time and each request's latency.
func postMany(b *testing.B, target, token string, n, offset int) (time.Duration, []time.Duration) {
	b.Helper()
	transport := &http.Transport{MaxIdleConnsPerHost: benchClients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	lats := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := offset + i
				params := map[string]string{
					"MessageSid": fmt.Sprintf("SM%032d", id), "AccountSid": "AC" + strings.Repeat("0", 32),
					"From": fmt.Sprintf("+9198%08d", id%50_000), "To": ourNumber, "Body": "HELP",
					"NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
				}
				form := url.Values{}
				for k, v := range params {
					form.Set(k, v)
				}
				req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Twilio-Signature", twilio.Sign(token, target, params))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lats[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					failed.Store(fmt.Errorf("%s answered %d", target, resp.StatusCode))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), lats
}

func p99(lats []time.Duration) time.Duration {
	s := slices.Clone(lats)
	slices.Sort(s)
	return s[len(s)*99/100]
}
