package analyze

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// ruleLeak: memory grew steadily under steady load, at least
// leak_slope_mb_per_h (default 60 MB/h, the heap analysis's own
// 1 MB/min). Two analyses can say so: the heap trend of the watched load
// (a significant Theil–Sen slope that is also material, see LeakRule),
// or the soak phase's trend test of memory. The heap profiles name the
// allocation sites that grew; the largest is the finding's subject.
// Confidence is one minus the trend's p-value, lower for RSS, the weaker
// signal.
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
	var f result.Finding
	switch {
	case h != nil && h.LeakSuspected && 60*h.GrowthMBPerMin >= limit:
		src := "timeline " + h.Source
		f.Evidence = []result.Evidence{
			{Metric: "growth_mb_per_min", Value: h.GrowthMBPerMin, Unit: "MB/min", Source: src,
				Note: fmt.Sprintf("%.0f%% interval %s to %s; p=%.2g", 100*h.Confidence, num(h.GrowthCILow), num(h.GrowthCIHigh), h.PValue), Threshold: limit / 60},
			{Metric: "start_mb", Value: h.StartMB, Unit: "MB", Source: src},
			{Metric: "end_mb", Value: h.EndMB, Unit: "MB", Source: src, Note: fmt.Sprintf("over %s s, %d points", num(h.WindowS), h.Points)},
		}
		f.Confidence = clamp(1-h.PValue, 0.5, 0.99)
		if h.Source == "rss" {
			f.Confidence *= 0.8
		}
		f.Title = fmt.Sprintf("Memory leak suspected: %s grows %s MB/min under steady load", orText(h.Source, "memory"), num(h.GrowthMBPerMin))
	case soak != nil && soak.SlopePerHour >= limit:
		f.Evidence = []result.Evidence{
			{Metric: "growth_mb_per_min", Value: soak.SlopePerHour / 60, Unit: "MB/min", Source: "soak phase " + soak.Metric,
				Note: fmt.Sprintf("p=%.2g over %d points", soak.PValue, soak.Points), Threshold: limit / 60},
		}
		if soak.Start > 0 {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "start_mb", Value: soak.Start, Unit: "MB", Source: "soak phase " + soak.Metric})
		}
		f.Confidence = clamp(1-soak.PValue, 0.5, 0.99)
		f.Title = fmt.Sprintf("Memory leak suspected: memory grows %s MB/min through the soak", num(soak.SlopePerHour/60))
	default:
		return nil, nil
	}
	f.Severity = SeverityHigh
	f.Subject = "heap"
	f.Detail = "Under steady load memory kept growing. Heap profiles at the start and the end of the load would name the allocation site (" + addPprof + ")."
	if h != nil && len(h.TopGrowth) > 0 {
		for i, g := range h.TopGrowth {
			if i == 3 {
				break
			}
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "grew: " + shortFunc(g.Function), Value: g.MB, Unit: "MB", Source: "heap profiles (start → end)"})
		}
		f.Subject = shortFunc(h.TopGrowth[0].Function)
		f.Title = strings.Replace(f.Title, "Memory leak suspected: ", "Memory leak suspected in "+f.Subject+": ", 1)
		f.Detail = fmt.Sprintf("Under steady load memory kept growing; the heap profiles taken at the start and the end show the memory held by allocations made in %s growing most (+%s MB).",
			f.Subject, num(h.TopGrowth[0].MB))
	}
	return []result.Finding{f}, nil
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
