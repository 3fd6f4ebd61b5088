package smsdouble_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"sandesh/providers/twilio/smsdouble"
)

// BenchmarkCreate posts create calls over loopback HTTP from many
// goroutines, as a load generator's gateway would, and reports creates/s.
func BenchmarkCreate(b *testing.B) {
	for _, bc := range []struct {
		name      string
		callbacks smsdouble.Callbacks
	}{
		{"no callbacks", 0},
		{"sent,delivered", smsdouble.DefaultCallbacks},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, ts := start(b, smsdouble.Config{Callbacks: bc.callbacks})
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			b.Cleanup(app.Close)
			client := &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}}
			b.Cleanup(client.CloseIdleConnections)
			u := ts.URL + "/2010-04-01/Accounts/" + d.AccountSID() + "/Messages.json"
			var n atomic.Int64

			b.SetParallelism(16) // ×GOMAXPROCS senders
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := strconv.FormatInt(n.Add(1), 10)
					form := url.Values{"To": {"+919812345678"}, "From": {"+15005550006"}, "Body": {"Your OTP is 123456"},
						"StatusCallback": {app.URL + "/webhooks/twilio/drill/status?m=" + id}}
					req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(d.AccountSID(), d.AuthToken())
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
			b.StopTimer()
			if rec := d.Record(); rec.Accepted != b.N || len(rec.Duplicates) != 0 {
				b.Errorf("accepted %d of %d, %d duplicates", rec.Accepted, b.N, len(rec.Duplicates))
			}
		})
	}
}
