// Package otlp is the `--out otlp=URL` live output: OpenTelemetry metrics
// pushed over OTLP/HTTP (protobuf) to a collector, with the OpenTelemetry
// Go SDK and its OTLP/HTTP exporter.
//
// It exports, with cumulative temporality:
//
//	stampede.requests{scenario,step}                  counter
//	stampede.errors{scenario,step,kind}               counter
//	stampede.request.duration{scenario,step}          histogram (s), base-2 exponential (scale 3)
//	stampede.vus                                      gauge
//	stampede.start_lag{quantile}                      gauge (s), the running load's so far
//	stampede.dropped_iterations                       counter
//	stampede.phase{phase}                             gauge, 1 for the running phase, 0 for the ones before
//	stampede.generator.cpu                            gauge (% of one core)
//	stampede.generator.saturated                      gauge, 1 when the generator is the limit
//	stampede.hop.requests{scenario,step,hop}          counter, redirects followed
//	stampede.hop.errors{scenario,step,hop}            counter, redirects whose exchange failed
//	stampede.hop.duration{scenario,step,hop}          histogram (s), each hop's own exchange
//
// A hop is a redirect a step followed; its attribute hop is the status
// that asked for it and where it led ("302 /next"), at most 16 a step
// (the collector's bound), with latency for the first
// output.MaxHopLatencies of a run. They are metrics of their own, so the
// request metrics still count steps.
//
// In a plan with `loads:`, every step's data points also carry the
// attribute load, the load's name, and one per tag of its
// `loads.NAME.tags`.
//
// The SDK aggregates the counters and gauges; a periodic reader exports
// every Interval and once more at Close, so the collector ends with the
// run's final numbers. The latency histogram is the run's own: each
// step's HDR histogram of its closed windows, converted once a window
// (output.ExponentialOf, scale 3) and handed to the reader by a metric
// producer, the SDK's way in for data aggregated elsewhere; nothing is
// done per request. An export that fails (the collector is down) does not
// stop the run: Close reports how many failed and the last error. The
// exporter also reads the standard OTEL_EXPORTER_OTLP_* variables
// (headers, compression, TLS), as every OTLP exporter does.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
)

// Metric names the output exports.
const (
	Requests  = "stampede.requests"
	Errors    = "stampede.errors"
	Duration  = "stampede.request.duration"
	VUs       = "stampede.vus"
	StartLag  = "stampede.start_lag"
	Dropped   = "stampede.dropped_iterations"
	Phase     = "stampede.phase"
	CPU       = "stampede.generator.cpu"
	Saturated = "stampede.generator.saturated"

	HopRequests = "stampede.hop.requests"
	HopErrors   = "stampede.hop.errors"
	HopDuration = "stampede.hop.duration"
)

// HopAttr is the attribute naming a hop: its status and destination.
const HopAttr = "hop"

// scopeName names the instrumentation scope of every metric.
const scopeName = "github.com/stampede-perf/stampede/output/otlp"

// DefaultPath is the OTLP/HTTP metrics path, added to a URL without one.
const DefaultPath = "/v1/metrics"

// Interval is how often the metrics are exported while the run goes.
const Interval = 5 * time.Second

// Options tune a Sink; the zero value is what `--out otlp=` uses.
type Options struct {
	Interval time.Duration // Interval when zero
}

// ParseURL checks the collector's address: an http:// or https:// URL;
// without a path, DefaultPath is used.
func ParseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("otlp=%s: want the collector's http:// or https:// URL (e.g. http://127.0.0.1:4318)", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = DefaultPath
	}
	return u.String(), nil
}

// Sink exports to one collector. See output.Sink for its concurrency
// contract.
type Sink struct {
	url      string
	provider *sdkmetric.MeterProvider
	exp      *countingExporter

	requests, errs, dropped metric.Int64Counter
	hopReqs, hopErrs        metric.Int64Counter
	duration                *latency
	vus, phase, sat         metric.Int64Gauge
	lag, cpu                metric.Float64Gauge

	steps     map[output.StepName]stepAttrs
	lastPhase string
}

var _ output.Sink = (*Sink)(nil)

// New sets up the exporter for the collector at rawURL (see ParseURL).
// Nothing is sent until the first export.
func New(ctx context.Context, rawURL string, o Options) (*Sink, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if o.Interval <= 0 {
		o.Interval = Interval
	}
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(u), otlpmetrichttp.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("otlp=%s: %w", rawURL, err)
	}
	ce := &countingExporter{Exporter: exp}
	s := &Sink{url: u, exp: ce, steps: map[output.StepName]stepAttrs{},
		duration: &latency{start: time.Now()}}
	s.provider = sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(ce, sdkmetric.WithInterval(o.Interval), sdkmetric.WithProducer(s.duration))),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "stampede"))),
	)
	m := s.provider.Meter(scopeName)
	errs := []error{}
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	s.requests, err = m.Int64Counter(Requests, metric.WithUnit("{request}"), metric.WithDescription("Requests sent, by step."))
	add(err)
	s.errs, err = m.Int64Counter(Errors, metric.WithUnit("{request}"), metric.WithDescription("Failed requests, by step and error kind."))
	add(err)
	s.vus, err = m.Int64Gauge(VUs, metric.WithUnit("{vu}"), metric.WithDescription("Virtual users running."))
	add(err)
	s.lag, err = m.Float64Gauge(StartLag, metric.WithUnit("s"), metric.WithDescription("Start lag of the running load's iterations so far, by quantile."))
	add(err)
	s.dropped, err = m.Int64Counter(Dropped, metric.WithUnit("{iteration}"), metric.WithDescription("Open-model iterations that no VU could start before their load ended."))
	add(err)
	s.phase, err = m.Int64Gauge(Phase, metric.WithDescription("1 for the phase running (load for stampede run)."))
	add(err)
	s.cpu, err = m.Float64Gauge(CPU, metric.WithUnit("%"), metric.WithDescription("The generator's CPU use during the running load, percent of one core."))
	add(err)
	s.sat, err = m.Int64Gauge(Saturated, metric.WithDescription("1 when the generator, not the target, is the limit of the running load."))
	add(err)
	s.hopReqs, err = m.Int64Counter(HopRequests, metric.WithUnit("{request}"), metric.WithDescription("Redirects followed, by step and hop (the status that asked for it and where it led)."))
	add(err)
	s.hopErrs, err = m.Int64Counter(HopErrors, metric.WithUnit("{request}"), metric.WithDescription("Redirects followed whose exchange failed, by step and hop."))
	add(err)
	if len(errs) > 0 {
		_ = s.provider.Shutdown(ctx)
		return nil, fmt.Errorf("otlp=%s: %v", rawURL, errs[0])
	}
	return s, nil
}

// stepAttrs are a step's attributes: scenario, step and, in a plan with
// `loads:`, load and the load's tags; pairs holds them as key, value,
// key, value… for the latency producer.
type stepAttrs struct {
	kvs   []attribute.KeyValue
	opt   metric.MeasurementOption
	pairs []string
}

// attrsOf returns the attributes of step st, made at its first window.
func (s *Sink) attrsOf(u *output.Update, st output.StepName) stepAttrs {
	if a, ok := s.steps[st]; ok {
		return a
	}
	pairs := []string{"scenario", st.Scenario, "step", st.Step}
	if st.Load != "" {
		pairs = append(pairs, output.LabelLoad, st.Load)
		tags := u.Tags[st.Load]
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			pairs = append(pairs, k, tags[k])
		}
	}
	a := stepAttrs{pairs: pairs}
	for i := 0; i < len(pairs); i += 2 {
		a.kvs = append(a.kvs, attribute.String(pairs[i], pairs[i+1]))
	}
	a.opt = metric.WithAttributeSet(attribute.NewSet(a.kvs...))
	s.steps[st] = a
	return a
}

// Update records one window.
func (s *Sink) Update(u *output.Update) error {
	ctx := context.Background()
	for _, c := range u.NewRequests {
		s.requests.Add(ctx, c.Count, s.attrsOf(u, u.StepOf(c.Step)).opt)
	}
	for _, c := range u.NewErrors {
		kvs := s.attrsOf(u, u.StepOf(c.Step)).kvs
		s.errs.Add(ctx, c.Count, metric.WithAttributes(append(slices.Clip(kvs), attribute.String("kind", c.Kind))...))
	}
	for _, l := range u.Latency {
		s.duration.Set(l.Name, s.attrsOf(u, l.Name).pairs, output.ExponentialOf(l.Hist, nil))
	}
	for _, h := range u.Hops {
		a := s.attrsOf(u, h.Name.StepName)
		opt := metric.WithAttributes(append(slices.Clip(a.kvs), attribute.String(HopAttr, h.Name.Hop))...)
		if h.NewRequests > 0 {
			s.hopReqs.Add(ctx, h.NewRequests, opt)
		}
		if h.NewErrors > 0 {
			s.hopErrs.Add(ctx, h.NewErrors, opt)
		}
		if h.Latency != nil && h.Window != nil {
			s.duration.hops.Set(h.Name, append(slices.Clip(a.pairs), HopAttr, h.Name.Hop), output.ExponentialOf(h.Latency, nil))
		}
	}
	s.vus.Record(ctx, int64(u.VUs))
	l := u.StartLag
	for _, q := range []struct {
		q string
		v float64
	}{{"0.5", l.P50}, {"0.9", l.P90}, {"0.99", l.P99}, {"1", l.Max}} {
		s.lag.Record(ctx, q.v/1000, metric.WithAttributes(attribute.String("quantile", q.q)))
	}
	if u.NewDropped > 0 {
		s.dropped.Add(ctx, u.NewDropped)
	}
	if u.Phase != s.lastPhase && s.lastPhase != "" {
		s.phase.Record(ctx, 0, metric.WithAttributes(attribute.String("phase", s.lastPhase)))
	}
	s.lastPhase = u.Phase
	s.phase.Record(ctx, 1, metric.WithAttributes(attribute.String("phase", u.Phase)))
	s.cpu.Record(ctx, u.Generator.CPUPercent)
	var sat int64
	if u.Generator.Saturated {
		sat = 1
	}
	s.sat.Record(ctx, sat)
	return nil
}

// latency produces the latency histograms: each step's and each hop's
// last conversion, cumulative since the run started.
type latency struct {
	start time.Time
	output.Latencies[output.StepName]
	hops output.Latencies[output.HopName]
}

var _ sdkmetric.Producer = (*latency)(nil)

// Produce is called by the reader at every collection.
func (l *latency) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	now := time.Now()
	steps := metricdata.ExponentialHistogram[float64]{Temporality: metricdata.CumulativeTemporality}
	l.Each(func(_ output.StepName, pairs []string, e output.Exponential) {
		steps.DataPoints = append(steps.DataPoints, l.point(now, pairs, e))
	})
	hops := metricdata.ExponentialHistogram[float64]{Temporality: metricdata.CumulativeTemporality}
	l.hops.Each(func(_ output.HopName, pairs []string, e output.Exponential) {
		hops.DataPoints = append(hops.DataPoints, l.point(now, pairs, e))
	})
	var ms []metricdata.Metrics
	if len(steps.DataPoints) > 0 {
		ms = append(ms, metricdata.Metrics{Name: Duration, Unit: "s",
			Description: "Request latency (from the intended start in the open model), by step.", Data: steps})
	}
	if len(hops.DataPoints) > 0 {
		ms = append(ms, metricdata.Metrics{Name: HopDuration, Unit: "s",
			Description: "Time of a followed redirect's own exchange, from its request to its answer, by step and hop.", Data: hops})
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: scopeName}, Metrics: ms}}, nil
}

// point is one histogram's data point, its attributes given as key,
// value, key, value…
func (l *latency) point(now time.Time, pairs []string, e output.Exponential) metricdata.ExponentialHistogramDataPoint[float64] {
	kvs := make([]attribute.KeyValue, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		kvs = append(kvs, attribute.String(pairs[i], pairs[i+1]))
	}
	return metricdata.ExponentialHistogramDataPoint[float64]{
		Attributes: attribute.NewSet(kvs...),
		StartTime:  l.start, Time: now,
		Count: e.Count, Sum: e.Sum, Scale: e.Scale,
		Min: metricdata.NewExtrema(e.Min), Max: metricdata.NewExtrema(e.Max),
		PositiveBucket: metricdata.ExponentialBucket{Offset: e.Offset, Counts: append([]uint64(nil), e.Counts...)},
	}
}

// Close exports what is left and shuts the exporter down (10 s at most).
func (s *Sink) Close(*result.Run) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.provider.Shutdown(ctx)
	if n, last := s.exp.failures(); n > 0 {
		return fmt.Errorf("otlp %s: %d of the exports failed, the last with: %v", s.url, n, last)
	}
	if err != nil {
		return fmt.Errorf("otlp %s: %w", s.url, err)
	}
	return nil
}

// countingExporter keeps export failures for Close instead of handing
// them to OpenTelemetry's global error handler.
type countingExporter struct {
	sdkmetric.Exporter
	mu   sync.Mutex // guards n and last
	n    int
	last error
}

func (c *countingExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	// An export under way when the run ends is cancelled by Shutdown,
	// which then exports everything once more: not a failure.
	if err := c.Exporter.Export(ctx, rm); err != nil && !errors.Is(err, context.Canceled) {
		c.mu.Lock()
		c.n++
		c.last = err
		c.mu.Unlock()
	}
	return nil
}

func (c *countingExporter) failures() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.last
}
