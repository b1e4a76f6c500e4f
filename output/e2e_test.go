package output_test

import (
	"context"
	encsv "encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	otlpmetrics "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/output/csv"
	"github.com/stampede-perf/stampede/output/otlp"
	"github.com/stampede-perf/stampede/output/prometheus"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// receiver is an OTLP/HTTP metrics endpoint that decodes what it is sent
// with the protocol's own protobuf messages.
type receiver struct {
	mu       sync.Mutex // guards requests
	requests []*colmetrics.ExportMetricsServiceRequest
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != otlp.DefaultPath || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf on "+otlp.DefaultPath, http.StatusBadRequest)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req colmetrics.ExportMetricsServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, &req)
	rc.mu.Unlock()
	out, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (rc *receiver) all() []*colmetrics.ExportMetricsServiceRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*colmetrics.ExportMetricsServiceRequest(nil), rc.requests...)
}

// probe is a sink put first in the fan: it sees every update before the
// other sinks, so at the second one the Prometheus endpoint holds the
// first window and the run is still going: it scrapes the endpoint then
// (in the text format), and again when the sinks are closed, when the
// endpoint holds the whole run (in protobuf).
type probe struct {
	url         string
	windows     atomic.Int64
	mid, final  map[string]*dto.MetricFamily
	midErr, err error
}

func (p *probe) Update(*output.Update) error {
	if p.windows.Add(1) == 2 {
		p.mid, p.midErr = scrape(p.url, expfmt.NewFormat(expfmt.TypeTextPlain))
	}
	return nil
}

func (p *probe) Close(*result.Run) error {
	p.final, p.err = scrape(p.url, expfmt.NewFormat(expfmt.TypeProtoDelim))
	return nil
}

// scrape reads the endpoint in the given exposition format with
// Prometheus's own decoder.
func scrape(url string, f expfmt.Format) (map[string]*dto.MetricFamily, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", string(f))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, errors.New(resp.Status)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	out := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out[mf.GetName()] = &mf
	}
}

// openSinks opens the three live outputs with labels: a CSV file at
// csvPath, a loopback Prometheus endpoint and an OTLP exporter to
// collector every interval.
func openSinks(t *testing.T, csvPath, collector string, labels output.Labels, interval time.Duration) (*csv.Sink, *prometheus.Sink, *otlp.Sink) {
	t.Helper()
	cs, err := csv.New(csvPath, labels)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := prometheus.New("127.0.0.1:0", labels)
	if err != nil {
		t.Fatal(err)
	}
	ot, err := otlp.New(context.Background(), collector, otlp.Options{Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	return cs, ps, ot
}

// runLive runs p with the three live outputs (labelled with labels),
// OTLP exporting once, at the end, to a receiver; it returns the Run, the
// CSV file, the probe that scraped the Prometheus endpoint and the
// receiver.
func runLive(t *testing.T, p *plan.Plan, labels output.Labels) (*result.Run, string, *probe, *receiver) {
	t.Helper()
	return runLiveWith(t, p, labels, liveHooks{})
}

// liveHooks let a test reach into runLiveWith: opened is called once the
// sinks are open, before the load starts; first is a sink put first in
// the fan, so it is closed before the endpoint stops serving.
type liveHooks struct {
	opened func(*prometheus.Sink)
	first  output.Sink
}

// runLiveWith is runLive with hooks.
func runLiveWith(t *testing.T, p *plan.Plan, labels output.Labels, h liveHooks) (*result.Run, string, *probe, *receiver) {
	t.Helper()
	rc := &receiver{}
	collector := httptest.NewServer(rc)
	t.Cleanup(collector.Close)
	csvPath := filepath.Join(t.TempDir(), "live.csv")
	cs, ps, ot := openSinks(t, csvPath, collector.URL, labels, time.Hour)
	if h.opened != nil {
		h.opened(ps)
	}
	pr := &probe{url: ps.URL()}
	sinks := []output.Sink{pr, cs, ps, ot}
	if h.first != nil {
		sinks = append([]output.Sink{h.first}, sinks...)
	}
	fan := output.NewFan(sinks...)
	run, err := suite.RunLoad(context.Background(), p, suite.LoadOptions{OnWindow: fan.Window})
	if err != nil {
		t.Fatal(err)
	}
	if err := fan.Close(run); err != nil {
		t.Fatal(err)
	}
	return run, csvPath, pr, rc
}

// readCSV reads a CSV file with the standard decoder.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := encsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// shopMux serves /ok, and /flaky, which answers every fifth request with
// a 500.
func shopMux() *http.ServeMux {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	return mux
}

// TestLiveOutputsMatchTheRun runs a real load against a loopback server
// with all three live outputs and reads each back with its real decoder:
// the Prometheus endpoint (protobuf and text), the OTLP messages the
// collector would get, and the CSV file. Every count they carry must add
// up to the finished Run.
func TestLiveOutputsMatchTheRun(t *testing.T) {
	target := httptest.NewServer(shopMux())
	defer target.Close()
	rc := &receiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()

	csvPath := filepath.Join(t.TempDir(), "live.csv")
	cs, ps, ot := openSinks(t, csvPath, collector.URL, nil, 500*time.Millisecond)
	if !ps.IsLoopback() {
		t.Fatalf("%s: not loopback", ps.Addr())
	}
	pr := &probe{url: ps.URL()}
	fan := output.NewFan(pr, cs, ps, ot)

	p := &plan.Plan{
		Name:   "live",
		Target: plan.Target{BaseURL: target.URL},
		Scenarios: []*plan.Scenario{{Name: "shop", Weight: 1, Steps: []*plan.Step{
			{Name: "ok", Method: "GET", Path: "/ok"},
			{Name: "flaky", Method: "GET", Path: "/flaky"},
		}}},
		Load: plan.LoadSpec{Rate: 200, Duration: plan.Duration(3 * time.Second)},
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	run, err := suite.RunLoad(context.Background(), p, suite.LoadOptions{OnWindow: fan.Window})
	if err != nil {
		t.Fatal(err)
	}
	if err := fan.Close(run); err != nil {
		t.Fatal(err)
	}
	if run.Summary.Errors == 0 || run.Summary.Requests < 400 {
		t.Fatalf("the load did not run as planned: %d requests, %d errors", run.Summary.Requests, run.Summary.Errors)
	}
	// While the load ran, the endpoint already counted requests.
	if pr.midErr != nil {
		t.Fatal(pr.midErr)
	}
	if mf := pr.mid[prometheus.Requests]; mf == nil || len(mf.GetMetric()) == 0 {
		t.Fatalf("no %s while the run went", prometheus.Requests)
	}
	if got := pr.windows.Load(); got != int64(len(run.Series)) {
		t.Fatalf("the sinks saw %d windows; the run has %d", got, len(run.Series))
	}

	// What the run says, per step.
	wantReq := map[string]int64{}
	wantErr := map[string]int64{} // step/kind
	inWindows := map[string]int64{}
	for _, st := range run.Steps {
		wantReq[st.Step] = st.Requests
		for _, e := range st.Errs {
			wantErr[st.Step+"/"+e.Kind] += e.Count
		}
	}
	for _, w := range run.Series {
		for _, sw := range w.Steps {
			inWindows[run.Steps[sw.Index].Step] += sw.Requests
		}
	}

	t.Run("prometheus", func(t *testing.T) {
		if pr.err != nil {
			t.Fatal(pr.err)
		}
		checkPrometheus(t, pr.final, run, wantReq, wantErr, inWindows)
	})
	t.Run("otlp", func(t *testing.T) {
		reqs := rc.all()
		if len(reqs) < 2 {
			t.Fatalf("%d exports: want some while the run went and one at the end", len(reqs))
		}
		checkOTLP(t, reqs[len(reqs)-1], wantReq, wantErr, inWindows)
	})
	t.Run("csv", func(t *testing.T) {
		checkCSV(t, csvPath, run, inWindows)
	})
}

func checkPrometheus(t *testing.T, mfs map[string]*dto.MetricFamily, run *result.Run, wantReq, wantErr, inWindows map[string]int64) {
	t.Helper()
	hops := slices.ContainsFunc(run.Steps, func(st result.StepResult) bool { return len(st.Hops) > 0 })
	for _, name := range prometheus.Names() {
		if mfs[name] == nil && (hops || !slices.Contains(prometheus.HopNames(), name)) {
			t.Errorf("%s is not exported", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, m := range mfs[prometheus.Requests].GetMetric() {
		if got, want := int64(m.GetCounter().GetValue()), wantReq[label(m, "step")]; got != want {
			t.Errorf("%s{step=%q} = %d, the run has %d", prometheus.Requests, label(m, "step"), got, want)
		}
	}
	gotErr := map[string]int64{}
	for _, m := range mfs[prometheus.Errors].GetMetric() {
		gotErr[label(m, "step")+"/"+label(m, "kind")] = int64(m.GetCounter().GetValue())
	}
	if len(gotErr) != len(wantErr) {
		t.Errorf("errors %v, the run has %v", gotErr, wantErr)
	}
	for k, v := range wantErr {
		if gotErr[k] != v {
			t.Errorf("%s %s = %d, the run has %d", prometheus.Errors, k, gotErr[k], v)
		}
	}
	for _, m := range mfs[prometheus.Duration].GetMetric() {
		h := m.GetHistogram()
		step := label(m, "step")
		if int64(h.GetSampleCount()) != inWindows[step] {
			t.Errorf("%s{step=%q} count %d, the run's windows have %d", prometheus.Duration, step, h.GetSampleCount(), inWindows[step])
		}
		// Native: a schema and sparse buckets whose counts add up.
		if h.Schema == nil || len(h.GetPositiveSpan()) == 0 {
			t.Errorf("%s{step=%q} has no native buckets", prometheus.Duration, step)
		}
		var sum, cur int64
		for _, d := range h.GetPositiveDelta() { // deltas: the running sum is each bucket's count
			cur += d
			sum += cur
		}
		if sum+int64(h.GetZeroCount()) != int64(h.GetSampleCount()) {
			t.Errorf("%s{step=%q}: native buckets hold %d of %d", prometheus.Duration, step, sum+int64(h.GetZeroCount()), h.GetSampleCount())
		}
		// Classic: cumulative buckets up to the count.
		if len(h.GetBucket()) != len(prometheus.Buckets()) {
			t.Errorf("%d classic buckets, want %d", len(h.GetBucket()), len(prometheus.Buckets()))
		}
		// The run's p50 lies below the first classic bound holding half
		// the requests.
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= 0.5*float64(h.GetSampleCount()) {
				if p50 := run.Steps[stepIndex(run, step)].Latency.P50 / 1000; p50 > b.GetUpperBound()*1.01 {
					t.Errorf("step %s: p50 %.4fs above the bucket le=%g that holds half the requests", step, p50, b.GetUpperBound())
				}
				break
			}
		}
	}
	phase := mfs[prometheus.Phase].GetMetric()
	if len(phase) != 1 || label(phase[0], "phase") != output.DefaultPhase || phase[0].GetGauge().GetValue() != 1 {
		t.Errorf("%s: %v, want one phase %q at 1", prometheus.Phase, phase, output.DefaultPhase)
	}
	if got := int64(mfs[prometheus.Dropped].GetMetric()[0].GetCounter().GetValue()); got != run.Summary.Dropped {
		t.Errorf("%s = %d, the run has %d", prometheus.Dropped, got, run.Summary.Dropped)
	}
	if mfs[prometheus.CPU].GetMetric()[0].GetGauge().GetValue() <= 0 {
		t.Errorf("%s is not above 0 after a load", prometheus.CPU)
	}
}

func stepIndex(run *result.Run, step string) int {
	for i, st := range run.Steps {
		if st.Step == step {
			return i
		}
	}
	return 0
}

func checkOTLP(t *testing.T, req *colmetrics.ExportMetricsServiceRequest, wantReq, wantErr, inWindows map[string]int64) {
	t.Helper()
	ms := map[string]*otlpmetrics.Metric{}
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				ms[m.GetName()] = m
			}
		}
	}
	for _, name := range []string{otlp.Requests, otlp.Errors, otlp.Duration, otlp.VUs, otlp.StartLag, otlp.Phase, otlp.CPU, otlp.Saturated} {
		if ms[name] == nil {
			t.Errorf("%s is not exported", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, dp := range ms[otlp.Requests].GetSum().GetDataPoints() {
		step := kv(dp.GetAttributes(), "step")
		if dp.GetAsInt() != wantReq[step] {
			t.Errorf("%s{step=%q} = %d, the run has %d", otlp.Requests, step, dp.GetAsInt(), wantReq[step])
		}
	}
	if !ms[otlp.Requests].GetSum().GetIsMonotonic() || ms[otlp.Requests].GetSum().GetAggregationTemporality() != otlpmetrics.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Errorf("%s is not a cumulative monotonic sum", otlp.Requests)
	}
	gotErr := map[string]int64{}
	for _, dp := range ms[otlp.Errors].GetSum().GetDataPoints() {
		gotErr[kv(dp.GetAttributes(), "step")+"/"+kv(dp.GetAttributes(), "kind")] = dp.GetAsInt()
	}
	for k, v := range wantErr {
		if gotErr[k] != v {
			t.Errorf("%s %s = %d, the run has %d", otlp.Errors, k, gotErr[k], v)
		}
	}
	eh := ms[otlp.Duration].GetExponentialHistogram()
	if eh == nil {
		t.Fatalf("%s is not an exponential histogram: %v", otlp.Duration, ms[otlp.Duration].GetData())
	}
	for _, dp := range eh.GetDataPoints() {
		step := kv(dp.GetAttributes(), "step")
		if int64(dp.GetCount()) != inWindows[step] {
			t.Errorf("%s{step=%q} count %d, the run's windows have %d", otlp.Duration, step, dp.GetCount(), inWindows[step])
		}
		var inBuckets uint64
		for _, c := range dp.GetPositive().GetBucketCounts() {
			inBuckets += c
		}
		if inBuckets+dp.GetZeroCount() != dp.GetCount() {
			t.Errorf("%s{step=%q}: buckets hold %d of %d", otlp.Duration, step, inBuckets+dp.GetZeroCount(), dp.GetCount())
		}
	}
}

func kv(attrs []*commonv1.KeyValue, key string) string {
	for _, a := range attrs {
		if a.GetKey() == key {
			return a.GetValue().GetStringValue()
		}
	}
	return ""
}

func checkCSV(t *testing.T, path string, run *result.Run, inWindows map[string]int64) {
	t.Helper()
	rows := readCSV(t, path)
	head := csv.Header(nil)
	if len(rows) == 0 || len(rows[0]) != len(head) {
		t.Fatalf("header %v, want %v", rows[:min(1, len(rows))], head)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		if h != head[i] {
			t.Fatalf("column %d is %q, want %q", i, h, head[i])
		}
		col[h] = i
	}
	if want := 1 + len(run.Series)*len(run.Steps); len(rows) != want {
		t.Errorf("%d rows, want a header and one per window per step: %d", len(rows), want)
	}
	got := map[string]int64{}
	last := int64(0)
	for _, r := range rows[1:] {
		n, err := strconv.ParseInt(r[col["requests"]], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		got[r[col["name"]]] += n
		ts, err := strconv.ParseInt(r[col["timestamp"]], 10, 64)
		if err != nil || ts < last || ts < run.StartedAt.Unix() || ts > run.EndedAt.Unix() {
			t.Errorf("timestamp %s: not a Unix second within the run, in order", r[col["timestamp"]])
		}
		last = ts
	}
	for step, n := range inWindows {
		if got[step] != n {
			t.Errorf("csv: step %s has %d requests, the run's windows %d", step, got[step], n)
		}
	}
}

// TestLiveOutputsCarryLoadTags runs a plan of two loads with tags and
// reads each live output back: every step's series carry its load's name
// and tags (a tag a load does not set is absent, or an empty CSV cell).
func TestLiveOutputsCarryLoadTags(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	p, err := plan.Parse("tags.yaml", []byte(`name: tags
target: {base_url: "`+target.URL+`"}
scenarios:
  - {name: browse, steps: [{name: home, path: /}]}
  - {name: orders, steps: [{name: list, path: /orders}]}
loads:
  browsers: {vus: 2, duration: 2s, scenarios: [browse], tags: {team: web, tier: gold}}
  api: {rate: 50, duration: 2s, scenarios: [orders], tags: {team: api}}
`))
	if err != nil {
		t.Fatal(err)
	}
	labels := output.NewLabels(true, p.Loads[0].Tags, p.Loads[1].Tags)
	want := map[string]map[string]string{ // by scenario: the labels of its steps
		"browse": {"load": "browsers", "team": "web", "tier": "gold"},
		"orders": {"load": "api", "team": "api", "tier": ""},
	}
	run, csvPath, pr, rc := runLive(t, p, labels)
	for _, st := range run.Steps {
		if st.Requests == 0 {
			t.Fatalf("step %s/%s sent nothing", st.Scenario, st.Step)
		}
	}

	t.Run("prometheus", func(t *testing.T) {
		if pr.err != nil {
			t.Fatal(pr.err)
		}
		for _, name := range []string{prometheus.Requests, prometheus.Duration} {
			seen := map[string]bool{}
			for _, m := range pr.final[name].GetMetric() {
				sc := label(m, "scenario")
				seen[sc] = true
				for k, v := range want[sc] {
					if got := label(m, k); got != v {
						t.Errorf("%s{scenario=%q}: %s=%q, want %q", name, sc, k, got, v)
					}
				}
			}
			if len(seen) != len(want) {
				t.Errorf("%s has series of %v, want both scenarios", name, seen)
			}
		}
	})
	t.Run("otlp", func(t *testing.T) {
		reqs := rc.all()
		if len(reqs) == 0 {
			t.Fatal("nothing exported")
		}
		seen := 0
		for _, rm := range reqs[len(reqs)-1].GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() != otlp.Requests {
						continue
					}
					for _, dp := range m.GetSum().GetDataPoints() {
						seen++
						sc := kv(dp.GetAttributes(), "scenario")
						for k, v := range want[sc] {
							if got := kv(dp.GetAttributes(), k); got != v {
								t.Errorf("%s{scenario=%q}: %s=%q, want %q", otlp.Requests, sc, k, got, v)
							}
						}
					}
				}
			}
		}
		if seen != len(want) {
			t.Errorf("%d data points of %s, want one per scenario", seen, otlp.Requests)
		}
	})
	t.Run("csv", func(t *testing.T) {
		rows := readCSV(t, csvPath)
		head := rows[0]
		if got, wantHead := head[len(head)-3:], []string{"load", "tag_team", "tag_tier"}; !slices.Equal(got, wantHead) {
			t.Fatalf("the last columns are %v, want %v", got, wantHead)
		}
		col := map[string]int{}
		for i, h := range head {
			col[strings.TrimPrefix(h, "tag_")] = i
		}
		if len(rows) < 3 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows[1:] {
			for k, v := range want[r[col["scenario"]]] {
				if r[col[k]] != v {
					t.Errorf("row %v: %s=%q, want %q", r, k, r[col[k]], v)
				}
			}
		}
	})
}
