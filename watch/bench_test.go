package watch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch/internal/promtext"
)

// typicalBody is what a Go service with the default client_golang
// registry and one instrumented HTTP handler serves: about 160 series.
// Counters grow with n so that successive scrapes have rates.
func typicalBody(n int) string {
	var b strings.Builder
	b.WriteString("# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n# TYPE go_gc_duration_seconds summary\n")
	for _, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		fmt.Fprintf(&b, "go_gc_duration_seconds{quantile=%q} 4.2e-05\n", q)
	}
	fmt.Fprintf(&b, "go_gc_duration_seconds_sum %g\ngo_gc_duration_seconds_count %d\n", 0.001*float64(n), 3*n)
	fmt.Fprintf(&b, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n")
	b.WriteString("# HELP go_info Information about the Go environment.\n# TYPE go_info gauge\ngo_info{version=\"go1.26.8\"} 1\n")
	for _, m := range []string{"alloc_bytes", "buck_hash_sys_bytes", "gc_sys_bytes", "heap_alloc_bytes", "heap_idle_bytes", "heap_inuse_bytes",
		"heap_objects", "heap_released_bytes", "heap_sys_bytes", "last_gc_time_seconds", "mcache_inuse_bytes", "mcache_sys_bytes",
		"mspan_inuse_bytes", "mspan_sys_bytes", "next_gc_bytes", "other_sys_bytes", "stack_inuse_bytes", "stack_sys_bytes", "sys_bytes"} {
		fmt.Fprintf(&b, "# HELP go_memstats_%s Memory statistic.\n# TYPE go_memstats_%s gauge\ngo_memstats_%s %d\n", m, m, m, 1<<22+n)
	}
	for _, m := range []string{"alloc_bytes_total", "frees_total", "lookups_total", "mallocs_total"} {
		fmt.Fprintf(&b, "# TYPE go_memstats_%s counter\ngo_memstats_%s %d\n", m, m, 1000*n)
	}
	b.WriteString("# TYPE go_threads gauge\ngo_threads 9\n")
	fmt.Fprintf(&b, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", 0.5*float64(n))
	for _, m := range []string{"max_fds", "open_fds", "resident_memory_bytes", "start_time_seconds", "virtual_memory_bytes", "virtual_memory_max_bytes"} {
		fmt.Fprintf(&b, "# TYPE process_%s gauge\nprocess_%s %d\n", m, m, 1<<20)
	}
	b.WriteString("# TYPE promhttp_metric_handler_requests_total counter\n")
	for _, code := range []string{"200", "500", "503"} {
		fmt.Fprintf(&b, "promhttp_metric_handler_requests_total{code=%q} %d\n", code, n)
	}
	b.WriteString("# HELP http_requests_total Requests by method and code.\n# TYPE http_requests_total counter\n")
	for _, method := range []string{"get", "post", "put", "delete"} {
		for _, code := range []string{"200", "404", "500"} {
			fmt.Fprintf(&b, "http_requests_total{code=%q,method=%q} %d\n", code, method, 100*n)
		}
	}
	b.WriteString("# HELP http_request_duration_seconds Latency.\n# TYPE http_request_duration_seconds histogram\n")
	for _, route := range []string{"/", "/api/items", "/api/cart", "/api/checkout"} {
		for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
			fmt.Fprintf(&b, "http_request_duration_seconds_bucket{route=%q,le=%q} %d\n", route, le, 50*n)
		}
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{route=%q} %g\nhttp_request_duration_seconds_count{route=%q} %d\n", route, 1.5*float64(n), route, 50*n)
	}
	return b.String()
}

// BenchmarkTick measures the watch's own cost per sampling tick: each
// source alone, then a whole tick (process, host and a loopback scrape of
// a typical Go service, as one SampleAt).
func BenchmarkTick(b *testing.B) {
	ctx := context.Background()
	fs, err := procfs.NewFS(procfs.DefaultMountPoint)
	if err != nil {
		b.Skip(err)
	}
	self := &plan.ProcessRef{PID: int32(os.Getpid())}
	ts := func(time.Time) float64 { return 0 }
	var warn warnings
	clock := time.Now()
	next := func() time.Time { clock = clock.Add(time.Second); return clock }

	b.Run("process", func(b *testing.B) {
		ps, err := newProcessSampler(fs, self, ts, &warn)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			var pt result.SystemPoint
			ps.sample(ctx, next(), &pt)
		}
	})
	b.Run("host", func(b *testing.B) {
		h := &hostSampler{fs: fs}
		b.ReportAllocs()
		for b.Loop() {
			var pt result.SystemPoint
			h.sample(ctx, next(), &pt)
		}
	})
	bodies := [][]byte{[]byte(typicalBody(1)), []byte(typicalBody(2))}
	b.Run("prometheus-parse", func(b *testing.B) {
		ps := newPromSampler("http://unused", []string{"http_requests_total", "http_request_duration_seconds"}, nil, time.Second, ts, &warn)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			var pt result.SystemPoint
			if err := ps.read(bodies[i%2], promtext.Text, next(), &pt); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.SetBytes(int64(len(bodies[0])))
	})
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(bodies[n%2])
	}))
	defer srv.Close()
	b.Run("prometheus-scrape", func(b *testing.B) {
		ps := newPromSampler(srv.URL, []string{"http_requests_total"}, srv.Client(), time.Second, ts, &warn)
		b.ReportAllocs()
		for b.Loop() {
			var pt result.SystemPoint
			if err := ps.sample(ctx, next(), &pt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tick", func(b *testing.B) {
		spec := &plan.System{Process: self, Prometheus: &plan.PrometheusSpec{URL: srv.URL + "/metrics", Metrics: []string{"http_requests_total"}}}
		w, err := Start(ctx, spec, Options{Start: clock, Now: func() time.Time { return clock }, Manual: true, HTTPClient: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			w.SampleAt(ctx, next())
		}
		b.StopTimer()
		if sys := w.Stop(ctx); len(sys.Warnings) > 0 {
			b.Fatal(sys.Warnings)
		}
	})
}
