package metrics

import (
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// Each followed redirect is an entry of its step, by status and
// destination; past MaxHops destinations they share OtherHop; the
// segments of one test merge them by the same key.
func TestHops(t *testing.T) {
	layout := Layout{Scenarios: []ScenarioInfo{{Name: "s", Weight: 1, Steps: []StepInfo{{Name: "login", Kind: "http"}}}}}
	segment := func(hops func(c *Collector)) *result.Run {
		c := NewCollector(Config{Layout: layout, Start: time.Now()})
		r := NewRing(64)
		c.Register(r)
		r.Push(&Sample{Step: 0, LatencyUS: 1000, Redirects: 2})
		hops(c)
		var run result.Run
		c.Finish(&run, 1)
		return &run
	}
	a := segment(func(c *Collector) {
		c.Hop(0, 302, "/home", 2*time.Millisecond, false)
		c.Hop(0, 302, "/home", 4*time.Millisecond, false)
		c.Hop(0, 307, "/sso", time.Millisecond, true)
		c.Hop(1, 302, "/nowhere", time.Millisecond, false) // no such step: dropped
		for i := range MaxHops + 3 {                       // 19 more destinations: 13 entries and one shared
			c.Hop(0, 301, "/p"+string(rune('a'+i)), time.Millisecond, false)
		}
	})
	hs := a.Steps[0].Hops
	if len(hs) != MaxHops {
		t.Fatalf("%d entries, want %d", len(hs), MaxHops)
	}
	if hs[0].Status != 302 || hs[0].To != "/home" || hs[0].Requests != 2 || hs[0].Latency.Max < 3.9 {
		t.Fatalf("first entry %+v, want the most followed: 302 /home twice, max 4 ms", hs[0])
	}
	other := hs[len(hs)-1]
	if other.To != OtherHop || other.Requests != 19-(MaxHops-3) {
		t.Errorf("last entry %+v, want %s holding the %d destinations past the first %d", other, OtherHop, 19-(MaxHops-3), MaxHops-1)
	}
	b := segment(func(c *Collector) {
		c.Hop(0, 307, "/sso", 3*time.Millisecond, false)
		c.Hop(0, 303, "/done", time.Millisecond, false)
	})
	m, err := Merge([]*result.Run{a, b})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]result.HopResult{}
	for _, h := range m.Steps[0].Hops {
		got[h.To] = h
	}
	if sso := got["/sso"]; sso.Requests != 2 || sso.Errors != 1 || sso.Latency.Max < 2.9 {
		t.Errorf("merged /sso %+v, want 2 requests, 1 error, max 3 ms", sso)
	}
	if len(got) != MaxHops+1 || got["/done"].Requests != 1 { // the segments' caps are their own
		t.Errorf("merged %d entries (/done %+v), want %d", len(got), got["/done"], MaxHops+1)
	}
}
