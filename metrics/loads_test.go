package metrics

import (
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// loadRun is the Run of one load with one scenario of one step whose
// requests took vals µs, in one window at t=0.
func loadRun(t *testing.T, model, scen string, vals []int64, cpu, rss float64, vus int) *result.Run {
	t.Helper()
	h := encodeValues(t, vals)
	n := int64(len(vals))
	return &result.Run{Model: result.Model(model),
		Summary:   result.Summary{Requests: n, Iterations: n, DurationS: 1, Hist: h, MaxVUs: vus},
		Steps:     []result.StepResult{{Scenario: scen, Step: "get", Requests: n, Hist: h}},
		Scenarios: []result.ScenarioResult{{Name: scen, Iterations: n, Hist: h}},
		Series:    []result.Window{{TS: 0, Requests: n, VUs: vus, Hist: h, Steps: []result.StepWindow{{Index: 0, Requests: n, Hist: h}}}},
		Generator: result.Generator{CPUSeconds: cpu, CPUPercent: cpu * 100, MaxRSSMB: rss, GOMAXPROCS: 2},
	}
}

// Loads side by side in one process merge exactly; their models may
// differ, and the process's CPU and memory, which each load saw whole, are
// not added. Each load's numbers are folded from its own steps.
func TestMergeLoads(t *testing.T) {
	fast, slow := []int64{100, 200, 300}, []int64{10_000, 20_000}
	a := loadRun(t, "closed", "browse", fast, 1.5, 40, 2)
	b := loadRun(t, "open", "api", slow, 1.4, 42, 3)
	m, err := MergeLoads([]*result.Run{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != ModelMixed {
		t.Errorf("model %q", m.Model)
	}
	if g := m.Generator; g.CPUSeconds != 1.5 || g.MaxRSSMB != 42 || g.GOMAXPROCS != 2 {
		t.Errorf("generator %+v: one process's CPU and memory are the most any load saw", g)
	}
	if m.Summary.Requests != 5 || len(m.Steps) != 2 || len(m.Series) != 1 || m.Series[0].Requests != 5 || m.Summary.MaxVUs != 5 {
		t.Errorf("merged summary %+v, %d steps, series %+v", m.Summary, len(m.Steps), m.Series)
	}
	if want := refLatency(append(append([]int64{}, fast...), slow...)); m.Summary.Latency.P99 != want.P99 || m.Summary.Latency.P50 != want.P50 {
		t.Errorf("merged latency %+v, the samples' %+v", m.Summary.Latency, want)
	}
	m.Loads = []result.LoadResult{{Name: "people", Scenarios: []string{"browse"}, DurationS: 1}, {Name: "machines", Scenarios: []string{"api"}, DurationS: 0.5}}
	if err := FoldLoads(m); err != nil {
		t.Fatal(err)
	}
	people, machines := m.Loads[0], m.Loads[1]
	if people.Requests != 3 || machines.Requests != 2 || machines.RPS != 4 || machines.Iterations != 2 {
		t.Errorf("folded loads %+v, %+v", people, machines)
	}
	if want := refLatency(slow); machines.Latency.P99 != want.P99 {
		t.Errorf("machines p99 %v, its samples' %v", machines.Latency.P99, want.P99)
	}
	v := LoadView(m, 1)
	if v.Summary.Requests != 2 || len(v.Steps) != 1 || v.Steps[0].Scenario != "api" || v.Summary.DurationS != 0.5 {
		t.Errorf("view of machines: %+v", v)
	}
}

// Segments of a run of loads merge each load by name: executor counts add,
// measured numbers are folded again; a part with other loads is refused.
func TestMergeSegmentsOfLoads(t *testing.T) {
	part := func(vals []int64, dropped int64) *result.Run {
		r := loadRun(t, "open", "api", vals, 1, 1, 1)
		r.Loads = []result.LoadResult{{Name: "api", Model: "open", Scenarios: []string{"api"}, DurationS: 1, TargetRPS: 25, MaxVUs: 1, Dropped: dropped}}
		return r
	}
	a, b := part([]int64{100, 900}, 1), part([]int64{5000}, 2)
	a.Segment, b.Segment = "1/2", "2/2"
	m, err := Merge([]*result.Run{a, b})
	if err != nil {
		t.Fatal(err)
	}
	l := m.Loads[0]
	if l.Requests != 3 || l.TargetRPS != 50 || l.MaxVUs != 2 || l.Dropped != 3 || l.Latency.P99 != refLatency([]int64{100, 900, 5000}).P99 {
		t.Errorf("merged load %+v", l)
	}
	if len(m.Series) != 1 || len(m.Series[0].Loads) != 1 || m.Series[0].Loads[0].Requests != 3 || m.Series[0].Loads[0].P99 != l.Latency.P99 {
		t.Errorf("merged window's loads: %+v", m.Series)
	}
	b.Loads[0].Name = "other"
	if _, err := Merge([]*result.Run{a, b}); err == nil {
		t.Error("parts with different loads merged")
	}
}
