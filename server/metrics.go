package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics. Labels are route patterns and
// status codes only: never paths, tokens, subjects or digests.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	limited  prometheus.Counter
	signed   prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hallmark_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hallmark_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_rate_limited_total", Help: "Requests refused by rate limits.",
		}),
		signed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_sign_requests_total", Help: "Sign requests served: signed, logged and timestamped.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.limited, m.signed,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
