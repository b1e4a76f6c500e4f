package output_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/output/csv"
	"github.com/stampede-perf/stampede/output/otlp"
	"github.com/stampede-perf/stampede/output/prometheus"
	"github.com/stampede-perf/stampede/plan"
)

// TestLiveOutputsCarryHops runs a real load whose steps follow redirects
// against a loopback server — a chain of two hops, and a redirect to 20
// destinations, more than a step keeps — and reads every live output
// back with its real decoder: each hop entry of the finished Run is a
// series of its own (hop="302 /middle"), with the Run's counts and, in
// the histograms, as many exchanges; the step's own series still count
// steps; the destinations past a step's first 15 share one series.
func TestLiveOutputsCarryHops(t *testing.T) {
	var n, spread atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/middle?t="+fmt.Sprint(n.Add(1)), http.StatusFound)
	})
	mux.HandleFunc("/middle", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/end", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/end", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("end")) })
	mux.HandleFunc("/spread", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("/d/%d", spread.Add(1)%20), http.StatusFound)
	})
	mux.HandleFunc("/d/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("d")) })
	target := httptest.NewServer(mux)
	defer target.Close()
	p, err := plan.Parse("hops.yaml", []byte(`name: hops
target: {base_url: "`+target.URL+`"}
scenarios:
  - {name: login, steps: [{name: chain, path: /start}, {name: spread, path: /spread}]}
load: {rate: 100, duration: 2s}
`))
	if err != nil {
		t.Fatal(err)
	}
	run, csvPath, pr, rc := runLive(t, p, nil)

	// What the run says: requests per step/hop series.
	want := map[string]int64{}
	stepReq := map[string]int64{}
	for _, st := range run.Steps {
		stepReq[st.Step] = st.Requests
		for _, h := range st.Hops {
			want[st.Step+" | "+h.Label()] = h.Requests
		}
	}
	if len(run.Steps) != 2 || len(run.Steps[0].Hops) != 2 || len(run.Steps[1].Hops) != metrics.MaxHops || run.Steps[0].Requests < 150 {
		t.Fatalf("the load did not run as planned: %+v", run.Steps)
	}
	if want["chain | 302 /middle"] != run.Steps[0].Requests || want["chain | 307 /end"] != run.Steps[0].Requests || want["spread | "+metrics.OtherHop] == 0 {
		t.Fatalf("hops of the run: %v", want)
	}

	t.Run("prometheus", func(t *testing.T) {
		if pr.err != nil {
			t.Fatal(pr.err)
		}
		for _, m := range pr.final[prometheus.Requests].GetMetric() {
			if got := int64(m.GetCounter().GetValue()); got != stepReq[label(m, "step")] {
				t.Errorf("%s{step=%q} = %d: the step's own series count %d steps", prometheus.Requests, label(m, "step"), got, stepReq[label(m, "step")])
			}
		}
		got := map[string]int64{}
		for _, m := range pr.final[prometheus.HopRequests].GetMetric() {
			got[label(m, "step")+" | "+label(m, prometheus.HopLabel)] = int64(m.GetCounter().GetValue())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %v\nwant %v", prometheus.HopRequests, got, want)
		}
		seen := 0
		for _, m := range pr.final[prometheus.HopDuration].GetMetric() {
			seen++
			k := label(m, "step") + " | " + label(m, prometheus.HopLabel)
			h := m.GetHistogram()
			if int64(h.GetSampleCount()) != want[k] || h.Schema == nil || len(h.GetBucket()) != len(prometheus.Buckets()) {
				t.Errorf("%s{%s}: %d exchanges (schema %v, %d classic buckets), the run has %d", prometheus.HopDuration, k, h.GetSampleCount(), h.Schema, len(h.GetBucket()), want[k])
			}
			if h.GetSampleSum() <= 0 {
				t.Errorf("%s{%s}: sum %g", prometheus.HopDuration, k, h.GetSampleSum())
			}
		}
		if seen != len(want) {
			t.Errorf("%d hop histograms, want %d", seen, len(want))
		}
	})
	t.Run("otlp", func(t *testing.T) {
		reqs := rc.all()
		if len(reqs) == 0 {
			t.Fatal("nothing exported")
		}
		got, counts := map[string]int64{}, map[string]int64{}
		for _, rm := range reqs[len(reqs)-1].GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					switch m.GetName() {
					case otlp.HopRequests:
						for _, dp := range m.GetSum().GetDataPoints() {
							got[kv(dp.GetAttributes(), "step")+" | "+kv(dp.GetAttributes(), otlp.HopAttr)] = dp.GetAsInt()
						}
					case otlp.HopDuration:
						for _, dp := range m.GetExponentialHistogram().GetDataPoints() {
							counts[kv(dp.GetAttributes(), "step")+" | "+kv(dp.GetAttributes(), otlp.HopAttr)] = int64(dp.GetCount())
						}
					}
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %v\nwant %v", otlp.HopRequests, got, want)
		}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("%s counts:\n got %v\nwant %v", otlp.HopDuration, counts, want)
		}
	})
	t.Run("csv", func(t *testing.T) {
		rows := readCSV(t, csvPath)
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		if h := csv.Header(nil); len(rows[0]) != len(h) || rows[0][col["hop"]] != "hop" {
			t.Fatalf("header %v, want %v", rows[0], h)
		}
		got := map[string]int64{}
		step := ""
		for i, r := range rows[1:] {
			if r[col["hop"]] == "" {
				step = r[col["name"]]
				continue
			}
			if r[col["name"]] != step {
				t.Errorf("row %d: the hop %q of step %q is under step %q's row", i+1, r[col["hop"]], r[col["name"]], step)
			}
			n, err := strconv.ParseInt(r[col["requests"]], 10, 64)
			if err != nil || n <= 0 {
				t.Errorf("row %d: requests %q", i+1, r[col["requests"]])
			}
			if p, err := strconv.ParseFloat(r[col["p99_ms"]], 64); err != nil || p <= 0 {
				t.Errorf("row %d: p99_ms %q", i+1, r[col["p99_ms"]])
			}
			got[step+" | "+r[col["hop"]]] += n
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("hop rows:\n got %v\nwant %v", got, want)
		}
	})
}
