package watch

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/result"
)

// TestPrometheusGCFromRuntimeMetrics: the collections per second and the
// share of time paused come from the runtime/metrics names when the
// MemStats summary is not there, and the summary wins when it is.
func TestPrometheusGCFromRuntimeMetrics(t *testing.T) {
	const rm = "# TYPE go_gc_cycles_total_gc_cycles_total counter\ngo_gc_cycles_total_gc_cycles_total %d\n" +
		"# TYPE go_cpu_classes_gc_pause_cpu_seconds_total counter\ngo_cpu_classes_gc_pause_cpu_seconds_total %g\n" +
		"# TYPE go_sched_gomaxprocs_threads gauge\ngo_sched_gomaxprocs_threads 4\n"
	const sum = "# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds_sum %g\ngo_gc_duration_seconds_count %d\n"
	tests := []struct {
		name        string
		bodies      [2]string // scraped two seconds apart
		perS, pause float64
	}{
		// 6 cycles in 2 s; 0.08 CPU-seconds of pause over 4 processors
		// is 0.02 s of pause in 2 s: 1 %.
		{"runtime/metrics only", [2]string{fmtf(rm, 40, 0.08), fmtf(rm, 46, 0.16)}, 3, 1},
		{"the MemStats summary beside them wins", [2]string{fmtf(rm, 40, 0.08) + fmtf(sum, 0.1, 40), fmtf(rm, 46, 0.16) + fmtf(sum, 0.12, 44)}, 2, 1},
		{"a pauses histogram with its sum", [2]string{
			"# TYPE go_gc_pauses_seconds histogram\ngo_gc_pauses_seconds_sum 0.5\ngo_gc_pauses_seconds_count 10\n",
			"# TYPE go_gc_pauses_seconds histogram\ngo_gc_pauses_seconds_sum 0.54\ngo_gc_pauses_seconds_count 12\n"}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := newPromTarget(t)
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var warn warnings
			ps := newPromSampler(target.servers.URL, nil, target.servers.Client(), time.Second,
				func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
			var pt result.SystemPoint
			for i, body := range tt.bodies {
				target.set(body, "")
				pt = result.SystemPoint{}
				if err := ps.sample(context.Background(), t0.Add(time.Duration(2*i)*time.Second), &pt); err != nil {
					t.Fatal(err)
				}
			}
			if math.Abs(pt.GCPerS-tt.perS) > 1e-9 || math.Abs(pt.GCPausePct-tt.pause) > 1e-9 {
				t.Errorf("gc/s %v, pause %v %%; want %v, %v %%", pt.GCPerS, pt.GCPausePct, tt.perS, tt.pause)
			}
		})
	}
}

func fmtf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// gcPoints scrapes url twice with garbage collections between, and
// returns the points, as the watch beside a run would.
func gcPoints(t *testing.T, url string, client *http.Client) []result.SystemPoint {
	t.Helper()
	t0 := time.Now()
	var warn warnings
	ps := newPromSampler(url, nil, client, 5*time.Second, func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
	var pts []result.SystemPoint
	for i := range 3 {
		if i > 0 {
			for range 4 {
				runtime.GC() // the target is this process
			}
		}
		var pt result.SystemPoint
		pt.TS = float64(i)
		if err := ps.sample(context.Background(), t0.Add(time.Duration(i)*time.Second), &pt); err != nil {
			t.Fatal(err)
		}
		pts = append(pts, pt)
	}
	return pts
}

// withoutFamily serves a registry less one family: a service whose Go
// collector exports the runtime/metrics names without the MemStats
// summary.
type withoutFamily struct {
	g    prometheus.Gatherer
	drop string
}

func (w withoutFamily) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := w.g.Gather()
	out := mfs[:0]
	for _, mf := range mfs {
		if mf.GetName() != w.drop {
			out = append(out, mf)
		}
	}
	return out, err
}

// TestGCPressureFromRealExporters: the watch reads the garbage collector
// from what real Go services serve — client_golang's Go collector with
// runtime/metrics, with and without the MemStats summary, and the demo
// shop's /metrics — so the gc_pressure rule has its input.
func TestGCPressureFromRealExporters(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)))
	shop, err := demo.New(t.Context(), demo.Options{Users: 20, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"client_golang, runtime/metrics only", promhttp.HandlerFor(withoutFamily{reg, "go_gc_duration_seconds"}, promhttp.HandlerOpts{})},
		{"client_golang, runtime/metrics and MemStats", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})},
		{"the demo shop", shop.Handler()},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			pts := gcPoints(t, srv.URL+"/metrics", srv.Client())
			last := pts[len(pts)-1]
			// 4 forced collections a (nominal) second: at least that many.
			if last.GCPerS < 4 || last.GCPausePct <= 0 {
				t.Errorf("gc/s %v, pause %v %%: the collections were not read", last.GCPerS, last.GCPausePct)
			}
			if gc := analyze.GC(pts); gc == nil || gc.CyclesPerS <= 0 {
				t.Errorf("analyze.GC = %+v: gc_pressure would not be evaluated", gc)
			}
		})
	}
}
