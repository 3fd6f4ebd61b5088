package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sandesh/providers"
)

// breakerCollector exports each provider's breaker: 0 closed, 1 half-open, 2 open.
type breakerCollector struct{ router *providers.Router }

var breakerDesc = prometheus.NewDesc("sandesh_breaker_state",
	"Provider circuit breaker: 0 closed, 1 half-open, 2 open.", []string{"provider"}, nil)

var breakerValue = map[string]float64{"closed": 0, "half-open": 1, "open": 2}

func (b *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breakerDesc }

func (b *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, st := range b.router.States(ctx) {
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, breakerValue[st.State], st.Provider)
	}
}
