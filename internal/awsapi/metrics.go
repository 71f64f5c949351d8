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

// observe counts a request to svc (nil: no valid credential scope). Labels come
// only from fixed sets, never from the request as sent: the action label is
// one of svc's actions, "none" when the request had no Action, and "other"
// for anything else (a client could otherwise create a series per request —
// memory without bound — or break the registry with a value that is not
// UTF-8). Codes are Strait's own.
func (m *metrics) observe(svc *service, action, code string, d time.Duration) {
	name, label := "unknown", "other"
	if svc != nil {
		name = svc.name
		if _, ok := svc.actions[action]; ok {
			label = action
		}
	}
	if action == "" {
		label = "none"
	}
	m.requests.WithLabelValues(name, label, code).Inc()
	m.latency.WithLabelValues(name).Observe(d.Seconds())
}

// Collectors returns the API's Prometheus collectors for registration.
func (a *API) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.metrics.requests, a.metrics.latency}
}
