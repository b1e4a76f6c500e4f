package watch

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch/internal/promtext"
)

// FuzzPromRead feeds two arbitrary scrapes, one second apart, to the
// Prometheus sampler, every series kept. A scrape that reads must leave a
// point that the Run document can carry (JSON has no NaN or infinity)
// and counts no fewer than zero GC cycles.
func FuzzPromRead(f *testing.F) {
	f.Add([]byte(typicalBody(1)), []byte(typicalBody(2)), false)
	f.Add([]byte("# TYPE c counter\nc_total 5\n# TYPE g gauge\ng{a=\"1\"} 2\n# EOF\n"), []byte("# TYPE c counter\nc_total 3\n# TYPE g gauge\ng{a=\"1\"} 7\n# EOF\n"), true)
	f.Add([]byte("go_memstats_last_gc_time_seconds 1.7e9\ngo_goroutines NaN\n"), []byte("go_memstats_last_gc_time_seconds +Inf\nx -Inf\n"), false)
	f.Add([]byte("# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 1\ns_count 2\n"), []byte("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1e308\ns_count 3\n"), false)
	f.Add([]byte("# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds_sum 0\n"), []byte("# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds_sum 1e307\n"), false)
	f.Add([]byte("# TYPE go_cpu_classes_gc_pause_cpu_seconds_total counter\ngo_cpu_classes_gc_pause_cpu_seconds_total 0\ngo_sched_gomaxprocs_threads 1e-300\n"),
		[]byte("# TYPE go_cpu_classes_gc_pause_cpu_seconds_total counter\ngo_cpu_classes_gc_pause_cpu_seconds_total 1\ngo_sched_gomaxprocs_threads 1e-300\n"), false)
	f.Add([]byte("go_memstats_next_gc_bytes 1e308\ngo_gc_gogc_percent 1e-300\ngo_memstats_last_gc_time_seconds 1e300\n"), []byte("go_gc_cycles_total_gc_cycles_total 1e300\n"), false)
	f.Fuzz(func(t *testing.T, first, second []byte, openMetrics bool) {
		format := promtext.Text
		if openMetrics {
			format = promtext.OpenMetrics
		}
		t0 := time.Unix(1_700_000_000, 0)
		var warn warnings
		s := newPromSampler("http://unused", []string{"*"}, nil, time.Second, func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
		for i, body := range [][]byte{first, second} {
			pt := result.SystemPoint{TS: float64(i)}
			if err := s.read(body, format, t0.Add(time.Duration(i)*time.Second), &pt); err != nil {
				continue
			}
			if _, err := json.Marshal(&pt); err != nil {
				t.Fatalf("scrape %d reads as a point the Run cannot carry: %v\n%+v", i+1, err, pt)
			}
			if pt.GCCycles < 0 {
				t.Fatalf("scrape %d: %d GC cycles", i+1, pt.GCCycles)
			}
			for k, v := range pt.Metrics {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("scrape %d: series %s is %v", i+1, k, v)
				}
			}
		}
	})
}
