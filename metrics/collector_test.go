package metrics

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
	"unsafe"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// reference is the slow, obviously right percentile: sort and index.
func reference(vals []int64, q float64) int64 {
	s := append([]int64(nil), vals...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(math.Ceil(q/100*float64(len(s))-1e-9)) - 1 // nearest rank
	if idx < 0 {
		idx = 0
	}
	return s[idx]
}

func layout2() Layout {
	return Layout{Scenarios: []ScenarioInfo{
		{Name: "a", Weight: 1, Steps: []StepInfo{{Name: "a1"}, {Name: "a2"}}},
		{Name: "b", Weight: 1, Steps: []StepInfo{{Name: "b1"}}},
	}}
}

// feed pushes samples through rings into a collector the way VUs do and
// returns the finished run.
func feed(t *testing.T, samples []Sample, endS float64) *result.Run {
	t.Helper()
	t0 := time.Unix(1000, 0)
	clock := t0
	c := NewCollector(Config{Layout: layout2(), Start: t0, Now: func() time.Time { return clock }})
	pushAll(c, samples, 3, 50, func(*Sample) { c.drainAll() })
	clock = t0.Add(time.Duration(endS * float64(time.Second)))
	var run result.Run
	c.Finish(&run, endS)
	return &run
}

// pushAll pushes samples through rings rings registered with c, in turn,
// as VUs do, and calls tick after every batch of every samples with the
// batch's last one.
func pushAll(c *Collector, samples []Sample, rings, every int, tick func(last *Sample)) {
	rs := make([]*Ring, rings)
	for i := range rs {
		rs[i] = NewRing(256)
		c.Register(rs[i])
	}
	for i := range samples {
		rs[i%rings].Push(&samples[i])
		if i%every == every-1 {
			tick(&samples[i])
		}
	}
}

func randomSamples(n int, seed uint64, spanS float64) ([]Sample, []int64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]Sample, n)
	lat := make([]int64, n)
	for i := range out {
		// Log-normal-ish latencies from 50 µs to seconds.
		v := int64(math.Exp(rng.NormFloat64()*1.5+7)) + 1
		end := int64(float64(i) / float64(n) * spanS * 1e9)
		out[i] = Sample{EndNS: end, LatencyUS: uint32(v), ServiceUS: uint32(v), TTFBUS: uint32(v / 2), ConnUS: uint32(rng.IntN(100)), Step: uint16(rng.IntN(3))}
		if rng.IntN(20) == 0 {
			out[i].Kind = KindHTTP5xx
			out[i].Status = 503
		}
		lat[i] = v
	}
	return out, lat
}

// Every percentile the collector reports is within HDR's 3 significant
// digits of the exact order statistic.
func TestPercentilesMatchReference(t *testing.T) {
	samples, lat := randomSamples(20000, 1, 10)
	run := feed(t, samples, 10)
	if run.Summary.Requests != 20000 {
		t.Fatalf("requests = %d", run.Summary.Requests)
	}
	for _, tc := range []struct {
		q   float64
		got float64
	}{{50, run.Summary.Latency.P50}, {90, run.Summary.Latency.P90}, {95, run.Summary.Latency.P95},
		{99, run.Summary.Latency.P99}, {99.9, run.Summary.Latency.P999}, {100, run.Summary.Latency.Max}} {
		want := float64(reference(lat, tc.q)) / 1000
		if math.Abs(tc.got-want) > want*0.001+0.001 {
			t.Errorf("p%v = %.3fms, reference %.3fms", tc.q, tc.got, want)
		}
	}
	if run.Summary.Latency.P99 > run.Summary.Latency.Max {
		t.Error("p99 above max")
	}
}

// Windows partition the run: their counts add up to the totals, one
// window per second with no holes.
func TestWindowsPartitionTheRun(t *testing.T) {
	samples, _ := randomSamples(5000, 2, 7.5)
	// Leave a hole: nothing completes during second 3.
	var kept []Sample
	for _, s := range samples {
		if s.EndNS/1e9 != 3 {
			kept = append(kept, s)
		}
	}
	run := feed(t, kept, 7.5)
	if len(run.Series) != 8 {
		t.Fatalf("got %d windows for 7.5 s, want 8", len(run.Series))
	}
	var req, errs int64
	for i, w := range run.Series {
		if w.TS != float64(i) {
			t.Fatalf("window %d has t_s %v", i, w.TS)
		}
		req += w.Requests
		errs += w.Errors
	}
	if req != run.Summary.Requests || errs != run.Summary.Errors {
		t.Fatalf("windows add to %d/%d, summary says %d/%d", req, errs, run.Summary.Requests, run.Summary.Errors)
	}
	if run.Series[3].Requests != 0 {
		t.Fatalf("the empty second has %d requests", run.Series[3].Requests)
	}
	if last := run.Series[7]; math.Abs(last.RPS-float64(last.Requests)/0.5) > 1e-9 {
		t.Fatalf("the last half-second window's rate %v is not requests/0.5 s", last.RPS)
	}
}

// Merging the runs of two halves gives exactly the run of the whole.
func TestMergeIsExact(t *testing.T) {
	samples, _ := randomSamples(8000, 3, 5)
	whole := feed(t, samples, 5)
	var a, b []Sample
	for i, s := range samples {
		if i%2 == 0 {
			a = append(a, s)
		} else {
			b = append(b, s)
		}
	}
	ra, rb := feed(t, a, 5), feed(t, b, 5)
	ra.Segment, rb.Segment = "1/2", "2/2"
	m, err := Merge([]*result.Run{ra, rb})
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary.Latency != whole.Summary.Latency {
		t.Fatalf("merged latency %+v\nwhole %+v", m.Summary.Latency, whole.Summary.Latency)
	}
	if m.Summary.Requests != whole.Summary.Requests || m.Summary.Errors != whole.Summary.Errors {
		t.Fatal("merged counts differ")
	}
	for i := range whole.Steps {
		if m.Steps[i].Latency != whole.Steps[i].Latency || m.Steps[i].Requests != whole.Steps[i].Requests {
			t.Fatalf("step %d differs after merge", i)
		}
		w, g := whole.Steps[i].Phases, m.Steps[i].Phases
		if math.Abs(w.TTFB-g.TTFB) > 1e-9*w.TTFB || math.Abs(w.Connect-g.Connect) > 1e-9*w.Connect || g.TTFB == 0 {
			t.Fatalf("step %d phases: whole %+v merged %+v", i, w, g)
		}
	}
	if math.Abs(whole.Summary.Phases.TTFB-m.Summary.Phases.TTFB) > 1e-9*whole.Summary.Phases.TTFB {
		t.Fatalf("summary phases: whole %+v merged %+v", whole.Summary.Phases, m.Summary.Phases)
	}
	for i := range whole.Series {
		w, g := whole.Series[i], m.Series[i]
		if w.P95 != g.P95 || w.Requests != g.Requests || w.Errors != g.Errors {
			t.Fatalf("window %d: whole %+v merged %+v", i, w, g)
		}
	}
	if _, err := Merge([]*result.Run{ra, ra}); err == nil {
		t.Fatal("merging the same segment twice must fail")
	}
}

func TestRingWrapsWithoutLoss(t *testing.T) {
	r := NewRing(16)
	var got []int64
	for i := 0; i < 100; i++ {
		r.Push(&Sample{EndNS: int64(i)})
		if i%7 == 6 {
			r.drain(func(s *Sample) { got = append(got, s.EndNS) })
		}
	}
	r.drain(func(s *Sample) { got = append(got, s.EndNS) })
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("sample %d is %d", i, v)
		}
	}
	if len(got) != 100 {
		t.Fatalf("got %d samples", len(got))
	}
}

// Producer and collector on separate goroutines: nothing lost or doubled
// (run with -race).
func TestRingConcurrent(t *testing.T) {
	r := NewRing(16)
	const n = 50000
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			r.Push(&Sample{EndNS: int64(i)})
		}
		close(done)
	}()
	next := int64(0)
	check := func(s *Sample) {
		if s.EndNS != next {
			t.Errorf("got %d, want %d", s.EndNS, next)
		}
		next++
	}
	for {
		select {
		case <-done:
			r.drain(check)
			if next != n {
				t.Fatalf("received %d of %d", next, n)
			}
			return
		default:
			r.drain(check)
		}
	}
}

func TestCollectorRunStops(t *testing.T) {
	c := NewCollector(Config{Layout: layout2(), Start: time.Now(), Tick: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	cancel()
	<-done
}

func BenchmarkRecord(b *testing.B) {
	c := NewCollector(Config{Layout: layout2(), Start: time.Now()})
	r := NewRing(1024)
	c.Register(r)
	s := Sample{LatencyUS: 1234, ServiceUS: 1200, Step: 1}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.EndNS = int64(i) * 1000
		r.Push(&s)
		if i%512 == 511 {
			c.drainAll()
		}
	}
}

// A window in which one step had every sample carries that step's
// histogram as its own, the same encoding in the same memory; a window of several steps
// carries the merge of theirs. Either way it decodes to the window's
// samples.
func TestWindowHistogramOfOneStep(t *testing.T) {
	samples, _ := randomSamples(3000, 5, 3)
	for i := range samples {
		if samples[i].EndNS < 2e9 {
			samples[i].Step = 1 // seconds 0 and 1: one step only
		}
	}
	run := feed(t, samples, 3)
	for _, w := range run.Series {
		h, err := Decode(w.Hist)
		if err != nil {
			t.Fatal(err)
		}
		if h.TotalCount() != w.Requests {
			t.Errorf("window %v: histogram of %d samples, %d requests", w.TS, h.TotalCount(), w.Requests)
		}
		if one := len(w.Steps) == 1; one != (w.TS < 2) {
			t.Fatalf("window %v has %d steps", w.TS, len(w.Steps))
		}
		if len(w.Steps) == 1 && unsafe.StringData(w.Hist) != unsafe.StringData(w.Steps[0].Hist) {
			t.Errorf("window %v of one step: its histogram is not the step's encoding, shared", w.TS)
		}
		if len(w.Steps) > 1 && w.Hist == w.Steps[0].Hist {
			t.Errorf("window %v of %d steps: its histogram is one step's", w.TS, len(w.Steps))
		}
	}
}

// A window's latency — percentiles, maximum and histogram — is exactly
// that of a histogram recorded from its samples alone, whether one step
// or several had them.
func TestWindowLatencyIsItsSamples(t *testing.T) {
	samples, _ := randomSamples(6000, 11, 4)
	for i := range samples {
		if samples[i].EndNS < 1e9 {
			samples[i].Step = 2 // second 0: one step only
		}
	}
	run := feed(t, samples, 4)
	ref := make([]*hdr.Histogram, 4)
	for i := range ref {
		ref[i] = NewHist()
	}
	for _, s := range samples {
		RecordUS(ref[s.EndNS/1e9], int64(s.LatencyUS))
	}
	if len(run.Series) != 4 || len(run.Series[0].Steps) != 1 || len(run.Series[1].Steps) != 3 {
		t.Fatalf("windows %d, steps of the first two %d, %d", len(run.Series), len(run.Series[0].Steps), len(run.Series[1].Steps))
	}
	for i, w := range run.Series {
		h := ref[i]
		q := h.ValueAtPercentiles([]float64{50, 95, 99})
		if w.P50 != ms(q[50]) || w.P95 != ms(q[95]) || w.P99 != ms(q[99]) || w.Max != ms(h.Max()) {
			t.Errorf("window %d: p50/p95/p99/max %v/%v/%v/%v, its samples %v/%v/%v/%v",
				i, w.P50, w.P95, w.P99, w.Max, ms(q[50]), ms(q[95]), ms(q[99]), ms(h.Max()))
		}
		if w.Hist != MustEncode(h) {
			t.Errorf("window %d: histogram is not that of its samples", i)
		}
	}
}

// A retired ring is drained once more and then let go, with its samples
// and its stalls kept; one retired after a drain waits for the next.
func TestRetiredRingsAreDrainedThenDropped(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := NewCollector(Config{Layout: layout2(), Start: t0, Now: func() time.Time { return t0 }})
	a, b := NewRing(8), NewRing(8)
	c.Register(a)
	c.Register(b)
	drained := make(chan struct{})
	for i := range 12 { // a's ring fills: the next pushes may wait for a drain (a stall)
		if i == 8 {
			go func() { c.drainAll(); close(drained) }()
		}
		a.Push(&Sample{EndNS: int64(i) * 1e6, LatencyUS: 100, ServiceUS: 100})
	}
	<-drained
	b.Push(&Sample{EndNS: 1e6, LatencyUS: 100, ServiceUS: 100})
	stalls := c.Stalls()
	a.Retire()
	c.drainAll()
	if got := c.ringList(); len(got) != 1 || got[0] != b {
		t.Fatalf("%d rings after a's retirement and a drain, want b alone", len(got))
	}
	if c.Stalls() != stalls {
		t.Errorf("stalls %d after the retirement, %d before", c.Stalls(), stalls)
	}
	b.Push(&Sample{EndNS: 2e6, LatencyUS: 100, ServiceUS: 100})
	b.Retire()
	c.drainAll()
	if n := len(c.ringList()); n != 0 {
		t.Fatalf("%d rings left", n)
	}
	var run result.Run
	c.Finish(&run, 1)
	if run.Summary.Requests != 14 {
		t.Errorf("%d requests recorded, want 14", run.Summary.Requests)
	}
}
