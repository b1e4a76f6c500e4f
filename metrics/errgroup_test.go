package metrics

import (
	"reflect"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// Errors are grouped by scenario and step as well as kind and status, and
// each group's example comes from its own step: one step's failures used
// to be shown under another step's message.
func TestErrorsGroupedByStep(t *testing.T) {
	var samples []Sample
	add := func(step uint16, kind ErrKind, status uint16, n int) {
		for range n {
			samples = append(samples, Sample{EndNS: 1e8, LatencyUS: 1000, Step: step, Kind: kind, Status: status})
		}
	}
	add(0, KindCheckFailed, 200, 3) // a/a1
	add(1, KindCheckFailed, 200, 2) // a/a2
	add(1, KindHTTP5xx, 503, 1)     // a/a2
	add(2, KindNone, 200, 5)        // b/b1
	c := NewCollector(Config{Layout: layout2()})
	c.Example(1, KindCheckFailed, "a2: body lacks ok")
	c.Example(0, KindCheckFailed, "a1: status 200, want 201")
	c.Example(0, KindCheckFailed, "a1: a second message is not kept")
	c.Example(-1, KindOther, "outside any step")
	if c.WantExample(0, KindCheckFailed) || !c.WantExample(2, KindCheckFailed) {
		t.Fatal("WantExample must be per step")
	}
	r := NewRing(64)
	c.Register(r)
	for i := range samples {
		r.Push(&samples[i])
	}
	var run result.Run
	c.Finish(&run, 1)
	want := []result.ErrorCount{
		{Scenario: "a", Step: "a1", Kind: "check_failed", Status: 200, Count: 3, Example: "a1: status 200, want 201"},
		{Scenario: "a", Step: "a2", Kind: "check_failed", Status: 200, Count: 2, Example: "a2: body lacks ok"},
		{Scenario: "a", Step: "a2", Kind: "http_5xx", Status: 503, Count: 1},
	}
	if !reflect.DeepEqual(run.Errors, want) {
		t.Fatalf("errors:\n got %+v\nwant %+v", run.Errors, want)
	}
	if run.Summary.Errors != 6 {
		t.Fatalf("summary errors %d, want 6", run.Summary.Errors)
	}
}

// Merging parts keeps the groups apart and adds up each.
func TestMergeKeepsErrorGroups(t *testing.T) {
	part := func(seg string) *result.Run {
		var samples []Sample
		for range 2 {
			samples = append(samples, Sample{EndNS: 1e8, LatencyUS: 10, Step: 0, Kind: KindCheckFailed, Status: 200})
			samples = append(samples, Sample{EndNS: 1e8, LatencyUS: 10, Step: 2, Kind: KindCheckFailed, Status: 200})
		}
		run := feed(t, samples, 1)
		run.Segment, run.Model, run.Version = seg, "closed", result.Version
		return run
	}
	m, err := Merge([]*result.Run{part("1/2"), part("2/2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Errors) != 2 || m.Errors[0].Count != 4 || m.Errors[1].Count != 4 || m.Errors[0].Step == m.Errors[1].Step {
		t.Fatalf("merged errors %+v, want a1 and b1 with 4 each", m.Errors)
	}
}
