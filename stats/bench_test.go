package stats

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkStatus is what a send path pays to count a status for the
// dashboard, beside what it already paid for the Prometheus counter.
func BenchmarkStatus(b *testing.B) {
	c := New(nil, "sandesh:", time.UTC, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Status("dose_confirmation", "sent", "primary")
		}
	})
}

func BenchmarkPrometheusCounter(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total"}, []string{"template", "status", "provider"})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v.WithLabelValues("dose_confirmation", "sent", "primary").Inc()
		}
	})
}
