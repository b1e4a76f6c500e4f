package suite

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// pathCounter is a loopback server counting the requests of each path;
// /fail answers 500.
type pathCounter struct {
	srv *httptest.Server
	mu  sync.Mutex // guards n
	n   map[string]int64
}

func newPathCounter(t *testing.T) *pathCounter {
	pc := &pathCounter{n: map[string]int64{}}
	pc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pc.mu.Lock()
		pc.n[r.URL.Path]++
		pc.mu.Unlock()
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(pc.srv.Close)
	return pc
}

func (pc *pathCounter) count(path string) int64 {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.n[path]
}

// twoLoads is a plan of a closed load of 2 VUs on /a for 2 s and an open
// load of 50 iterations/s on /b for 1 s that starts 1 s later.
func twoLoads(t *testing.T, url string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("two.yaml", []byte(`name: two loads
target: {base_url: `+url+`}
scenarios:
  - {name: browse, steps: [{name: a, path: /a}]}
  - {name: api, steps: [{name: b, path: /b}]}
loads:
  people: {vus: 2, duration: 2s, scenarios: [browse]}
  machines:
    rate: 50
    duration: 1s
    start: 1s
    tags: {team: payments, tier: "1"}
    scenarios: [api]
    thresholds: [p99 < 10s]
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadsRunSideBySide(t *testing.T) {
	pc := newPathCounter(t)
	p := twoLoads(t, pc.srv.URL)
	var mu sync.Mutex
	var stream []result.Window
	var snapLoads []result.LoadResult
	run, err := RunLoad(context.Background(), p, LoadOptions{OnWindow: func(w result.Window, snap *result.Run) {
		mu.Lock()
		defer mu.Unlock()
		stream = append(stream, w)
		snapLoads = snap.Loads
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Loads) != 2 || run.Loads[0].Name != "people" || run.Loads[1].Name != "machines" {
		t.Fatalf("loads = %+v", run.Loads)
	}
	people, machines := run.Loads[0], run.Loads[1]
	if got, want := people.Requests, pc.count("/a"); got != want || got == 0 {
		t.Errorf("people: %d requests, the server counted %d on /a", got, want)
	}
	if got, want := machines.Requests, pc.count("/b"); got != want {
		t.Errorf("machines: %d requests, the server counted %d on /b", got, want)
	}
	// The open load's schedule is 50 iterations: each ran or is counted.
	if n := machines.Iterations + machines.Dropped + machines.Interrupted; n != 50 {
		t.Errorf("machines: %d iterations + %d dropped + %d interrupted, want the schedule's 50", machines.Iterations, machines.Dropped, machines.Interrupted)
	}
	if machines.TargetRPS != 50 || machines.StartS != 1 || machines.Model != "open" || people.Model != "closed" {
		t.Errorf("machines = %+v", machines)
	}
	if !maps.Equal(machines.Tags, map[string]string{"team": "payments", "tier": "1"}) || people.Tags != nil {
		t.Errorf("tags: machines %v, people %v; want the plan's on machines alone", machines.Tags, people.Tags)
	}
	if run.Model != metrics.ModelMixed {
		t.Errorf("model %q, want %q", run.Model, metrics.ModelMixed)
	}
	if s := run.Summary; s.Requests != people.Requests+machines.Requests || s.Errors != people.Errors+machines.Errors ||
		s.Iterations != people.Iterations+machines.Iterations {
		t.Errorf("the run's counts (%d requests, %d errors, %d iterations) are not the loads' sums", s.Requests, s.Errors, s.Iterations)
	}
	both, _, err := metrics.Combine(people.Hist, machines.Hist)
	if err != nil {
		t.Fatal(err)
	}
	if both.P99 != run.Summary.Latency.P99 || both.P50 != run.Summary.Latency.P50 {
		t.Errorf("run p99 %v, p50 %v; the merged loads' histograms say %v, %v", run.Summary.Latency.P99, run.Summary.Latency.P50, both.P99, both.P50)
	}
	if len(machines.Thresholds) != 1 || !machines.Thresholds[0].Pass {
		t.Errorf("machines' own threshold: %+v", machines.Thresholds)
	}
	// One stream: a window per second, in order, the same as the series.
	mu.Lock()
	defer mu.Unlock()
	if len(stream) != len(run.Series) || len(stream) < 2 {
		t.Fatalf("%d windows streamed, %d in the series", len(stream), len(run.Series))
	}
	var streamed int64
	for i, w := range stream {
		if w.TS != float64(i) || run.Series[i].TS != w.TS || run.Series[i].Requests != w.Requests {
			t.Errorf("window %d: streamed t=%v (%d requests), series t=%v (%d requests)", i, w.TS, w.Requests, run.Series[i].TS, run.Series[i].Requests)
		}
		streamed += w.Requests
	}
	if streamed != run.Summary.Requests {
		t.Errorf("windows hold %d requests, the run %d", streamed, run.Summary.Requests)
	}
	// Each load's share of the windows adds up to its requests.
	for i, l := range run.Loads {
		var n, m int64
		for j, w := range run.Series {
			n += w.Loads[i].Requests
			m += stream[j].Loads[i].Requests
		}
		if n != l.Requests || m != l.Requests {
			t.Errorf("load %s: %d requests, %d in its series windows, %d in the streamed ones", l.Name, l.Requests, n, m)
		}
	}
	if w := run.Series[0].Loads; w[1].Requests != 0 || w[0].VUs != 2 || w[0].Requests == 0 {
		t.Errorf("window 0 of the loads: %+v (2 VUs of the first load sending, the late load nothing)", w)
	}
	// No request of the late load completes in the first second.
	for _, sw := range run.Series[0].Steps {
		if run.Steps[sw.Index].Scenario == "api" && sw.Requests > 0 {
			t.Errorf("the load starting at 1 s has %d requests in window 0", sw.Requests)
		}
	}
	if len(snapLoads) != 2 || snapLoads[0].Requests+snapLoads[1].Requests != stream[len(stream)-1].Requests+sumBefore(stream) {
		t.Errorf("the last snapshot's loads do not hold the streamed requests: %+v", snapLoads)
	}
}

func sumBefore(ws []result.Window) int64 {
	var n int64
	for _, w := range ws[:len(ws)-1] {
		n += w.Requests
	}
	return n
}

// An abort threshold of one load stops every load.
func TestLoadsAbortStopsAll(t *testing.T) {
	pc := newPathCounter(t)
	p, err := plan.Parse("abort.yaml", []byte(`target: {base_url: `+pc.srv.URL+`}
scenarios:
  - {name: ok, steps: [{name: a, path: /a}]}
  - {name: bad, steps: [{name: f, path: /fail}]}
loads:
  fine: {vus: 1, duration: 20s, scenarios: [ok]}
  failing:
    rate: 20
    duration: 20s
    scenarios: [bad]
    thresholds: [{expr: error_rate < 1%, abort: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	run, err := RunLoad(context.Background(), p, LoadOptions{})
	if err == nil || !run.Aborted || !strings.Contains(run.AbortReason, "load failing: threshold failed") {
		t.Fatalf("err %v, aborted %v (%q)", err, run.Aborted, run.AbortReason)
	}
	for _, l := range run.Loads {
		if l.DurationS > 10 {
			t.Errorf("load %s ran %.1f s of 20 after the abort", l.Name, l.DurationS)
		}
	}
	if run.Verdict != result.VerdictFail {
		t.Errorf("verdict %s", run.Verdict)
	}
}

// The segments of a run of several loads merge into the numbers of the
// whole: every load's requests are the parts', the open load's schedule
// is whole again, and every percentile is that of the merged histograms.
func TestLoadsSegmentsMerge(t *testing.T) {
	pc := newPathCounter(t)
	var parts []*result.Run
	for k := range 2 {
		run, err := RunLoad(context.Background(), twoLoads(t, pc.srv.URL), LoadOptions{Segment: load.Segment{K: k, N: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if run.Segment != (load.Segment{K: k, N: 2}).String() {
			t.Fatalf("segment %q", run.Segment)
		}
		parts = append(parts, run)
	}
	m, err := metrics.Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Loads) != 2 {
		t.Fatalf("merged loads: %+v", m.Loads)
	}
	for i, l := range m.Loads {
		a, b := parts[0].Loads[i], parts[1].Loads[i]
		if l.Requests != a.Requests+b.Requests || l.Iterations != a.Iterations+b.Iterations {
			t.Errorf("load %s: %d requests merged from %d + %d", l.Name, l.Requests, a.Requests, b.Requests)
		}
		want, _, err := metrics.Combine(a.Hist, b.Hist)
		if err != nil {
			t.Fatal(err)
		}
		if l.Latency != want {
			t.Errorf("load %s: merged latency %+v, the parts' histograms say %+v", l.Name, l.Latency, want)
		}
	}
	machines := m.Loads[1]
	if machines.Tags["team"] != "payments" {
		t.Errorf("the merged machines load lost its tags: %v", machines.Tags)
	}
	if n := machines.Iterations + machines.Dropped + machines.Interrupted; n != 50 || machines.TargetRPS != 50 {
		t.Errorf("the open load's parts hold %d iterations at %v/s, want the whole schedule's 50 at 50/s", n, machines.TargetRPS)
	}
	if got, want := m.Loads[0].Requests+machines.Requests, pc.count("/a")+pc.count("/b"); got != want || m.Summary.Requests != got {
		t.Errorf("merged %d requests (summary %d), the server counted %d", got, m.Summary.Requests, want)
	}
	for i, l := range m.Loads {
		var n int64
		for _, w := range m.Series {
			n += w.Loads[i].Requests
		}
		if n != l.Requests {
			t.Errorf("load %s: %d requests, %d in its merged windows", l.Name, l.Requests, n)
		}
	}
	all, _, _ := metrics.Combine(m.Loads[0].Hist, machines.Hist)
	if all.P99 != m.Summary.Latency.P99 {
		t.Errorf("merged p99 %v, the loads' histograms say %v", m.Summary.Latency.P99, all.P99)
	}
}

// The windows of a load that ended early do not hold back the others'.
func TestCombinerEmitsPastAnEndedLoad(t *testing.T) {
	p := &plan.Plan{Loads: plan.Loads{{Name: "a"}, {Name: "b"}}}
	parts := []*loadPart{{nl: p.Loads[0]}, {nl: p.Loads[1]}}
	var got []float64
	c := newCombiner(p, parts, LoadOptions{OnWindow: func(w result.Window, _ *result.Run) { got = append(got, w.TS) }})
	go c.run()
	snap := func() *result.Run { return &result.Run{} }
	for _, a := range []arrival{
		{load: 0, w: result.Window{TS: 0}, snap: snap()},
		{load: 1, w: result.Window{TS: 0}, snap: snap()},
		{load: 1, w: result.Window{TS: 1}, snap: snap()},
		{load: 0, done: true},
		{load: 1, w: result.Window{TS: 2}, snap: snap()},
		{load: 1, done: true},
	} {
		c.push(a)
	}
	c.close()
	if len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Errorf("emitted windows %v, want 0, 1, 2", got)
	}
}
