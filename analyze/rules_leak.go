package analyze

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// ruleLeak: memory grew steadily under steady load, at least
// leak_slope_mb_per_h (default 60 MB/h, the heap analysis's own
// 1 MB/min). It reads the heap analysis's verdict (see LeakRule):
//
//   - leak_suspected on the live heap (after each completed GC cycle) is
//     high when the evidence is strong (see strongLeak: p < 0.001, both
//     halves growing alike, and many cycles or the heap profiles' growth
//     agreeing), else medium. From heap in use or RSS, the weaker
//     signals, it is medium.
//   - inconclusive gives no medium or high finding: when memory grew at
//     least at the threshold, significantly or with the interval of its
//     slope above zero (a few observations, all rising), a low finding
//     says so and what would decide; otherwise the rule is listed as not
//     evaluated, with the reason.
//   - no_leak gives nothing.
//
// The soak phase's trend test of memory (of heap in use or RSS) is read
// only when the heap analysis has no verdict from the live heap; it gives
// a medium finding. The heap profiles name the allocation sites that
// grew; the largest is the finding's subject.
//
// Confidence comes from the evidence (leakConfidence): the trend's
// p-value, the number of GC cycles behind it, how evenly both halves of
// the window grew, and the source.
func ruleLeak(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	var h *result.Heap
	if sys != nil {
		h = sys.Heap
	}
	soak := soakMemoryTrend(ev.run.Soak)
	haveSoak := ev.run.Soak != nil && (isMemoryMetric(ev.run.Soak.Metric) || slices.ContainsFunc(ev.run.Soak.Details, func(d result.Trend) bool { return isMemoryMetric(d.Metric) }))
	switch {
	case h == nil && !haveSoak:
		return nil, notEvaluated("the run has no heap or memory timeline of the target (and heap profiles name what grows)",
			"system: { process: { pid: … }, pprof: http://HOST:PORT/debug/pprof }")
	case h != nil && h.Points == 0 && !haveSoak:
		return nil, notEvaluated("only heap profiles, no memory timeline: growth cannot be tested for a trend", addPrometheus)
	}
	limit := ev.cfg["leak_slope_mb_per_h"]
	verdict := heapVerdict(h)
	liveVerdict := h != nil && isLiveSource(h.Source) && verdict != ""
	var f result.Finding
	switch {
	case verdict == result.HeapLeakSuspected && 60*h.GrowthMBPerMin >= limit:
		f = leakFinding(h, limit)
	case verdict == result.HeapInconclusive && h.GrowthMBPerMin > 0 && 60*h.GrowthMBPerMin >= limit && (h.PValue < DefaultLeakRule().Alpha || h.GrowthCILow > 0):
		return []result.Finding{inconclusiveFinding(h, limit)}, nil
	case !liveVerdict && soak != nil && soak.SlopePerHour >= limit:
		f.Evidence = []result.Evidence{
			{Metric: "growth_mb_per_min", Value: soak.SlopePerHour / 60, Unit: "MB/min", Source: "soak phase " + soak.Metric,
				Note: fmt.Sprintf("p=%.2g over %d points", soak.PValue, soak.Points), Threshold: limit / 60},
		}
		if soak.Start > 0 {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "start_mb", Value: soak.Start, Unit: "MB", Source: "soak phase " + soak.Metric})
		}
		f.Severity = SeverityMedium
		f.Confidence = clamp(1-soak.PValue, 0.5, 0.99) * sourceWeight(result.HeapSourceInuse)
		f.Title = fmt.Sprintf("Memory leak suspected: memory grows %s MB/min through the soak", num(soak.SlopePerHour/60))
		f.Subject = "heap"
		f.Detail = "Through the soak memory kept growing."
	case verdict == result.HeapInconclusive:
		add := "a longer steady window or a higher rate (load: { duration: … })"
		if h.Source == result.HeapSourceRSS {
			add = addPrometheus
		}
		return nil, notEvaluated("the heap analysis was inconclusive: "+h.VerdictReason, add)
	default:
		return nil, nil
	}
	nameTopGrowth(&f, h)
	return []result.Finding{f}, nil
}

// strongLeakCycles is the fewest completed GC cycles behind a high
// severity leak finding without the heap profiles' word.
const strongLeakCycles = 10

// strongLeak reports a suspected leak of the live heap whose evidence is
// strong: a trend at p < 0.001 (which takes at least eight observations
// of the live heap, so seven cycles), the second half of the window
// growing at least three quarters as fast as the first, and either
// strongLeakCycles cycles or the heap profiles (each after a forced GC,
// an independent measurement) showing allocation sites that grew by at
// least half as much as the live heap did.
func strongLeak(h *result.Heap) bool {
	if !isLiveSource(h.Source) || h.PValue >= 0.001 || h.Half2MBPerMin < 0.75*h.Half1MBPerMin {
		return false
	}
	var grew float64
	for i, g := range h.TopGrowth {
		if i < 3 {
			grew += g.MB
		}
	}
	return h.GCCycles >= strongLeakCycles || (h.EndMB > h.StartMB && grew >= 0.5*(h.EndMB-h.StartMB))
}

// heapVerdict is h's verdict; a Heap from a Run written before verdicts
// existed has only LeakSuspected.
func heapVerdict(h *result.Heap) string {
	switch {
	case h == nil:
		return ""
	case h.Verdict != "":
		return h.Verdict
	case h.LeakSuspected:
		return result.HeapLeakSuspected
	}
	return ""
}

// isLiveSource reports whether src measures the heap after each GC.
func isLiveSource(src string) bool {
	return src == result.HeapSourceLive || src == result.HeapSourceGoal
}

// sourceWeight scales a leak finding's confidence by how directly the
// source shows live memory.
func sourceWeight(src string) float64 {
	switch src {
	case result.HeapSourceLive:
		return 1
	case result.HeapSourceGoal:
		return 0.95
	case result.HeapSourceInuse:
		return 0.8
	}
	return 0.7
}

// leakConfidence is how sure a leak finding is, from its evidence: one
// minus the p-value of the trend, scaled by the number of GC cycles
// behind it (5 cycles: ×0.75, 45: ×0.95; points for RSS), by how
// evenly the two halves of the window grew (a second half at the first
// half's rate or more: ×1; at half of it: ×0.875), and by the source.
func leakConfidence(h *result.Heap) float64 {
	c := clamp(1-h.PValue, 0, 1)
	n := float64(h.GCCycles)
	if !isLiveSource(h.Source) && h.Source != result.HeapSourceInuse {
		n = float64(h.Points) / 4
	}
	c *= 0.5 + 0.5*n/(n+5)
	if h.Half1MBPerMin > 0 {
		c *= 0.75 + 0.25*clamp(h.Half2MBPerMin/h.Half1MBPerMin, 0, 1)
	}
	return clamp(c*sourceWeight(h.Source), 0.05, 0.97)
}

func leakFinding(h *result.Heap, limit float64) result.Finding {
	src := "timeline " + h.Source
	f := result.Finding{
		Evidence: []result.Evidence{
			{Metric: "growth_mb_per_min", Value: h.GrowthMBPerMin, Unit: "MB/min", Source: src,
				Note: fmt.Sprintf("%.0f%% interval %s to %s; p=%.2g", 100*h.Confidence, num(h.GrowthCILow), num(h.GrowthCIHigh), h.PValue), Threshold: limit / 60},
			{Metric: "start_mb", Value: h.StartMB, Unit: "MB", Source: src},
			{Metric: "end_mb", Value: h.EndMB, Unit: "MB", Source: src, Note: fmt.Sprintf("over %s s, %d points", num(h.WindowS), h.Points)},
		},
		Confidence: leakConfidence(h),
		Severity:   SeverityMedium,
		Subject:    "heap",
	}
	if h.Verdict != "" { // a Run from before verdicts has no halves
		f.Evidence = append(f.Evidence,
			result.Evidence{Metric: "first_half_mb_per_min", Value: h.Half1MBPerMin, Unit: "MB/min", Source: src},
			result.Evidence{Metric: "second_half_mb_per_min", Value: h.Half2MBPerMin, Unit: "MB/min", Source: src})
	}
	if h.Source != result.HeapSourceRSS && h.GCCycles > 0 {
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "gc_cycles", Value: float64(h.GCCycles), Source: src, Note: "GC cycles completed in the window"})
	}
	if h.GrowthKBPerRequest > 0 {
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "growth_kb_per_request", Value: h.GrowthKBPerRequest, Unit: "KiB", Source: src,
			Note: "growth per request completed: what each request leaves behind"})
	}
	if strongLeak(h) {
		f.Severity = SeverityHigh
	}
	switch {
	case isLiveSource(h.Source):
		f.Title = fmt.Sprintf("Memory leak suspected: the live heap grows %s MB/min under steady load", num(h.GrowthMBPerMin))
		f.Detail = fmt.Sprintf("Under steady load the heap that survives garbage collection kept growing, over %s and in both halves of the window.", plural(h.GCCycles, "GC cycle", "GC cycles"))
		if h.GrowthKBPerRequest > 0 {
			f.Detail += fmt.Sprintf(" Each request left about %s KiB behind: look for what a request stores that nothing removes (a map, a cache without a bound, a slice appended to).", num(h.GrowthKBPerRequest))
		}
	default:
		f.Title = fmt.Sprintf("Memory leak suspected: %s grows %s MB/min under steady load", orText(h.Source, "memory"), num(h.GrowthMBPerMin))
		f.Detail = fmt.Sprintf("Under steady load %s kept growing. It counts more than live objects, so expose the Go runtime's metrics (go_gc_heap_live_bytes) to confirm.", orText(h.Source, "memory"))
	}
	return f
}

// inconclusiveFinding is the low note of a heap that grew without
// proving a leak: what it did and what would decide.
func inconclusiveFinding(h *result.Heap, limit float64) result.Finding {
	src := "timeline " + h.Source
	return result.Finding{
		Severity: SeverityLow,
		Title:    fmt.Sprintf("Memory grew %s MB/min, not enough to tell a leak: %s", num(h.GrowthMBPerMin), h.VerdictReason),
		Subject:  "heap",
		Detail: fmt.Sprintf("The %s grew over the window, but a leak is growth of the heap that survives garbage collection, sustained over several GC cycles and through the whole window; this run cannot show that (%s).",
			sourceName(h.Source), h.VerdictReason),
		Evidence: []result.Evidence{
			{Metric: "growth_mb_per_min", Value: h.GrowthMBPerMin, Unit: "MB/min", Source: src, Threshold: limit / 60,
				Note: fmt.Sprintf("p=%.2g over %s s, %d points", h.PValue, num(h.WindowS), h.Points)},
			{Metric: "gc_cycles", Value: float64(h.GCCycles), Source: src, Note: "GC cycles completed in the window"},
		},
		Confidence: min(0.5, leakConfidence(h)),
	}
}

// nameTopGrowth makes the allocation site that grew most between the heap
// profiles the finding's subject.
func nameTopGrowth(f *result.Finding, h *result.Heap) {
	if h == nil || len(h.TopGrowth) == 0 {
		f.Detail += " Heap profiles at the start and the end of the load would name the allocation site (" + addPprof + ")."
		return
	}
	for i, g := range h.TopGrowth {
		if i == 3 {
			break
		}
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "grew: " + shortFunc(g.Function), Value: g.MB, Unit: "MB", Source: "heap profiles (start → end)"})
	}
	f.Subject = shortFunc(h.TopGrowth[0].Function)
	f.Title = strings.Replace(f.Title, "Memory leak suspected: ", "Memory leak suspected in "+f.Subject+": ", 1)
	f.Detail += fmt.Sprintf(" The heap profiles taken at the start and the end show the memory held by allocations made in %s growing most (+%s MB).",
		f.Subject, num(h.TopGrowth[0].MB))
}

// soakMemoryTrend is the soak phase's memory trend when it is degrading.
func soakMemoryTrend(s *result.Soak) *result.Trend {
	if s == nil {
		return nil
	}
	for i := range s.Details {
		if d := &s.Details[i]; isMemoryMetric(d.Metric) && d.Trend == "degrading" {
			return d
		}
	}
	if len(s.Details) == 0 && isMemoryMetric(s.Metric) && s.Trend == "degrading" {
		return &result.Trend{Metric: s.Metric, Trend: s.Trend, SlopePerHour: s.SlopePerHour, PValue: s.PValue}
	}
	return nil
}

func isMemoryMetric(m string) bool {
	m = strings.ToLower(m)
	return strings.Contains(m, "memory") || strings.Contains(m, "heap") || strings.Contains(m, "rss")
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// goroutineLeakPerMin is the default least steady growth of the goroutine
// count (per minute) that is a leak (setting goroutine_leak_per_min).
const goroutineLeakPerMin = 30

// ruleGoroutineLeak: the goroutine count grows through the steady part of
// the run — a Theil–Sen slope of at least goroutine_leak_per_min (default
// 30 a minute), a Mann–Kendall p under 0.01, and at least 20 more at the
// end — while the goroutines that follow the load (serving requests,
// holding connections) are left out of the profiles' comparison. It is
// named after the place (own function, and the call its goroutines wait
// in) with the most more goroutines at the end than at the start; when
// the profiles show no such place, or it holds under a fifth of the
// growth, the count grew with the load (more connections, more requests
// in flight) and nothing is found. Nothing either when the requests in
// flight (the generator's active users) grew by half as many over the
// same span: a queue or more load, not a leak. Without the profiles the
// trend alone is a finding about "goroutines". High from ten times the
// threshold.
func ruleGoroutineLeak(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || sys.Goroutines == nil {
		return nil, notEvaluated("the run has no goroutine count of the target over time (five points or more after the peak)",
			"system: { pprof: http://HOST:PORT/debug/pprof } or { prometheus: http://HOST:PORT/metrics }")
	}
	g := sys.Goroutines
	limit := setting(ev, "goroutine_leak_per_min", goroutineLeakPerMin)
	added := g.End - g.Start
	if g.PerMin < limit || g.PValue >= 0.01 || added < 20 {
		return nil, nil
	}
	if g.Profiled && (len(g.TopGrowth) == 0 || float64(g.TopGrowth[0].Added) < added/5) {
		return nil, nil // the growth is in requests and connections: load
	}
	if grew := concurrencyGrowth(ev.run, g); grew >= added/2 {
		return nil, nil // as many more requests in flight: load, or a queue
	}
	ratio := ratioOver(g.PerMin, limit)
	f := result.Finding{
		Severity: severityAbove(ratio, 10),
		Subject:  "goroutines",
		Title:    fmt.Sprintf("Goroutine leak: %s more goroutines in %s s (%s a minute)", num(added), num(g.WindowS), num(g.PerMin)),
		Evidence: []result.Evidence{
			{Metric: "growth_per_min", Value: g.PerMin, Unit: "/min", Source: "goroutine count", Threshold: limit,
				Note: fmt.Sprintf("Theil–Sen slope over %d points, Mann–Kendall p=%.2g", g.Points, g.PValue)},
			{Metric: "goroutines_start", Value: g.Start, Source: "goroutine count"},
			{Metric: "goroutines_end", Value: g.End, Source: "goroutine count"},
		},
		Confidence: confidence(ratio, g.Points),
	}
	f.Detail = fmt.Sprintf("The number of goroutines rose from %s to %s at a steady load and kept rising: goroutines are started and never end. Each holds its stack and whatever it references.", num(g.Start), num(g.End))
	if len(g.TopGrowth) > 0 {
		top := g.TopGrowth[0]
		name := shortFunc(top.Function)
		f.Subject = name
		f.Title += fmt.Sprintf(", %s of them in %s", num(float64(top.Added)), name)
		if top.Via != "" && top.Via != top.Function {
			f.Title += " waiting in " + shortFunc(top.Via)
		}
		f.Detail += fmt.Sprintf(" The goroutine profiles taken at the start and the end of the run show %s more goroutines in %s", num(float64(top.Added)), name)
		if top.Via != "" && top.Via != top.Function {
			f.Detail += " (waiting in " + shortFunc(top.Via) + ")"
		}
		f.Detail += ": find what should end them (a context, a closed channel, a timeout)."
		for _, t := range g.TopGrowth[:min(3, len(g.TopGrowth))] {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "added: " + shortFunc(t.Function), Value: float64(t.Added), Source: "goroutine profiles (start → end)",
				Note: "waiting in " + shortFunc(t.Via)})
		}
	} else {
		f.Confidence *= 0.8
		f.Detail += " Add a pprof endpoint to name where they wait."
	}
	return []result.Finding{f}, nil
}

// concurrencyGrowth is how much the requests in flight (the windows'
// active users) grew over the goroutine trend's span: the mean of the
// last three windows in it minus the mean of the first three.
func concurrencyGrowth(run *result.Run, g *result.GoroutineTrend) float64 {
	from, to := g.FromS, g.FromS+g.WindowS
	var in []float64
	for _, w := range run.Series {
		if w.TS >= from-1 && w.TS <= to {
			in = append(in, float64(w.VUs))
		}
	}
	if len(in) < 2 {
		return 0
	}
	k := min(3, len(in)/2)
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	return mean(in[len(in)-k:]) - mean(in[:k])
}
