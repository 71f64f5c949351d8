package awsapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts API requests by service, action and error code.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "strait", Subsystem: "api", Name: "requests_total",
			Help: "AWS Query API requests by service, action and error code (empty when successful).",
		}, []string{"service", "action", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "strait", Subsystem: "api", Name: "request_duration_seconds",
			Help: "AWS Query API request latency by service.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"service"}),
	}
}

func (m *metrics) observe(service, action, code string, _ int, d time.Duration) {
	if action == "" {
		action = "none"
	}
	m.requests.WithLabelValues(service, action, code).Inc()
	m.latency.WithLabelValues(service).Observe(d.Seconds())
}

// Collectors returns the API's Prometheus collectors for registration.
func (a *API) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.metrics.requests, a.metrics.latency}
}
