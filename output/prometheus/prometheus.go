// Package prometheus is the `--out prometheus=ADDR` live output: a pull
// endpoint at http://ADDR/metrics, served with client_golang from a
// registry of its own, that a Prometheus server scrapes while the run goes.
//
// It exports (every name in Names):
//
//	stampede_requests_total{scenario,step}              counter
//	stampede_errors_total{scenario,step,kind}           counter
//	stampede_request_duration_seconds{scenario,step}    histogram: native (schema 3) and classic buckets
//	stampede_vus                                         gauge
//	stampede_start_lag_seconds{quantile}                 gauge, the running load's so far
//	stampede_dropped_iterations_total                    counter
//	stampede_phase{phase}                                gauge, 1 for the running phase
//	stampede_generator_cpu_percent                       gauge, of one core, the running load's mean
//	stampede_generator_saturated                         gauge, 1 when the generator is the limit
//	stampede_hop_requests_total{scenario,step,hop}       counter, redirects followed
//	stampede_hop_errors_total{scenario,step,hop}         counter, redirects whose exchange failed
//	stampede_hop_duration_seconds{scenario,step,hop}     histogram: native and classic, each hop's own exchange
//
// A hop is a redirect a step followed; hop is its status and where it
// led ("302 /next"). Hops are series of their own, not a label on the
// request series: a hop is one more exchange inside a step, already in
// the step's latency, so sums over stampede_requests_total still count
// steps. A step has at most 16 hop label sets (the collector's bound:
// the destinations past the first 15 share "(other destinations)"), and
// the latency of at most output.MaxHopLatencies of them is exported.
//
// In a plan with `loads:`, every step series also carries the labels of
// the plan's loads (output.Labels): load, the load's name, and each tag
// of `loads.NAME.tags`, empty (absent, to Prometheus) where a load does
// not set it.
//
// The latency histogram is the run's own: each step's HDR histogram of
// its closed windows, converted once a window (output.ExponentialOf) into
// native buckets (schema 3, a bucket about 9% wider than the one before)
// and the classic buckets, so nothing is done per request. Its count is
// the requests in closed windows; the counters come from the run so far
// and may be a second ahead. Native histograms go out in the protobuf
// exposition format (what Prometheus asks for when native histograms are
// on); the text formats carry the classic buckets.
//
// An address with only a port binds the loopback interface: a run's
// numbers are not offered to the network unless a host is named.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
)

// Metric names the endpoint exports.
const (
	Requests  = "stampede_requests_total"
	Errors    = "stampede_errors_total"
	Duration  = "stampede_request_duration_seconds"
	VUs       = "stampede_vus"
	StartLag  = "stampede_start_lag_seconds"
	Dropped   = "stampede_dropped_iterations_total"
	Phase     = "stampede_phase"
	CPU       = "stampede_generator_cpu_percent"
	Saturated = "stampede_generator_saturated"

	HopRequests = "stampede_hop_requests_total"
	HopErrors   = "stampede_hop_errors_total"
	HopDuration = "stampede_hop_duration_seconds"
)

// Names lists every metric name the endpoint exports.
func Names() []string {
	return []string{Requests, Errors, Duration, VUs, StartLag, Dropped, Phase, CPU, Saturated, HopRequests, HopErrors, HopDuration}
}

// HopNames lists the metric names that carry hops: a run whose steps
// follow no redirect exports none of them.
func HopNames() []string { return []string{HopRequests, HopErrors, HopDuration} }

// HopLabel is the label naming a hop: its status and destination.
const HopLabel = "hop"

// Buckets are the classic histogram's upper bounds, in seconds.
func Buckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
}

// Path is where the endpoint serves.
const Path = "/metrics"

// Sink serves the endpoint. See output.Sink for its concurrency contract;
// scrapes are served concurrently with updates (client_golang's metrics
// are safe for that).
type Sink struct {
	srv *http.Server
	ln  net.Listener
	// served is closed when Serve returned.
	served chan struct{}

	requests, errs   *prometheus.CounterVec
	duration         *latency[output.StepName]
	hopReqs, hopErrs *prometheus.CounterVec
	hopDuration      *latency[output.HopName]
	vus, cpu, sat    prometheus.Gauge
	lag, phase       *prometheus.GaugeVec
	dropped          prometheus.Counter
	lastPhase        string
	labels           output.Labels // the loads' labels, after scenario and step
	values           []string      // scratch: one series' label values
}

var _ output.Sink = (*Sink)(nil)

// ParseAddr checks an address of the endpoint: HOST:PORT, or :PORT for
// the loopback interface.
func ParseAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("prometheus=%s: want HOST:PORT or :PORT (e.g. :9464)", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("prometheus=%s: the port must be a number from 0 to 65535", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// New listens on addr (see ParseAddr) and serves the endpoint until
// Close. The step series carry the labels of the plan's loads after
// scenario and step (nil for a run of one load).
func New(addr string, labels output.Labels) (*Sink, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, fmt.Errorf("prometheus=%s: %w", addr, err)
	}
	s := &Sink{ln: ln, served: make(chan struct{}), labels: labels}
	reg := prometheus.NewRegistry()
	step := append([]string{"scenario", "step"}, labels...)
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: Requests,
		Help: "Requests sent, by step."}, step)
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: Errors,
		Help: "Failed requests, by step and error kind."}, append(slices.Clip(step), "kind"))
	s.duration = &latency[output.StepName]{
		desc: prometheus.NewDesc(Duration, "Request latency (from the intended start in the open model), by step.",
			step, nil),
		bounds: Buckets(), start: time.Now()}
	hop := append(slices.Clip(step), HopLabel)
	s.hopReqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: HopRequests,
		Help: "Redirects followed, by step and hop (the status that asked for it and where it led)."}, hop)
	s.hopErrs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: HopErrors,
		Help: "Redirects followed whose exchange failed, by step and hop."}, hop)
	s.hopDuration = &latency[output.HopName]{
		desc:   prometheus.NewDesc(HopDuration, "Time of a followed redirect's own exchange, from its request to its answer, by step and hop.", hop, nil),
		bounds: Buckets(), start: s.duration.start}
	s.vus = prometheus.NewGauge(prometheus.GaugeOpts{Name: VUs, Help: "Virtual users running."})
	s.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: StartLag,
		Help: "Start lag of the running load's iterations so far: how late they started, by quantile."}, []string{"quantile"})
	s.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: Dropped,
		Help: "Open-model iterations that no VU could start before their load ended."})
	s.phase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Phase,
		Help: "1 for the phase running (load for stampede run)."}, []string{"phase"})
	s.cpu = prometheus.NewGauge(prometheus.GaugeOpts{Name: CPU,
		Help: "The generator's CPU use during the running load, percent of one core."})
	s.sat = prometheus.NewGauge(prometheus.GaugeOpts{Name: Saturated,
		Help: "1 when the generator, not the target, is the limit of the running load."})
	reg.MustRegister(s.requests, s.errs, s.duration, s.vus, s.lag, s.dropped, s.phase, s.cpu, s.sat, s.hopReqs, s.hopErrs, s.hopDuration)

	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics:   true,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 15 * time.Second, IdleTimeout: time.Minute}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // ends with ErrServerClosed at Close
	}()
	return s, nil
}

// Addr is the address the endpoint listens on (useful with port 0).
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint's address to scrape.
func (s *Sink) URL() string { return "http://" + s.Addr() + Path }

// Update adds one window.
func (s *Sink) Update(u *output.Update) error {
	for _, c := range u.NewRequests {
		s.requests.WithLabelValues(s.stepValues(u, u.StepOf(c.Step))...).Add(float64(c.Count))
	}
	for _, c := range u.NewErrors {
		s.errs.WithLabelValues(append(s.stepValues(u, u.StepOf(c.Step)), c.Kind)...).Add(float64(c.Count))
	}
	for _, l := range u.Latency {
		s.duration.Set(l.Name, slices.Clone(s.stepValues(u, l.Name)), output.ExponentialOf(l.Hist, s.duration.bounds))
	}
	for _, h := range u.Hops {
		values := append(s.stepValues(u, h.Name.StepName), h.Name.Hop)
		if h.NewRequests > 0 {
			s.hopReqs.WithLabelValues(values...).Add(float64(h.NewRequests))
		}
		if h.NewErrors > 0 {
			s.hopErrs.WithLabelValues(values...).Add(float64(h.NewErrors))
		}
		if h.Latency != nil && h.Window != nil {
			s.hopDuration.Set(h.Name, slices.Clone(values), output.ExponentialOf(h.Latency, s.hopDuration.bounds))
		}
	}
	s.vus.Set(float64(u.VUs))
	l := u.StartLag
	for _, q := range []struct {
		q string
		v float64
	}{{"0.5", l.P50}, {"0.9", l.P90}, {"0.99", l.P99}, {"1", l.Max}} {
		s.lag.WithLabelValues(q.q).Set(q.v / 1000)
	}
	if u.NewDropped > 0 {
		s.dropped.Add(float64(u.NewDropped))
	}
	if u.Phase != s.lastPhase {
		if s.lastPhase != "" {
			s.phase.DeleteLabelValues(s.lastPhase)
		}
		s.lastPhase = u.Phase
	}
	s.phase.WithLabelValues(u.Phase).Set(1)
	s.cpu.Set(u.Generator.CPUPercent)
	sat := 0.0
	if u.Generator.Saturated {
		sat = 1
	}
	s.sat.Set(sat)
	return nil
}

// stepValues are the values of a step series' labels: scenario, step and
// the loads' labels. The slice is reused by the next call.
func (s *Sink) stepValues(u *output.Update, st output.StepName) []string {
	s.values = append(append(s.values[:0], st.Scenario, st.Step), u.Values(s.labels, st)...)
	return s.values
}

// latency is the collector of the latency histograms: each step's (or
// hop's) last conversion, exported as a native histogram with classic
// buckets.
type latency[K comparable] struct {
	desc   *prometheus.Desc
	bounds []float64
	start  time.Time // the histograms' created timestamp
	output.Latencies[K]
}

func (l *latency[K]) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *latency[K]) Collect(ch chan<- prometheus.Metric) {
	l.Each(func(_ K, values []string, e output.Exponential) {
		pos := make(map[int]int64, len(e.Counts))
		for i, c := range e.Counts {
			if c > 0 {
				pos[int(e.Offset)+i+1] = int64(c) // Prometheus numbers buckets one up
			}
		}
		m, err := prometheus.NewConstNativeHistogram(l.desc, e.Count, e.Sum, pos, nil, 0, e.Scale,
			prometheus.DefNativeHistogramZeroThreshold, l.start, values...)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(l.desc, err)
			return
		}
		ch <- withClassic{m, l.bounds, e.Classic}
	})
}

// withClassic adds classic buckets to a native histogram, as
// client_golang's own histograms carry both.
type withClassic struct {
	prometheus.Metric
	bounds []float64
	counts []uint64
}

func (w withClassic) Write(m *dto.Metric) error {
	if err := w.Metric.Write(m); err != nil {
		return err
	}
	for i, b := range w.bounds {
		m.Histogram.Bucket = append(m.Histogram.Bucket, &dto.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(w.counts[i])})
	}
	return nil
}

// Close stops serving; scrapes under way get a few seconds to finish.
func (s *Sink) Close(*result.Run) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.served
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("prometheus endpoint %s: %w", s.Addr(), err)
	}
	return nil
}

// IsLoopback reports whether the endpoint listens on loopback only.
func (s *Sink) IsLoopback() bool {
	host, _, _ := net.SplitHostPort(s.Addr())
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
