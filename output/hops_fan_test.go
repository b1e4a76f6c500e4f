package output

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// hopSnap is a snapshot of one load whose step "get" followed one hop,
// whose exchanges took the given times (µs) so far.
func hopSnap(start time.Time, us ...int64) *result.Run {
	h := metrics.NewHist()
	for _, v := range us {
		metrics.RecordUS(h, v)
	}
	hop := result.HopResult{Status: 302, To: "/next", Requests: int64(len(us)), Hist: metrics.MustEncode(h)}
	return &result.Run{StartedAt: start, Steps: []result.StepResult{{Scenario: "s", Step: "get", Kind: "http", Requests: int64(len(us)), Hops: []result.HopResult{hop}}}}
}

// Each update carries the hops followed since the one before, with the
// latency of just those hops, across the restart of a new load; the
// cumulative latency holds them all.
func TestFanHopIncrements(t *testing.T) {
	c := &collect{}
	f := NewFan(c)
	t1, t2 := time.Unix(1000, 0), time.Unix(2000, 0)
	f.Window(result.Window{TS: 0}, hopSnap(t1, 1000, 1000, 1000))
	f.Window(result.Window{TS: 1}, hopSnap(t1, 1000, 1000, 1000))               // nothing new
	f.Window(result.Window{TS: 2}, hopSnap(t1, 1000, 1000, 1000, 50000, 50000)) // two slow ones
	f.Window(result.Window{TS: 3}, hopSnap(t2, 7000))                           // the next load
	if err := f.Close(nil); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		req, win       int64
		winMin, winMax int64
	}
	var got []seen
	for _, u := range c.updates {
		for _, h := range u.Hops {
			if h.Name.Hop != "302 /next" || h.Name.Step != "get" || h.Step != 0 || h.Window == nil || h.Latency == nil {
				t.Fatalf("hop update %+v", h)
			}
			got = append(got, seen{h.NewRequests, h.Window.TotalCount(), h.Window.Min(), h.Window.Max()})
		}
	}
	want := []seen{{3, 3, 1000, 1000}, {2, 2, 50000, 50000}, {1, 1, 7000, 7000}}
	for i := range got {
		// Within the histogram's precision.
		if i < len(want) && got[i].winMin >= want[i].winMin*99/100 && got[i].winMax <= want[i].winMax*101/100 {
			got[i].winMin, got[i].winMax = want[i].winMin, want[i].winMax
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hop updates:\n got %v\nwant %v", got, want)
	}
	last := c.updates[len(c.updates)-1].Hops[0].Latency
	if last.TotalCount() != 6 {
		t.Errorf("the cumulative latency holds %d hops, want 6", last.TotalCount())
	}
}

// Past MaxHopLatencies hop series, hops are still counted but carry no
// latency; the hops of the steps past MaxSteps share one series.
func TestFanHopBounds(t *testing.T) {
	c := &collect{}
	f := NewFan(c)
	h := metrics.NewHist()
	metrics.RecordUS(h, 2000)
	enc := metrics.MustEncode(h)
	r := &result.Run{StartedAt: time.Unix(1000, 0)}
	for i := range MaxSteps + 3 {
		r.Steps = append(r.Steps, result.StepResult{Scenario: "s", Step: fmt.Sprint("step ", i), Requests: 1,
			Hops: []result.HopResult{{Status: 302, To: fmt.Sprint("/to/", i), Requests: 1, Hist: enc}}})
	}
	f.Window(result.Window{}, r)
	if err := f.Close(nil); err != nil {
		t.Fatal(err)
	}
	hops := c.updates[0].Hops
	if len(hops) != MaxSteps+1 {
		t.Fatalf("%d hop series, want %d", len(hops), MaxSteps+1)
	}
	withLatency := 0
	for _, hu := range hops {
		if hu.Latency != nil {
			withLatency++
		}
	}
	if withLatency != MaxHopLatencies {
		t.Errorf("%d hop series with latency, want %d", withLatency, MaxHopLatencies)
	}
	other := hops[len(hops)-1]
	if other.Name.Step != OtherStep || other.Name.Hop != metrics.OtherHop || other.NewRequests != 3 || other.Step != MaxSteps {
		t.Errorf("the steps past MaxSteps: %+v", other)
	}
	if other.Window != nil {
		t.Errorf("a series past MaxHopLatencies has a window histogram")
	}
}

// BenchmarkFanHops is the cost, once a window, of a step's 16 hop
// entries (the most a step keeps) that each followed 1,000 redirects
// more: reading their cumulative histograms, taking the window's from
// them and adding it to the series' latency.
func BenchmarkFanHops(b *testing.B) {
	const hops = metrics.MaxHops
	before, after := make([]hopTotal, hops), make([]hopTotal, hops)
	for i := range hops {
		h := metrics.NewHist()
		for v := range int64(1000) {
			metrics.RecordUS(h, 200+v*7)
		}
		before[i] = hopTotal{status: 302, to: fmt.Sprint("/to/", i), requests: 1000, hist: metrics.MustEncode(h)}
		for v := range int64(1000) {
			metrics.RecordUS(h, 300+v*11)
		}
		after[i] = hopTotal{status: 302, to: fmt.Sprint("/to/", i), requests: 2000, hist: metrics.MustEncode(h)}
	}
	for i := range before { // as the Fan keeps them: decoded
		_, before[i].counts = since(before[i].hist, nil)
	}
	fr := frame{steps: []stepTotal{{name: StepName{Scenario: "s", Step: "get"}, hops: after}}}
	f := &Fan{hopLast: map[hopKey]hopTotal{}, hopCum: map[HopName]*hdr.Histogram{}}
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range before {
			f.hopLast[hopKey{0, h.status, h.to}] = h
		}
		u := &Update{Steps: []StepName{fr.steps[0].name}}
		f.hops(u, fr)
		if len(u.Hops) != hops || u.Hops[0].Window.TotalCount() != 1000 {
			b.Fatalf("hops %d, window %d", len(u.Hops), u.Hops[0].Window.TotalCount())
		}
	}
}

// A hop's label is bounded, cut at a character.
func TestHopLabelBounded(t *testing.T) {
	long := "/" + strings.Repeat("é", MaxHopLabel)
	for _, tc := range []struct {
		to   string
		want string
	}{
		{"/next", "302 /next"},
		{long, ""},
	} {
		got := hopLabel(302, tc.to)
		if tc.want != "" && got != tc.want {
			t.Errorf("hopLabel(302, %q) = %q, want %q", tc.to, got, tc.want)
		}
		if len(got) > MaxHopLabel || !utf8.ValidString(got) || (tc.want == "" && !strings.HasSuffix(got, "…")) {
			t.Errorf("hopLabel(302, %d bytes) = %d bytes %q", len(tc.to), len(got), got)
		}
	}
}
