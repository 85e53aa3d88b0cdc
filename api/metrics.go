package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests          *prometheus.CounterVec
	latency           *prometheus.HistogramVec
	rateLimited       prometheus.Counter
	idempotentReplays prometheus.Counter
	sessionsCreated   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voxgate_http_requests_total", Help: "API requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "voxgate_http_request_duration_seconds", Help: "API request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "voxgate_http_rate_limited_total", Help: "Requests refused with 429 by the per-key rate limit.",
		}),
		idempotentReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "voxgate_http_idempotent_replays_total", Help: "Responses replayed for a repeated Idempotency-Key.",
		}),
		sessionsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "voxgate_sessions_created_total", Help: "Sessions created through the API.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.rateLimited, m.idempotentReplays, m.sessionsCreated)
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = 200
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
