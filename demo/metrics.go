package demo

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The shop's /metrics is what a real Go service exports: client_golang's
// Go collector with every runtime/metrics series (go_gc_cycles_*,
// go_gc_pauses_seconds, go_cpu_classes_*, …) beside the classic memstats
// ones, its process collector, and the shop's own shop_* series, from a
// registry of the shop's own (a process may run several shops).

// requestMetrics holds the shop's registry and its per-route series.
type requestMetrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	handler   http.Handler
}

// routeStats are one route's series, resolved once so the request path
// does no label lookup but the first of each status code.
type routeStats struct {
	route    string
	m        *requestMetrics
	duration prometheus.Observer
	mu       sync.Mutex                       // guards creating codes' counters
	codes    [600]atomic.Pointer[codeCounter] // by status code; 0 holds codes outside 100–599
}

type codeCounter struct{ prometheus.Counter }

func newMetrics() *requestMetrics {
	m := &requestMetrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_requests_total",
		Help: "Requests served by the demo shop, by route pattern and status code.",
	}, []string{"route", "code"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shop_request_duration_seconds",
		Help:    "Time the demo shop took to serve a request, by route pattern.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.durations,
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
	return m
}

// route registers a route and returns its series.
func (m *requestMetrics) route(name string) *routeStats {
	return &routeStats{route: name, m: m, duration: m.durations.WithLabelValues(name)}
}

func (rs *routeStats) observe(code int, d time.Duration) {
	if code < 100 || code >= len(rs.codes) {
		code = 0
	}
	c := rs.codes[code].Load()
	if c == nil {
		rs.mu.Lock()
		if c = rs.codes[code].Load(); c == nil {
			label := "other"
			if code != 0 {
				label = strconv.Itoa(code)
			}
			c = &codeCounter{rs.m.requests.WithLabelValues(rs.route, label)}
			rs.codes[code].Store(c)
		}
		rs.mu.Unlock()
	}
	c.Inc()
	rs.duration.Observe(d.Seconds())
}

// serveMetrics is GET /metrics.
func (s *Shop) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}
