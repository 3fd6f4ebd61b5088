package jobs

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the send-side Prometheus series. Build one per process and
// register it on that process's registry.
type Metrics struct {
	Messages    *prometheus.CounterVec
	Segments    *prometheus.CounterVec
	SendLatency *prometheus.HistogramVec
	BulkWidth   prometheus.Gauge
}

// NewMetrics creates and registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sandesh_messages_total",
			Help: "Messages reaching a status, by template, status and provider.",
		}, []string{"template", "status", "provider"}),
		Segments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sandesh_segments_sent_total",
			Help: "SMS segments handed to a provider.",
		}, []string{"provider"}),
		SendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sandesh_send_duration_seconds",
			Help:    "Time for one send attempt through the router, failover included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"outcome"}),
		BulkWidth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sandesh_bulk_sends_allowed",
			Help: "Bulk sends a worker lets be in flight now: its bulk concurrency, less while OTPs find Redis slow.",
		}),
	}
	reg.MustRegister(m.Messages, m.Segments, m.SendLatency, m.BulkWidth)
	return m
}

// Status counts a message reaching status.
func (m *Metrics) Status(template, status, provider string) {
	if m == nil {
		return
	}
	m.Messages.WithLabelValues(template, status, provider).Inc()
}

// bulkWidth is what giveWay tells each new width of the bulk lane; nil
// without metrics.
func (m *Metrics) bulkWidth() func(int) {
	if m == nil {
		return nil
	}
	return func(n int) { m.BulkWidth.Set(float64(n)) }
}
