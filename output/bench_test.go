package output_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/output/csv"
	"github.com/stampede-perf/stampede/output/otlp"
	"github.com/stampede-perf/stampede/output/prometheus"
	"github.com/stampede-perf/stampede/result"
)

// window is one second of n requests over two steps, latencies spread
// log-normally around 0.5 ms.
func window(n int) *output.Update {
	r := rand.New(rand.NewPCG(1, 2))
	hs := []*hdr.Histogram{metrics.NewHist(), metrics.NewHist()}
	for i := range n {
		metrics.RecordUS(hs[i%2], int64(500*r.ExpFloat64()+20))
	}
	return &output.Update{Time: time.Now(), Phase: "load", VUs: 50,
		Window: result.Window{Requests: int64(n), RPS: float64(n), Steps: []result.StepWindow{
			{Index: 0, Requests: int64(n / 2)}, {Index: 1, Requests: int64(n / 2)}}},
		Steps:       []output.StepName{{Scenario: "s", Step: "a", Kind: "http"}, {Scenario: "s", Step: "b", Kind: "http"}},
		Hists:       hs,
		Latency:     []output.StepLatency{{Name: output.StepName{Scenario: "s", Step: "a", Kind: "http"}, Hist: hs[0]}, {Name: output.StepName{Scenario: "s", Step: "b", Kind: "http"}, Hist: hs[1]}},
		NewRequests: []output.StepCount{{Step: 0, Count: int64(n / 2)}, {Step: 1, Count: int64(n / 2)}}}
}

// BenchmarkSinkWindow is the cost of one window of 20,000 requests in
// each sink: the work the live outputs add per second of such a run. It
// does not grow with the requests: the sinks convert histograms, they do
// not replay samples.
func BenchmarkSinkWindow(b *testing.B) {
	u := window(20_000)
	open := map[string]func() output.Sink{
		"csv": func() output.Sink {
			s, err := csv.New(filepath.Join(b.TempDir(), "b.csv"), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"prometheus": func() output.Sink {
			s, err := prometheus.New("127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"otlp": func() output.Sink {
			s, err := otlp.New(context.Background(), "http://127.0.0.1:1", otlp.Options{Interval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"csv", "prometheus", "otlp"} {
		b.Run(name, func(b *testing.B) {
			s := open[name]()
			defer s.Close(nil)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Update(u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
