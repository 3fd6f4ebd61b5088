package jobs

import (
	"github.com/prometheus/client_golang/prometheus"

	"sandesh/stats"
)

// Metrics are the send-side Prometheus series. Build one per process and
// register it on that process's registry.
type Metrics struct {
	Messages    *prometheus.CounterVec
	Segments    *prometheus.CounterVec
	SendLatency *prometheus.HistogramVec
	// Tally, when set, also counts for the admin dashboard (shared by
	// every process through Redis).
	Tally *stats.Counter
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
	}
	reg.MustRegister(m.Messages, m.Segments, m.SendLatency)
	return m
}

// kyvsOTP is the template of the KYVS OTP, which no series counts: one
// is sent only when a verifier's name and mobile match a beneficiary, so
// a count of them would tell whoever reads /metrics whether a request
// matched.
const kyvsOTP = "kyvs_otp"

// Status counts a message reaching status (KYVS OTPs excepted).
func (m *Metrics) Status(template, status, provider string) {
	if m == nil || template == kyvsOTP {
		return
	}
	m.Messages.WithLabelValues(template, status, provider).Inc()
	m.Tally.Status(template, status, provider)
}

// Sent counts the segments of an SMS of template handed to provider.
func (m *Metrics) Sent(template, provider string, segments int) {
	if m == nil || template == kyvsOTP {
		return
	}
	m.Segments.WithLabelValues(provider).Add(float64(segments))
	m.Tally.Segments(template, segments)
}
